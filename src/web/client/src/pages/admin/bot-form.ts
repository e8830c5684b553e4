/**
 * The bot editor's form: what the inputs hold (numbers as typed text), how it comes from a saved
 * bot, how it is checked, and the create/patch body it becomes. Pure, so the rules are in one
 * place and match the server's schema (src/connector/bot-config.ts).
 */
import type { AppInstallation, Bot, BotInput, ConversationType, User, VendorCredentials } from '../../lib/types';

export interface BotForm {
  name: string;
  conversationType: ConversationType;
  skills: string[];
  baseUrl: string;
  /** The app installation the bot refers to (its client id): its calls carry that app's tokens. */
  clientId: string;
  botId: string;
  environment: string;
  timeoutSeconds: string;
  welcomeEvent: boolean;
  engagementAttributes: boolean;
  survey: boolean;
  combineEnabled: boolean;
  maxMessages: string;
  timeFrameSeconds: string;
  timeFrameAfterTypingSeconds: string;
  escalationSkill: string;
  messageToCustomer: string;
  messageToAgent: string;
  transferFailureMessage: string;
  errorHookLambdaUuid: string;
  inactivityEnabled: boolean;
  warningAfterSeconds: string;
  warningText: string;
  closeAfterSeconds: string;
  closeText: string;
  maxOpenConversations: string;
}

/** The server's defaults (applySettings), so a new bot's form shows what it will get. */
export const NEW_BOT: BotForm = {
  name: '',
  conversationType: 'MESSAGING',
  skills: [],
  baseUrl: '',
  clientId: '',
  botId: '',
  environment: 'draft',
  timeoutSeconds: '60',
  welcomeEvent: false,
  engagementAttributes: false,
  survey: false,
  combineEnabled: false,
  maxMessages: '3',
  timeFrameSeconds: '2',
  timeFrameAfterTypingSeconds: '3',
  escalationSkill: '',
  messageToCustomer: 'Sorry, I ran into a problem. Let me get you to someone who can help.',
  messageToAgent: 'The bot could not handle this conversation and escalated it.',
  transferFailureMessage: 'We could not reach an agent right now. Please try again in a little while.',
  errorHookLambdaUuid: '',
  inactivityEnabled: false,
  warningAfterSeconds: '300',
  warningText: 'Are you still there?',
  closeAfterSeconds: '600',
  closeText: 'This conversation was closed because there was no activity.',
  maxOpenConversations: '999',
};

export function formFromBot(bot: Bot): BotForm {
  const e = bot.escalation ?? {};
  return {
    name: bot.name,
    conversationType: bot.conversationType,
    skills: [...bot.skills],
    baseUrl: bot.vendor.baseUrl,
    clientId: bot.vendor.clientId,
    botId: bot.vendor.botId,
    environment: bot.vendor.environment,
    timeoutSeconds: String(bot.vendor.timeoutSeconds ?? 60),
    welcomeEvent: bot.welcomeEvent,
    engagementAttributes: bot.engagementAttributes,
    survey: Boolean(bot.survey),
    combineEnabled: bot.combineMessages.enabled,
    maxMessages: String(bot.combineMessages.maxMessages),
    timeFrameSeconds: String(bot.combineMessages.timeFrameSeconds),
    timeFrameAfterTypingSeconds: String(bot.combineMessages.timeFrameAfterTypingSeconds),
    escalationSkill: e.skill ?? '',
    messageToCustomer: e.messageToCustomer ?? '',
    messageToAgent: e.messageToAgent ?? '',
    transferFailureMessage: e.transferFailureMessage ?? '',
    errorHookLambdaUuid: e.errorHookLambdaUuid ?? '',
    inactivityEnabled: bot.chatInactivity.enabled,
    warningAfterSeconds: String(bot.chatInactivity.warningAfterSeconds),
    warningText: bot.chatInactivity.warningText,
    closeAfterSeconds: String(bot.chatInactivity.closeAfterSeconds),
    closeText: bot.chatInactivity.closeText,
    maxOpenConversations: String(bot.maxOpenConversations),
  };
}

export type FormErrors = Partial<Record<keyof BotForm, string>>;

const BASE_URL = /^https?:\/\/\S+[^/\s]$/;
const BOT_ID = /^[A-Za-z0-9-]{1,36}$/;

