/**
 * The Custom Endpoint event the connector sends for one consumer text (src/connector/requests.ts),
 * as the raw-bot baseline and the floor send it: what the bot reads is the same in every phase.
 */
export function consumerTextEvent(conversationId: string, sequence: number, message: string) {
  return {
    type: 'TEXT',
    source: 'CONSUMER',
    data: { message },
    context: {
      lpEvent: {
        sequence,
        serverTimestamp: Date.now(),
        conversationId,
        dialogId: conversationId,
        originatorMetadata: { role: 'CONSUMER' },
        messageAudience: 'ALL',
        metadata: [],
        event: { type: 'ContentEvent', contentType: 'text/plain', message },
      },
    },
  };
}
