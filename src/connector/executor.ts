import { setTimeout as sleep } from 'node:timers/promises';
import type { Conversations, Step } from '../platform/conversations.js';
import type { Conversation, Originator, Skill } from '../platform/types.js';
import type { RowGuard } from '../store/index.js';
import { isDomainError } from '../errors.js';
import type { FunctionResult } from './functions.js';

/** The parser's output as the executor needs it (src/contract/answer defines the full types). */
export type ExecutableItem =
  | {
      kind: 'text';
      text: string;
      audience: 'ALL' | 'AGENTS_AND_MANAGERS';
      metadata?: unknown;
      encodedMetadata?: string;
    }
  | { kind: 'structured'; content: object; metadata?: unknown; encodedMetadata?: string }
  | { kind: 'quickReplies'; text: string; quickReplies: object; metadata?: unknown; encodedMetadata?: string }
  | { kind: 'delay'; seconds: number; typing: boolean };

export type ExecutableAction =
  | { name: 'TRANSFER'; skillName?: string; agentId?: string }
  | { name: 'CLOSE_CONVERSATION'; withoutPcs: boolean }
  | { name: 'CHANGE_TTR'; ttrType: 'URGENT' | 'NORMAL' | 'PRIORITIZED' | 'CUSTOM'; value?: number }
  | { name: 'INVOKE_FUNCTION'; lambdaUuid: string; payload: object; failOnError: boolean };

/**
 * What is left of an answer, as the store keeps it between its parts: a crash during a DELAY
 * resumes the answer where it stopped, neither repeating nor losing a message.
 */
export interface Remainder {
  items: ExecutableItem[];
  action?: ExecutableAction;
  /** When the DELAY the items start with ends (epoch ms), once that wait has begun. */
  resumeAt?: number;
  /** The answer failed after its messages were written: the conversation is to be escalated. */
  escalate?: { code: string; message: string };
}

export interface ExecutionContext {
  conversations: Conversations;
  /** A skill by its (case-sensitive) name, or undefined. */
  findSkill: (accountId: string, name: string) => Promise<Skill | undefined>;
  invoke: (accountId: string, lambdaUuid: string, payload: unknown) => Promise<FunctionResult>;
  conversation: Conversation;
  bot: Originator;
  /** The last log entry the answer answers: committed with the first part of it written. */
  answers: number;
  /** Joins each change the answer makes: refuses it once this instance no longer drives the bot. */
  guard?: RowGuard;
}

export interface ExecutionResult {
  effects: string[];
  errors: { code: string; message: string }[];
  /** Set when what happened calls for the escalation path (unknown transfer skill, failOnError function). */
  escalate?: { code: string; message: string };
}

/**
 * Carries out an answer (or what a crash left of one) on the conversation. The messages up to
 * a DELAY are one change, and the action joins the last of them; each change also commits what
 * is left of the answer, so the store always knows how far it got. A DELAY shows typing and
 * holds only this conversation's queue. `committed` says whether the answer's mark is written.
 */
export async function carryOut(ctx: ExecutionContext, answer: Remainder, committed: boolean): Promise<ExecutionResult> {
  const { conversations, conversation, bot } = ctx;
  const acc = conversation.accountId;
  const id = conversation.conversationId;
  const result: ExecutionResult = { effects: [], errors: [] };
  const commit = async (steps: Step[], rest: Remainder | null) => {
    await conversations.act(acc, id, bot, steps, {
      answered: { sequence: ctx.answers, pending: rest },
      guard: ctx.guard,
    });
    committed = true;
  };
  let rest: Remainder | null = answer;
  try {
    while (rest) {
      if (rest.escalate) {
        result.escalate = rest.escalate;
        return result;
      }
      const first = rest.items[0];
      if (first?.kind === 'delay') {
        const resumeAt = rest.resumeAt ?? Date.now() + first.seconds * 1000;
        if (!committed) await commit([], { ...rest, resumeAt });
        if (first.typing) await conversations.typing(acc, id, bot, true);
        await sleep(Math.max(0, resumeAt - Date.now()));
        if (first.typing) await conversations.typing(acc, id, bot, false);
        result.effects.push(`waited ${first.seconds} s`);
        rest = { ...rest, items: rest.items.slice(1), resumeAt: undefined };
        continue;
      }
      const items: ExecutableItem[] = rest.items;
      const cut = items.findIndex((item) => item.kind === 'delay');
      const batch = (cut < 0 ? items : items.slice(0, cut)) as MessageItem[];
      const after = cut < 0 ? [] : items.slice(cut);
      const steps: Step[] = batch.map(messageStep);
      const effects = batch.map(messageEffect);
      let next: Remainder | null = null;
      if (after.length) {
        const delay = after[0] as Extract<ExecutableItem, { kind: 'delay' }>;
        next = {
          items: after,
          ...(rest.action ? { action: rest.action } : {}),
          resumeAt: Date.now() + delay.seconds * 1000,
        };
      } else if (rest.action) {
        const action = await actionStep(ctx, rest.action);
        if (action.step) steps.push(action.step);
        effects.push(...action.effects);
        result.errors.push(...action.errors);
        // What runs after the commit stays in the store until it has run.
        if (action.escalate) next = { items: [], escalate: action.escalate };
        else if (rest.action.name === 'INVOKE_FUNCTION') next = { items: [], action: rest.action };
      }
      if (steps.length || !committed || next || rest !== answer) await commit(steps, next);
      result.effects.push(...effects);
      rest = next;
      if (rest?.action?.name === 'INVOKE_FUNCTION' && !rest.items.length) {
        const invoked = await invokeFunction(ctx, rest.action);
        result.effects.push(...invoked.effects);
        result.errors.push(...invoked.errors);
        if (invoked.escalate) {
          // The escalation's own change clears the remainder.
          result.escalate = invoked.escalate;
          return result;
        }
        await commit([], null);
        rest = null;
      }
    }
  } catch (error) {
    if (isDomainError(error, 'conversation-closed')) {
      result.effects.push('stopped: the conversation was closed meanwhile');
      return result;
    }
    throw error;
  }
  return result;
}

