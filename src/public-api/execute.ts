import { setTimeout as sleep } from 'node:timers/promises';
import type { Conversations, NewMessage, Step } from '../platform/conversations.js';
import type { Directory } from '../platform/directory.js';
import { sdesFromList } from '../platform/routing.js';
import type { Originator } from '../platform/types.js';
import { notFound } from '../errors.js';
import type { RowGuard } from '../store/index.js';
import type { Job, JobProgress } from './jobs.js';
import {
  isPause,
  isQuickReplies,
  ttrSeconds,
  type MessagesCommand,
  type Pause,
  type SdesCommand,
  type StructuredMessage,
  type TransferCommand,
  type TtrCommand,
} from '../contract/public-api.js';
import type { JobExecutor, RecordProgress } from './worker.js';

/**
 * Carries a stored command out on the platform. The Public API speaks for the bot that holds the
 * conversation (as LivePerson's does); with no bot holding it, it speaks as the API user, an
 * agent of the account. Every change commits with the job's record (see RecordProgress): a job
 * taken over after a crash goes on from exactly what was written.
 */
export function commandExecutor(conversations: Conversations, directory: Directory): JobExecutor {
  const speaker = async (job: Job): Promise<Originator> => {
    const conversation = await conversations.current(job.conversationId);
    if (conversation?.accountId !== job.accountId) throw notFound(`unknown conversation '${job.conversationId}'`);
    const holder = conversation.assignee;
    return holder?.userType === 'BOT'
      ? { role: 'BOT', userId: holder.userId }
      : { role: 'AGENT', userId: job.actorUserId };
  };

  const act = async (job: Job, steps: Step[], guard: RowGuard) => {
    await conversations.act(job.accountId, job.conversationId, await speaker(job), steps, { guard });
  };

  /** Typing shown (unless turned off) until the pause ends; cut short when the worker stops. */
  const pause = async (job: Job, typing: boolean, until: number, signal: AbortSignal) => {
    const { accountId: acc, conversationId: id } = job;
    // The wait is a timer, not a held thread: only this conversation's later jobs wait on it.
    const originator = await speaker(job);
    if (typing) await conversations.typing(acc, id, originator, true);
    try {
      await sleep(Math.max(0, until - Date.now()), undefined, { signal });
    } finally {
      // Best effort: the conversation may have closed meanwhile, which the next message reports.
      if (typing) await conversations.typing(acc, id, originator, false).catch(() => undefined);
    }
  };

  /**
   * The messages up to each pause are one change, committed with how far the job got and when
   * the pause ends; the last part commits the job done.
   */
  const sendMessages = async (job: Job, command: MessagesCommand, signal: AbortSignal, record: RecordProgress) => {
    const items = command.messages;
    let at: JobProgress = job.progress;
    if (at.resumeAt !== undefined) {
      // A pause its previous worker began: only what is left of it.
      const paused = items[at.items - 1];
      await pause(job, isPause(paused) ? (paused.typing ?? true) : false, at.resumeAt, signal);
    }
    for (;;) {
      signal.throwIfAborted();
      let end = at.items;
      while (end < items.length && !isPause(items[end])) end++;
      const steps = (items.slice(at.items, end) as Array<string | StructuredMessage>).map(
        (item): Step => ({ kind: 'message', message: toMessage(item, command.context) }),
      );
      if (end === items.length) return act(job, steps, record(at, 'done'));
      const { delay, typing = true } = items[end] as Pause;
      const resumeAt = Date.now() + delay * 1000;
      const next: JobProgress = { items: end + 1, resumeAt };
      await act(job, steps, record(at, next));
      at = next;
      await pause(job, typing, resumeAt, signal);
    }
  };

  return async (job, signal, record) => {
    const { accountId: acc, conversationId: id } = job;
    // A single action is one change, committed with the job done.
    const done = () => record(job.progress, 'done');
    switch (job.action) {
      case 'messages':
        return sendMessages(job, job.payload as MessagesCommand, signal, record);
      case 'transfer': {
        const skill = await directory.requireSkill(acc, (job.payload as TransferCommand).skill);
        return act(job, [{ kind: 'transfer', skill }], done());
      }
      case 'close':
        return act(job, [{ kind: 'close', reason: 'API' }], done());
      case 'sdes': {
        const { sdes, sharkVisitorId, sharkSessionId } = job.payload as SdesCommand;
        await conversations.updateSdes(
          acc,
          id,
          await speaker(job),
          sdesFromList(sdes),
          { sharkVisitorId, sharkSessionId },
          { guard: done() },
        );
        return;
      }
      case 'ttr': {
        const { ttrType, value } = job.payload as TtrCommand;
        return act(job, [{ kind: 'ttr', ttr: { ttrType, value: ttrSeconds(value) } }], done());
      }
    }
  };
}

/** A text or structured item as the message it posts; the request's context goes with each. */
function toMessage(item: string | StructuredMessage, context: MessagesCommand['context']): NewMessage {
  const withContext = (message: NewMessage): NewMessage => (context !== undefined ? { ...message, context } : message);
  if (typeof item === 'string') return withContext({ text: item });
  const extras = {
    ...(item.metadata !== undefined ? { metadata: item.metadata } : {}),
    ...(item.encodedMetadata !== undefined ? { encodedMetadata: item.encodedMetadata } : {}),
  };
  if (isQuickReplies(item)) {
    const { message, quickReplies } = item.structuredContent as { message: string; quickReplies: unknown };
    return withContext({ text: message, quickReplies, ...extras });
  }
  return withContext({ content: item.structuredContent, ...extras });
}
