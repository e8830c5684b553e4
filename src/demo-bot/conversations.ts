import type { ConversationBody } from '../contract/index.js';

export interface ConversationKey {
  /** The token's account: one account can never reach another's conversations. */
  accountId: string;
  botId: string;
  environment: string;
  conversationId: string;
}

export interface DemoConversation extends ConversationKey {
  sdes: ConversationBody['sdes'];
  context: ConversationBody['context'];
  createdAt: number;
  turns: number;
}

/**
 * The demo bot's own memory of conversations, created by PUT. In memory and bounded: when full,
 * the oldest is forgotten, and the connector's "404 → create again and resend" brings it back.
 */
export class DemoConversations {
  private readonly byKey = new Map<string, DemoConversation>();

  constructor(private readonly capacity = 10_000) {}

  /** Undefined when it already exists (the caller answers 409). */
  create(key: ConversationKey, body: ConversationBody, now: number): DemoConversation | undefined {
    const id = keyOf(key);
    if (this.byKey.has(id)) return undefined;
    const conversation: DemoConversation = { ...key, sdes: body.sdes, context: body.context, createdAt: now, turns: 0 };
    this.byKey.set(id, conversation);
    while (this.byKey.size > this.capacity) this.byKey.delete(this.byKey.keys().next().value as string);
    return conversation;
  }

  get(key: ConversationKey): DemoConversation | undefined {
    return this.byKey.get(keyOf(key));
  }

  get size(): number {
    return this.byKey.size;
  }
}

function keyOf(key: ConversationKey): string {
  return JSON.stringify([key.accountId, key.botId, key.environment, key.conversationId]);
}