function integer(value: string, min: number, max: number): boolean {
  return /^\d+$/.test(value.trim()) && Number(value) >= min && Number(value) <= max;
}
function decimal(value: string, min: number, max: number): boolean {
  return /^\d+(\.\d+)?$/.test(value.trim()) && Number(value) >= min && Number(value) <= max;
}

/** The account's app installations as the form knows them: `null` while not known. */
export type KnownApps = ReadonlyArray<Pick<AppInstallation, 'client_id'>> | null;

/** The app the form names is none of the account's (removed, or never one of its). */
export function missingApp(clientId: string, apps: KnownApps): boolean {
  return Boolean(clientId) && apps !== null && !apps.some((a) => a.client_id === clientId);
}

/** The vendor part alone: enough to fetch environments or test the connection. */
export function vendorErrors(form: BotForm, apps: KnownApps): FormErrors {
  const errors: FormErrors = {};
  if (!BASE_URL.test(form.baseUrl.trim())) errors.baseUrl = 'Starts with http:// or https://, and has no trailing “/”.';
  if (!form.clientId) errors.clientId = 'Pick the app installation whose tokens the bot’s calls carry, or install one.';
  else if (missingApp(form.clientId, apps))
    errors.clientId = 'This app installation is not in the account any more: pick another, or install one.';
  if (!BOT_ID.test(form.botId.trim())) errors.botId = '1–36 letters, digits or “-”.';
  if (!integer(form.timeoutSeconds, 1, 300)) errors.timeoutSeconds = 'Whole seconds, 1 to 300.';
  return errors;
}

export function validate(form: BotForm, apps: KnownApps): FormErrors {
  const errors: FormErrors = vendorErrors(form, apps);
  if (!form.name.trim()) errors.name = 'Give the bot a name.';
  if (!form.skills.length) errors.skills = 'Pick at least one skill the bot serves.';
  if (!form.environment.trim()) errors.environment = 'Pick an environment.';
  if (!integer(form.maxMessages, 1, 100)) errors.maxMessages = '1 to 100.';
  if (!decimal(form.timeFrameSeconds, 0, 60)) errors.timeFrameSeconds = '0 to 60 seconds.';
  if (!decimal(form.timeFrameAfterTypingSeconds, 0, 60)) errors.timeFrameAfterTypingSeconds = '0 to 60 seconds.';
  // The server's bound: the longest a timer can wait (24.8 days).
  if (!integer(form.warningAfterSeconds, 1, 2_147_483))
    errors.warningAfterSeconds = 'Whole seconds, from 1 to 2147483.';
  if (!integer(form.closeAfterSeconds, 1, 2_147_483)) errors.closeAfterSeconds = 'Whole seconds, from 1 to 2147483.';
  if (!integer(form.maxOpenConversations, 1, 1_000_000)) errors.maxOpenConversations = '1 to 1,000,000.';
  return errors;
}

/** The fields that say which service the bot is and whose tokens its calls carry (all but the environment). */
export type ConnectionFields = Pick<BotForm, 'baseUrl' | 'clientId' | 'botId' | 'timeoutSeconds'>;

/** The connection as typed, to list the environments or test it before saving: no secret, the app is named. */
export function connectionOf(fields: ConnectionFields): Omit<VendorCredentials, 'environment'> {
  return {
    type: 'CUSTOM_ENDPOINT',
    baseUrl: fields.baseUrl.trim(),
    clientId: fields.clientId,
    botId: fields.botId.trim(),
    timeoutSeconds: Number(fields.timeoutSeconds),
  };
}

/** The vendor block of a create or patch body. */
export function vendorOf(form: BotForm): VendorCredentials {
  return { ...connectionOf(form), environment: form.environment.trim() };
}

/**
 * The create body, or the patch body (everything, since the editor shows everything). An emptied escalation skill or error hook is left out of a create and
 * sent as null in a patch, which is how the server clears it.
 */
