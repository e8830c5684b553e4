import { setTimeout as sleep } from 'node:timers/promises';
import type { Conversations, NewMessage } from '../platform/conversations.js';
import { sdesFromList } from '../platform/routing.js';
import type { Originator } from '../platform/types.js';
import type { Job } from './jobs.js';
import {
  isPause,
  isQuickReplies,
  ttrSeconds,
  type MessagesCommand,
  type SdesCommand,
  type TransferCommand,
  type TtrCommand,
} from './commands.js';
import type { JobExecutor } from './worker.js';

/**
 * Carries a stored command out on the platform. The Public API speaks for the bot that holds the
 * conversation (as LivePerson's does); with no bot holding it, it speaks as the API user, an
 * agent of the account.
 */
export function commandExecutor(conversations: Conversations): JobExecutor {
  const speaker = async (job: Job): Promise<Originator> => {
    const conversation = await conversations.get(job.accountId, job.conversationId);
    const holder = conversation.assignee;
    return holder?.userType === 'BOT' ? { role: 'BOT', userId: holder.userId } : { role: 'AGENT', userId: job.actorUserId };
  };

  const sendMessages = async (job: Job, command: MessagesCommand, signal: AbortSignal) => {
    const { accountId: acc, conversationId: id } = job;
    const post = async (message: NewMessage) => {
      await conversations.post(acc, id, await speaker(job), command.context !== undefined ? { ...message, context: command.context } : message);
    };
    for (const item of command.messages) {
      signal.throwIfAborted();
      if (typeof item === 'string') {
        await post({ text: item });
      } else if (isPause(item)) {
        // The wait is a timer, not a held thread: only this conversation's later jobs wait on it.
        const typing = item.typing ?? true;
        const originator = await speaker(job);
        if (typing) await conversations.typing(acc, id, originator, true);
        try {
          await sleep(item.delay * 1000, undefined, { signal });
        } finally {
          // Best effort: the conversation may have closed meanwhile, which the next message reports.
          if (typing) await conversations.typing(acc, id, originator, false).catch(() => undefined);
        }
      } else {
        const extras = {
          ...(item.metadata !== undefined ? { metadata: item.metadata } : {}),
          ...(item.encodedMetadata !== undefined ? { encodedMetadata: item.encodedMetadata } : {}),
        };
        if (isQuickReplies(item)) {
          const { message, quickReplies } = item.structuredContent as { message: string; quickReplies: unknown };
          await post({ text: message, quickReplies, ...extras });
        } else {
          await post({ content: item.structuredContent, ...extras });
        }
      }
    }
  };

  return async (job, signal) => {
    const { accountId: acc, conversationId: id } = job;
    switch (job.action) {
      case 'messages':
        return sendMessages(job, job.payload as MessagesCommand, signal);
      case 'transfer':
        await conversations.transfer(acc, id, await speaker(job), { skill: (job.payload as TransferCommand).skill });
        return;
      case 'close':
        await conversations.close(acc, id, await speaker(job), { reason: 'API' });
        return;
      case 'sdes': {
        const { sdes, sharkVisitorId, sharkSessionId } = job.payload as SdesCommand;
        await conversations.updateSdes(acc, id, await speaker(job), sdesFromList(sdes), { sharkVisitorId, sharkSessionId });
        return;
      }
      case 'ttr': {
        const { ttrType, value } = job.payload as TtrCommand;
        await conversations.setTtr(acc, id, await speaker(job), { ttrType, value: ttrSeconds(value) });
        return;
      }
    }
  };
}
