import { skillNameSchema } from '../http/schemas.js';
import { ANSWER_LIMIT_RANGES, DEFAULT_ANSWER_LIMITS } from '../contract/index.js';
import type { AnswerLimits, BotSettings, VendorSettings } from './types.js';

export const DEFAULT_LIMITS: AnswerLimits = DEFAULT_ANSWER_LIMITS;

export const MASKED_SECRET = '********';

export const DEFAULT_MESSAGES = {
  messageToCustomer: 'Sorry, I ran into a problem. Let me get you to someone who can help.',
  messageToAgent: 'The bot could not handle this conversation and escalated it.',
  transferFailureMessage: 'We could not reach an agent right now. Please try again in a little while.',
};

const vendorProperties = {
  type: { type: 'string', enum: ['CUSTOM_ENDPOINT'] },
  baseUrl: { type: 'string', pattern: '^https?://[^\\s]+[^/\\s]$', maxLength: 2048 },
  clientId: {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: 'The app installation of the account whose tokens the bot’s calls carry (its client_id)',
  },
  clientSecret: {
    type: 'string',
    minLength: 1,
    maxLength: 1024,
    description:
      'Optional, for older clients: when sent it must be the app’s current secret. The bot keeps no secret: it refers to the app',
  },
  botId: { type: 'string', pattern: '^[A-Za-z0-9-]{1,36}$' },
  environment: { type: 'string', minLength: 1, maxLength: 128 },
  timeoutSeconds: { type: 'integer', minimum: 1, maximum: 300 },
} as const;

/**
 * Why a base URL cannot be called, or undefined when it can. The schema's pattern admits text
 * the URL parser refuses (a port past 65535, an unclosed IPv6 bracket, a percent-escape in the
 * host): stored, such a bot would fail every call as "unreachable", and a check of unsaved
 * credentials would answer 502 for what is bad input. Paths are appended to the base URL, so a
 * query or fragment in it would swallow them.
 */
export function baseUrlProblem(baseUrl: string | undefined): string | undefined {
  if (baseUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return 'vendor.baseUrl is not a URL that can be called (check the host and the port)';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'vendor.baseUrl must be an http or https URL';
  if (url.search || url.hash || baseUrl.includes('?') || baseUrl.includes('#'))
    return 'vendor.baseUrl must not have a query or a fragment: paths are appended to it';
  return undefined;
}

/** The vendor block alone, for the console's environment list and test connection before saving. */
export const vendorSchema = {
  type: 'object',
  properties: vendorProperties,
  required: ['type', 'baseUrl', 'clientId', 'botId'],
  additionalProperties: false,
} as const;

/** The longest a Node timer waits (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_SECONDS = 2_147_483;

const settingsProperties = {
  name: { type: 'string', minLength: 1, maxLength: 255 },
  conversationType: { type: 'string', enum: ['MESSAGING', 'CHAT'] },
  skills: { type: 'array', items: skillNameSchema, minItems: 1, maxItems: 100 },
  welcomeEvent: { type: 'boolean' },
  engagementAttributes: { type: 'boolean' },
  survey: { type: 'boolean' },
  combineMessages: {
    type: 'object',
    properties: {
      enabled: { type: 'boolean' },
      maxMessages: { type: 'integer', minimum: 1, maximum: 100 },
      timeFrameSeconds: { type: 'number', minimum: 0, maximum: 60 },
      timeFrameAfterTypingSeconds: { type: 'number', minimum: 0, maximum: 60 },
    },
    additionalProperties: false,
  },
  escalation: {
    type: 'object',
    properties: {
      skill: skillNameSchema,
      messageToCustomer: { type: 'string', maxLength: 5000 },
      messageToAgent: { type: 'string', maxLength: 5000 },
      transferFailureMessage: { type: 'string', maxLength: 5000 },
      errorHookLambdaUuid: { type: 'string', format: 'uuid' },
    },
    additionalProperties: false,
  },
  chatInactivity: {
    type: 'object',
    properties: {
      enabled: { type: 'boolean' },
      warningAfterSeconds: { type: 'integer', minimum: 1, maximum: MAX_TIMER_SECONDS },
      warningText: { type: 'string', maxLength: 5000 },
      closeAfterSeconds: { type: 'integer', minimum: 1, maximum: MAX_TIMER_SECONDS },
      closeText: { type: 'string', maxLength: 5000 },
    },
    additionalProperties: false,
  },
  maxOpenConversations: { type: 'integer', minimum: 1, maximum: 1_000_000 },
  limits: {
    type: 'object',
    properties: {
      maxResponseBytes: { type: 'integer', ...ANSWER_LIMIT_RANGES.maxResponseBytes },
      maxItems: { type: 'integer', ...ANSWER_LIMIT_RANGES.maxItems },
      maxDelaySeconds: { type: 'integer', ...ANSWER_LIMIT_RANGES.maxDelaySeconds },
    },
    additionalProperties: false,
  },
} as const;

export const createBotSchema = {
  type: 'object',
  properties: { ...settingsProperties, vendor: vendorSchema },
  required: ['name', 'conversationType', 'skills', 'vendor'],
  additionalProperties: false,
} as const;

/** In a patch, `null` clears an optional escalation field (the escalation skill, the error hook...). */
const clearable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });

export const patchBotSchema = {
  type: 'object',
  properties: {
    ...settingsProperties,
    escalation: {
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(settingsProperties.escalation.properties).map(([k, v]) => [k, clearable(v)]),
      ),
      additionalProperties: false,
    },
    vendor: { type: 'object', properties: vendorProperties, additionalProperties: false },
  },
  additionalProperties: false,
  minProperties: 1,
} as const;

function withoutNulls<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};
export type BotInput = DeepPartial<BotSettings> & { vendor?: Partial<VendorSettings> & { clientSecret?: string } };

/** Fills defaults; pure. `previous` is the stored settings when patching. */
export function applySettings(input: BotInput, previous?: BotSettings): BotSettings {
  const base: BotSettings = previous ?? {
    name: '',
    conversationType: 'MESSAGING',
    skills: [],
    vendor: { type: 'CUSTOM_ENDPOINT', baseUrl: '', clientId: '', botId: '', environment: 'draft', timeoutSeconds: 60 },
    welcomeEvent: false,
    engagementAttributes: false,
    combineMessages: { enabled: false, maxMessages: 3, timeFrameSeconds: 2, timeFrameAfterTypingSeconds: 3 },
    escalation: {},
    chatInactivity: {
      enabled: false,
      warningAfterSeconds: 300,
      warningText: 'Are you still there?',
      closeAfterSeconds: 600,
      closeText: 'This conversation was closed because there was no activity.',
    },
    survey: false,
    maxOpenConversations: 999,
    limits: DEFAULT_LIMITS,
  };
  const { clientSecret: _ignored, ...vendor } = input.vendor ?? {};
  return {
    name: input.name ?? base.name,
    conversationType: input.conversationType ?? base.conversationType,
    skills: input.skills ?? base.skills,
    vendor: { ...base.vendor, ...vendor } as VendorSettings,
    welcomeEvent: input.welcomeEvent ?? base.welcomeEvent,
    engagementAttributes: input.engagementAttributes ?? base.engagementAttributes,
    combineMessages: { ...base.combineMessages, ...input.combineMessages },
    escalation: withoutNulls({ ...base.escalation, ...input.escalation }),
    chatInactivity: { ...base.chatInactivity, ...input.chatInactivity },
    survey: input.survey ?? base.survey,
    maxOpenConversations: input.maxOpenConversations ?? base.maxOpenConversations,
    // Bots stored before limits existed have none: the defaults fill in.
    limits: { ...DEFAULT_LIMITS, ...base.limits, ...input.limits },
  };
}
