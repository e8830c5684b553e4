import { setTimeout as sleep } from 'node:timers/promises';
import type { Conversations } from '../platform/conversations.js';
import type { Conversation, Originator } from '../platform/types.js';
import { HttpError } from '../http/errors.js';
import type { FunctionResult } from './functions.js';

/** The parser's output as the executor needs it (src/connector/parser defines the full types). */
export type ExecutableItem =
  | { kind: 'text'; text: string; audience: 'ALL' | 'AGENTS_AND_MANAGERS'; metadata?: unknown; encodedMetadata?: string }
  | { kind: 'structured'; content: object; metadata?: unknown; encodedMetadata?: string }
  | { kind: 'quickReplies'; text: string; quickReplies: object; metadata?: unknown; encodedMetadata?: string }
  | { kind: 'delay'; seconds: number; typing: boolean };

export type ExecutableAction =
  | { name: 'TRANSFER'; skillName?: string; agentId?: string }
  | { name: 'CLOSE_CONVERSATION'; withoutPcs: boolean }
  | { name: 'CHANGE_TTR'; ttrType: 'URGENT' | 'NORMAL' | 'PRIORITIZED' | 'CUSTOM'; value?: number }
  | { name: 'INVOKE_FUNCTION'; lambdaUuid: string; payload: object; failOnError: boolean };

export interface ExecutionContext {
  conversations: Conversations;
  invoke: (accountId: string, lambdaUuid: string, payload: unknown) => Promise<FunctionResult>;
  conversation: Conversation;
  bot: Originator;
}

export interface ExecutionResult {
  effects: string[];
  errors: { code: string; message: string }[];
  /** Set when what happened calls for the escalation path (failed transfer, failOnError function). */
  escalate?: { code: string; message: string };
  /** The conversation was closed under us (by the consumer or an agent): nothing more to do. */
  interrupted?: boolean;
}

/**
 * Carries out a parsed bot response on the conversation: messages in order, DELAYs as typing
 * plus a timer (which blocks only this conversation's queue), then the one action.
 */
export async function execute(ctx: ExecutionContext, items: ExecutableItem[], action: ExecutableAction | undefined): Promise<ExecutionResult> {
  const { conversations, conversation, bot } = ctx;
  const acc = conversation.accountId;
  const id = conversation.conversationId;
  const result: ExecutionResult = { effects: [], errors: [] };
  try {
    for (const item of items) {
      switch (item.kind) {
        case 'text':
          await conversations.post(acc, id, bot, {
            text: item.text,
            audience: item.audience,
            metadata: item.metadata,
            encodedMetadata: item.encodedMetadata,
          });
          result.effects.push(item.audience === 'ALL' ? 'sent text' : 'sent private text');
          break;
        case 'structured':
          await conversations.post(acc, id, bot, { content: item.content, metadata: item.metadata, encodedMetadata: item.encodedMetadata });
          result.effects.push('sent structured content');
          break;
        case 'quickReplies':
          await conversations.post(acc, id, bot, {
            text: item.text,
            quickReplies: item.quickReplies,
            metadata: item.metadata,
            encodedMetadata: item.encodedMetadata,
          });
          result.effects.push('sent quick replies');
          break;
        case 'delay':
          if (item.typing) await conversations.typing(acc, id, bot, true);
          await sleep(item.seconds * 1000);
          if (item.typing) await conversations.typing(acc, id, bot, false);
          result.effects.push(`waited ${item.seconds} s`);
          break;
      }
    }
    if (action) await runAction(ctx, action, result);
  } catch (error) {
    if (error instanceof HttpError && error.code === 'conversation-closed') {
      result.interrupted = true;
      result.effects.push('stopped: the conversation was closed meanwhile');
      return result;
    }
    throw error;
  }
  return result;
}

async function runAction(ctx: ExecutionContext, action: ExecutableAction, result: ExecutionResult): Promise<void> {
  const { conversations, conversation, bot } = ctx;
  const acc = conversation.accountId;
  const id = conversation.conversationId;
  switch (action.name) {
    case 'TRANSFER': {
      const skill = action.skillName ?? conversation.skill.name;
      try {
        const after = await conversations.transfer(acc, id, bot, { skill, agentId: action.agentId });
        const to = after.assignee && after.assignee.userId === action.agentId ? `agent ${action.agentId}` : `skill '${skill}'`;
        result.effects.push(`transferred to ${to}`);
      } catch (error) {
        if (error instanceof HttpError && error.code === 'conversation-closed') throw error;
        const message = `transfer to skill '${skill}' failed: ${(error as Error).message}`;
        result.errors.push({ code: 'transfer-failed', message });
        result.escalate = { code: 'transfer-failed', message };
      }
      return;
    }
    case 'CLOSE_CONVERSATION':
      await conversations.close(acc, id, bot, { reason: 'BOT', withoutPcs: action.withoutPcs });
      result.effects.push(action.withoutPcs ? 'closed the conversation (no survey)' : 'closed the conversation');
      return;
    case 'CHANGE_TTR':
      await conversations.setTtr(acc, id, bot, { ttrType: action.ttrType, value: action.value });
      result.effects.push(`set TTR ${action.ttrType}${action.value !== undefined ? ` ${action.value} s` : ''}`);
      return;
    case 'INVOKE_FUNCTION': {
      const outcome = await ctx.invoke(acc, action.lambdaUuid, action.payload);
      if (outcome.ok) {
        result.effects.push(`invoked function ${action.lambdaUuid} (HTTP ${outcome.status})`);
        return;
      }
      const message = `function ${action.lambdaUuid} failed: ${outcome.error}`;
      result.errors.push({ code: 'function-invocation-failed', message });
      if (action.failOnError) result.escalate = { code: 'function-invocation-failed', message };
      else result.effects.push(`function failed, ignored (failOnError is false)`);
      return;
    }
  }
}
