import type { BotSettings } from './types.js';
import type {
  ChangeContext,
  ConversationBody,
  ConversationContext,
  LifecycleEventBody,
  StructuredContentChangeBody,
  TextChangeBody,
} from '../contract/index.js';
import type { Conversation, ConversationEvent } from '../platform/types.js';

/**
 * What the connector sends for a conversation: pure builders of the contract's request bodies,
 * typed by them so that tsc holds each builder to the contract's shape.
 */

export const FILE_PLACEHOLDER = 'com.liveperson.bot-connectors.consumer.send-file';

/** Body of PUT .../conversations/{convId}: SDES only when engagement attributes are on. */
export function conversationBody(conversation: Conversation, settings: BotSettings): ConversationBody {
  return {
    sdes: settings.engagementAttributes
      ? {
          authenticatedSdes: conversation.sdes.authenticatedSdes ?? {},
          unauthenticatedSdes: conversation.sdes.unauthenticatedSdes ?? {},
        }
      : {},
    context: conversationContext(conversation),
  };
}

export function conversationContext(conversation: Conversation): ConversationContext {
  return {
    type: conversation.type,
    skillId: conversation.skill.id,
    // The contract requires a number; conversations opened without an engagement carry 0.
    engagementId: conversation.engagementId ?? 0,
    ...(conversation.campaignId !== undefined ? { campaignId: conversation.campaignId } : {}),
    visitor: conversation.visitor,
    ...(conversation.assignee ? { assignedAgentId: conversation.assignee.userId } : {}),
    conversationId: conversation.conversationId,
  };
}

/** The `lpEvent` of a consumer message: the raw platform event in LivePerson's terms. */
function lpEvent(conversation: Conversation, event: ConversationEvent, text?: string): ChangeContext['lpEvent'] {
  return {
    sequence: event.sequence,
    serverTimestamp: event.serverTimestamp,
    conversationId: conversation.conversationId,
    dialogId: conversation.conversationId,
    originatorMetadata: { role: event.originator.role },
    messageAudience: event.audience,
    metadata: event.metadata ?? [],
    event:
      event.type === 'RICH_CONTENT'
        ? { type: 'RichContentEvent', content: event.content }
        : { type: 'ContentEvent', contentType: 'text/plain', message: text ?? event.text ?? '' },
  };
}

/** A consumer message (one, or several combined into one text) as a POST events body. */
export function consumerEventBody(
  conversation: Conversation,
  events: ConversationEvent[],
): TextChangeBody | StructuredContentChangeBody {
  const last = events[events.length - 1];
  if (events.length === 1 && last.type === 'RICH_CONTENT') {
    const context = { lpEvent: lpEvent(conversation, last) };
    // The consumer's message route accepts only an object as `content`; the event log keeps it untyped.
    const content = last.content as Record<string, unknown>;
    // The contract's StructuredContentChange wants the context inside data as well.
    return { type: 'RICH_CONTENT', source: 'CONSUMER', data: { content, context }, context };
  }
  const message = events.map(textOf).join('\n');
  return {
    type: 'TEXT',
    source: 'CONSUMER',
    data: { message },
    context: { lpEvent: lpEvent(conversation, last, message) },
  };
}

function textOf(event: ConversationEvent): string {
  if (event.type === 'FILE') return FILE_PLACEHOLDER;
  if (event.type === 'RICH_CONTENT') return JSON.stringify(event.content);
  return event.text ?? '';
}

/**
 * The welcome event; `lastConsumerMessage` when the bot got the conversation after the consumer
 * spoke. `sequence` is the log entry it answers (the assignment), as a message's is: a retry
 * carries the same one, so a service can tell a redelivery from a second welcome.
 */
export function startEventBody(
  conversation: Conversation,
  sequence: number,
  lastConsumerMessage?: string,
): LifecycleEventBody {
  return {
    type: 'START',
    source: 'CONVERSATION',
    data: {},
    context: {
      lpEvent: {
        sequence,
        conversationId: conversation.conversationId,
        dialogId: conversation.conversationId,
        ...(lastConsumerMessage !== undefined ? { lastConsumerMessage } : {}),
      },
    },
  };
}

/** The survey bot's close event; `sequence` is the close's log entry (see startEventBody). */
export function closeEventBody(conversation: Conversation, sequence: number): LifecycleEventBody {
  return {
    type: 'CLOSE_CONVERSATION',
    source: 'CONVERSATION',
    data: {},
    context: {
      lpEvent: {
        sequence,
        conversationId: conversation.conversationId,
        dialogId: conversation.conversationId,
        closeReason: conversation.closeReason,
      },
    },
  };
}

/** The consumer's last words, for the welcome event of a transferred conversation. */
export function lastConsumerMessage(events: ConversationEvent[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.originator.role === 'CONSUMER' && (e.type === 'TEXT' || e.type === 'FILE')) return textOf(e);
  }
  return undefined;
}