export function toInput(form: BotForm, mode: 'create' | 'patch'): BotInput {
  const escalation: BotInput['escalation'] = {
    messageToCustomer: form.messageToCustomer,
    messageToAgent: form.messageToAgent,
    transferFailureMessage: form.transferFailureMessage,
  };
  const cleared = mode === 'patch' ? null : undefined;
  escalation.skill = form.escalationSkill || cleared;
  escalation.errorHookLambdaUuid = form.errorHookLambdaUuid || cleared;
  return {
    name: form.name.trim(),
    conversationType: form.conversationType,
    skills: form.skills,
    vendor: vendorOf(form),
    welcomeEvent: form.welcomeEvent,
    engagementAttributes: form.engagementAttributes,
    survey: form.survey,
    combineMessages: {
      enabled: form.combineEnabled,
      maxMessages: Number(form.maxMessages),
      timeFrameSeconds: Number(form.timeFrameSeconds),
      timeFrameAfterTypingSeconds: Number(form.timeFrameAfterTypingSeconds),
    },
    escalation,
    chatInactivity: {
      enabled: form.inactivityEnabled,
      warningAfterSeconds: Number(form.warningAfterSeconds),
      warningText: form.warningText,
      closeAfterSeconds: Number(form.closeAfterSeconds),
      closeText: form.closeText,
    },
    maxOpenConversations: Number(form.maxOpenConversations),
  };
}

/** True when the connection fields still equal the saved bot's (so the bot's own routes can check it). */
export function sameVendor(form: BotForm, bot: Bot | null): boolean {
  if (!bot) return false;
  return (
    form.baseUrl.trim() === bot.vendor.baseUrl &&
    form.clientId === bot.vendor.clientId &&
    form.botId.trim() === bot.vendor.botId &&
    Number(form.timeoutSeconds) === (bot.vendor.timeoutSeconds ?? 60)
  );
}

/** Who else takes conversations on a skill: agents (people with the skill) and other bots, by name. */
export interface SkillServers {
  agents: string[];
  bots: string[];
}

/** Each skill's agents and bots, leaving out the bot being edited (its skills are the form's). */
export function skillServers(users: User[], bots: Bot[], editedBotId?: string): Map<string, SkillServers> {
  const servers = new Map<string, SkillServers>();
  const of = (skill: string): SkillServers => {
    const known = servers.get(skill);
    if (known) return known;
    const entry = { agents: [], bots: [] };
    servers.set(skill, entry);
    return entry;
  };
  for (const user of users)
    if (user.userType === 'HUMAN') for (const skill of user.skills) of(skill.name).agents.push(user.loginName);
  for (const bot of bots) if (bot.id !== editedBotId) for (const skill of bot.skills) of(skill).bots.push(bot.name);
  return servers;
}

export interface RoutingWarnings {
  /** One per skill served that agents serve too. */
  skills: string[];
  escalationSkill?: string;
}

/**
 * Where routing would not do what the form seems to ask. A conversation on a skill goes to an
 * online bot of it with room first and reaches agents only when no bot takes it: a bot on an
 * agents' skill draws that skill's escalations and transfers to itself, and an escalation to a
 * skill a bot serves comes back to a bot instead of reaching a person.
 */
export function routingWarnings(
  form: Pick<BotForm, 'skills' | 'escalationSkill'>,
  servers: Map<string, SkillServers>,
): RoutingWarnings {
  const skills = form.skills.flatMap((skill) => {
    const agents = servers.get(skill)?.agents ?? [];
    return agents.length
      ? [
          `Agents serve “${skill}” too (${listed(agents)}). Bots are routed first: while this bot is online, conversations on “${skill}” — escalations and transfers to it included — reach this bot, and the agents only when it is full.`,
        ]
      : [];
  });
  const target = form.escalationSkill;
  const bots = servers.get(target)?.bots ?? [];
  if (target && form.skills.includes(target))
    return {
      skills,
      escalationSkill: `This bot serves “${target}” itself. Bots are routed first, so an escalation to “${target}” comes straight back to this bot instead of reaching an agent: pick a skill only agents serve.`,
    };
  if (target && bots.length) {
    const by = bots.length === 1 ? `bot “${bots[0]}”` : `bots ${listed(bots.map((b) => `“${b}”`))}`;
    return {
      skills,
      escalationSkill: `“${target}” is served by ${by}. Bots are routed first, so an escalation to “${target}” goes to a bot while one is online, instead of reaching an agent: pick a skill only agents serve.`,
    };
  }
  return { skills };
}

/** Names in a sentence, the first few of them: "a, b and 3 more". */
function listed(names: string[], shown = 3): string {
  if (names.length > shown) return `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');
}