type MessageItem = Exclude<ExecutableItem, { kind: 'delay' }>;

function messageStep(item: MessageItem): Step {
  const extras = { metadata: item.metadata, encodedMetadata: item.encodedMetadata };
  switch (item.kind) {
    case 'text':
      return { kind: 'message', message: { text: item.text, audience: item.audience, ...extras } };
    case 'structured':
      return { kind: 'message', message: { content: item.content, ...extras } };
    case 'quickReplies':
      return { kind: 'message', message: { text: item.text, quickReplies: item.quickReplies, ...extras } };
  }
}

function messageEffect(item: MessageItem): string {
  if (item.kind === 'text') return item.audience === 'ALL' ? 'sent text' : 'sent private text';
  return item.kind === 'structured' ? 'sent structured content' : 'sent quick replies';
}

/** The conversation change an action makes, or why it cannot be made. */
async function actionStep(
  ctx: ExecutionContext,
  action: ExecutableAction,
): Promise<{
  step?: Step;
  effects: string[];
  errors: { code: string; message: string }[];
  escalate?: { code: string; message: string };
}> {
  switch (action.name) {
    case 'TRANSFER': {
      const name = action.skillName ?? ctx.conversation.skill.name;
      const skill = await ctx.findSkill(ctx.conversation.accountId, name);
      if (!skill) {
        const failure = {
          code: 'transfer-failed',
          message: `transfer to skill '${name}' failed: unknown skill (skill names are case-sensitive)`,
        };
        return { effects: [], errors: [failure], escalate: failure };
      }
      const to = action.agentId ? `agent ${action.agentId} (skill '${name}' as fallback)` : `skill '${name}'`;
      return {
        step: { kind: 'transfer', skill, agentId: action.agentId },
        effects: [`transferred to ${to}`],
        errors: [],
      };
    }
    case 'CLOSE_CONVERSATION':
      return {
        step: { kind: 'close', reason: 'BOT', withoutPcs: action.withoutPcs },
        effects: [action.withoutPcs ? 'closed the conversation (no survey)' : 'closed the conversation'],
        errors: [],
      };
    case 'CHANGE_TTR':
      return {
        step: { kind: 'ttr', ttr: { ttrType: action.ttrType, value: action.value } },
        effects: [`set TTR ${action.ttrType}${action.value !== undefined ? ` ${action.value} s` : ''}`],
        errors: [],
      };
    case 'INVOKE_FUNCTION':
      // Called once the messages before it are written (see carryOut).
      return { effects: [], errors: [] };
  }
}

async function invokeFunction(ctx: ExecutionContext, action: Extract<ExecutableAction, { name: 'INVOKE_FUNCTION' }>) {
  const outcome = await ctx.invoke(ctx.conversation.accountId, action.lambdaUuid, action.payload);
  if (outcome.ok) return { effects: [`invoked function ${action.lambdaUuid} (HTTP ${outcome.status})`], errors: [] };
  const failure = {
    code: 'function-invocation-failed',
    message: `function ${action.lambdaUuid} failed: ${outcome.error}`,
  };
  if (action.failOnError) return { effects: [], errors: [failure], escalate: failure };
  return { effects: ['function failed, ignored (failOnError is false)'], errors: [failure] };
}
