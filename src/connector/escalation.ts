import type { Conversations } from '../platform/conversations.js';
import type { Conversation, Originator } from '../platform/types.js';
import { HttpError } from '../http/errors.js';
import { DEFAULT_MESSAGES, type BotSettings } from './bot-config.js';
import type { FunctionResult } from './functions.js';

export interface EscalationContext {
  conversations: Conversations;
  invoke: (accountId: string, lambdaUuid: string, payload: unknown) => Promise<FunctionResult>;
  conversation: Conversation;
  bot: Originator;
  botId: string;
  settings: BotSettings;
}

/**
 * The way out when a bot cannot serve a conversation (PRODUCT.md): tell the customer, hand the
 * conversation to the escalation skill with a private note for the agent, tell the customer
 * again if that transfer fails, and call the error hook. Each step runs even if an earlier one
 * failed, so the consumer is never left facing a silent bot. Returns what was done.
 */
export async function escalate(ctx: EscalationContext, reason: { code: string; message: string }): Promise<string[]> {
  const { conversations, conversation, bot, settings } = ctx;
  const acc = conversation.accountId;
  const id = conversation.conversationId;
  const escalation = settings.escalation;
  const effects: string[] = [`escalating (${reason.code})`];
  const say = async (text: string, audience: 'ALL' | 'AGENTS_AND_MANAGERS', label: string) => {
    try {
      await conversations.post(acc, id, bot, { text, audience });
      effects.push(label);
    } catch (error) {
      effects.push(`${label} failed: ${(error as Error).message}`);
    }
  };

  const current = await conversations.find(id);
  if (!current || current.status !== 'OPEN') {
    effects.push('conversation already closed: nothing to escalate');
    return effects;
  }

  await say(escalation.messageToCustomer ?? DEFAULT_MESSAGES.messageToCustomer, 'ALL', 'sent message to customer');
  let transferred = false;
  if (escalation.skill) {
    await say(
      `${escalation.messageToAgent ?? DEFAULT_MESSAGES.messageToAgent} (${reason.code}: ${reason.message})`,
      'AGENTS_AND_MANAGERS',
      'sent message to agent',
    );
    try {
      await conversations.transfer(acc, id, bot, { skill: escalation.skill });
      transferred = true;
      effects.push(`transferred to escalation skill '${escalation.skill}'`);
    } catch (error) {
      effects.push(`transfer to escalation skill '${escalation.skill}' failed: ${(error as Error).message}`);
    }
  } else {
    effects.push('no escalation skill configured');
  }
  if (!transferred) {
    await say(escalation.transferFailureMessage ?? DEFAULT_MESSAGES.transferFailureMessage, 'ALL', 'sent transfer-failure message');
  }
  if (escalation.errorHookLambdaUuid) {
    const hook = await ctx.invoke(acc, escalation.errorHookLambdaUuid, {
      botId: ctx.botId,
      accountId: acc,
      conversationId: id,
      error: reason,
      transferred,
    });
    effects.push(hook.ok ? 'called error hook' : `error hook failed: ${hook.error}`);
  }
  return effects;
}

export function isClosedError(error: unknown): boolean {
  return error instanceof HttpError && error.code === 'conversation-closed';
}
