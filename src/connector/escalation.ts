import type { BotSettings } from './types.js';
import type { Step } from '../platform/conversations.js';
import type { Skill } from '../platform/types.js';
import { DEFAULT_MESSAGES } from './bot-config.js';

export interface EscalationPlan {
  /** One change: the customer is told, the agent gets a private note, the conversation moves. */
  steps: Step[];
  /** What the steps do, for the exchange log. */
  effects: string[];
}

/**
 * The way out when a bot cannot serve a conversation (PRODUCT.md): tell the customer, hand the
 * conversation to the escalation skill with a private note for the agent, or — when there is no
 * such skill — tell the customer that no agent could be reached. The steps form one change, so
 * a crash leaves either all of them or none (and then the answer is still owed, and retried).
 * Defaults stand in for messages not configured: the consumer always hears from us.
 */
export async function escalationPlan(
  settings: BotSettings,
  reason: { code: string; message: string },
  findSkill: (name: string) => Promise<Skill | undefined>,
): Promise<EscalationPlan> {
  const { escalation } = settings;
  const steps: Step[] = [
    {
      kind: 'message',
      message: { text: escalation.messageToCustomer ?? DEFAULT_MESSAGES.messageToCustomer, audience: 'ALL' },
    },
  ];
  const effects = [`escalating (${reason.code})`, 'sent message to customer'];
  const skill = escalation.skill ? await findSkill(escalation.skill) : undefined;
  if (skill) {
    const note = `${escalation.messageToAgent ?? DEFAULT_MESSAGES.messageToAgent} (${reason.code}: ${reason.message})`;
    steps.push(
      { kind: 'message', message: { text: note, audience: 'AGENTS_AND_MANAGERS' } },
      { kind: 'transfer', skill },
    );
    effects.push('sent message to agent', `transferred to escalation skill '${skill.name}'`);
  } else {
    steps.push({
      kind: 'message',
      message: { text: escalation.transferFailureMessage ?? DEFAULT_MESSAGES.transferFailureMessage, audience: 'ALL' },
    });
    effects.push(
      escalation.skill ? `escalation skill '${escalation.skill}' does not exist` : 'no escalation skill configured',
      'sent transfer-failure message',
    );
  }
  return { steps, effects };
}
