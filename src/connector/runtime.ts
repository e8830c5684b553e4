import type { ConversationEventBody } from '../contract/index.js';
import type { Conversation, ConversationEvent } from '../platform/types.js';
import { consumerEventBody } from './requests.js';
import type { BotRecord } from './store.js';
import type { CustomEndpointClient } from './vendor-client.js';

/** A bot as this instance knows it: its record, its client, and whether it drives it. */
export interface Runtime {
  record: BotRecord;
  client: CustomEndpointClient;
  /** Conversations already created on the bot service (PUT done) since this instance drives it. */
  known: Set<string>;
  /** The epoch of this instance's lease on the bot; undefined while another instance drives it. */
  epoch?: number;
}

/** What the bot is asked to answer: one request, covering the conversation's log up to `upTo`. */
export interface Inbound {
  eventType: string;
  upTo: number;
  body: (conversation: Conversation) => ConversationEventBody;
}

/** Consumer messages (one, or several combined into one text) as one request. */
export function messagesInbound(events: ConversationEvent[]): Inbound {
  const last = events[events.length - 1];
  return {
    eventType: events.length === 1 ? last.type : 'TEXT',
    upTo: last.sequence,
    body: (c) => consumerEventBody(c, events),
  };
}
