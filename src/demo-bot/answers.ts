// The demo bot is a bot like any other: the SDK's public entry, nothing deeper.
import {
  changeTtr,
  closeConversation,
  delay,
  invokeFunction,
  privateText,
  text as say,
  transfer,
  type BotResponseItem,
  type ConversationEventBody,
  type Intent,
  type MessagesCommand,
  type PostEventResponseBody,
  type StandardTtr,
} from '../sdk/custom-endpoint/index.js';
import { demoCard, demoCarousel, demoQuickReplies } from './rich-content.js';

/**
 * What the demo bot says: a pure function from a conversation event (and what the bot knows of
 * the conversation) to a Custom Endpoint answer. The HTTP plugin only stores conversations and
 * calls this, so every answer can be scripted and checked without a server.
 */

/** The text LivePerson's connector (and ours) sends in place of a file the consumer shared. */
export const FILE_PLACEHOLDER = 'com.liveperson.bot-connectors.consumer.send-file';

export interface DemoConversationState {
  conversationId: string;
  /** From the PUT's context; quick replies and encoded metadata are messaging-only. */
  conversationType?: 'MESSAGING' | 'CHAT';
  /** Events this bot has answered in the conversation before this one. */
  turns: number;
  /** Whether the bot can send a later reply through the Public API for this conversation's account. */
  answersLater?: boolean;
}

export interface AnswerOptions {
  /** Skill a `transfer` hands the conversation to (skill names are case-sensitive). */
  transferSkill: string;
  /** Image shown on the card and the carousel. */
  imageUrl: string;
}

/** Everything the bot understands, in the order `help` lists it. Tests walk this list too. */
export const DEMO_UTTERANCES: readonly { say: string; does: string; messagingOnly?: boolean }[] = [
  { say: 'card', does: 'a card with an image and buttons' },
  { say: 'carousel', does: 'a carousel of cards' },
  { say: 'quick replies', does: 'one-tap answers', messagingOnly: true },
  { say: 'delay', does: 'a pause with the typing indicator' },
  { say: 'private', does: 'a note only agents can see' },
  { say: 'metadata', does: 'a message that carries metadata', messagingOnly: true },
  { say: 'transfer', does: 'hand you over to a human agent' },
  { say: 'transfer agent <agentId>', does: 'hand you over to that agent, the skill as fallback' },
  { say: 'urgent', does: 'mark the conversation urgent' },
  { say: 'ttr <seconds>', does: 'set a custom response time' },
  { say: 'function <lambdaUuid>', does: 'invoke a function' },
  {
    say: 'later <question>',
    does: 'answer at once that I am on it, then reply a few seconds later via the Public API',
  },
  { say: 'close', does: 'close the conversation' },
  { say: 'close without survey', does: 'close it and skip the survey' },
  { say: 'invalid', does: 'an answer with one broken item, to see the connector drop it' },
  { say: 'empty', does: 'an empty answer, to see the connector escalate' },
];

/** A consumer message, understood. */
export type Utterance =
  | { kind: 'file' }
  | { kind: 'close'; withoutSurvey: boolean }
  | { kind: 'transfer'; agentId?: string }
  | { kind: 'function'; lambdaUuid?: string }
  | { kind: 'ttr'; ttr?: { ttrType: StandardTtr } | { ttrType: 'CUSTOM'; value: number } }
  | { kind: 'later'; question: string }
  | {
      kind: 'quick-replies' | 'carousel' | 'card' | 'metadata' | 'private' | 'delay' | 'invalid' | 'empty' | 'greeting';
    }
  | { kind: 'echo'; message: string };

const UUID = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i;

/**
 * Keyword matching, case-insensitive, on whole words. Utterances that end in an action come first
 * ("hi, close this please" closes), then content, then greetings; anything else is echoed.
 */
export function classify(message: string): Utterance {
  const original = message.trim();
  if (original === FILE_PLACEHOLDER) return { kind: 'file' };
  const text = original.toLowerCase();
  const words = new Set(text.split(/[^a-z0-9-]+/).filter(Boolean));
  const has = (...candidates: string[]) => candidates.some((w) => words.has(w));

  if (has('close')) return { kind: 'close', withoutSurvey: /\bwithout\s+(a\s+)?survey\b/.test(text) };
  if (has('transfer')) {
    const agent = /\btransfer\b.*?\bagent\s+([^\s,;!?]+)/i.exec(original);
    return agent ? { kind: 'transfer', agentId: agent[1].replace(/[.]+$/, '') } : { kind: 'transfer' };
  }
  if (has('function')) {
    const uuid = /\bfunction\s+(\S+)/i.exec(original)?.[1].match(UUID)?.[1];
    return uuid ? { kind: 'function', lambdaUuid: uuid } : { kind: 'function' };
  }
  if (has('ttr')) {
    const custom = /\bttr\s+(\d{1,9})\b/.exec(text);
    if (custom && Number(custom[1]) >= 1) return { kind: 'ttr', ttr: { ttrType: 'CUSTOM', value: Number(custom[1]) } };
    const standard = /\bttr\s+(urgent|normal|prioritized)\b/.exec(text);
    if (standard) return { kind: 'ttr', ttr: { ttrType: standard[1].toUpperCase() as StandardTtr } };
    return { kind: 'ttr' };
  }
  if (has('urgent')) return { kind: 'ttr', ttr: { ttrType: 'URGENT' } };
  if (has('later')) return { kind: 'later', question: original.replace(/^\s*later\b[\s,:;-]*/i, '').trim() };
  if (/\bquick[\s-]?repl(y|ies)\b/.test(text)) return { kind: 'quick-replies' };
  if (has('carousel')) return { kind: 'carousel' };
  if (has('card', 'cards', 'structured')) return { kind: 'card' };
  if (has('metadata')) return { kind: 'metadata' };
  if (has('private')) return { kind: 'private' };
  if (has('delay')) return { kind: 'delay' };
  if (has('invalid')) return { kind: 'invalid' };
  if (has('empty')) return { kind: 'empty' };
  if (has('hi', 'hello', 'hey', 'help')) return { kind: 'greeting' };
  return { kind: 'echo', message: original };
}

export function answer(
  event: ConversationEventBody,
  conversation: DemoConversationState,
  options: AnswerOptions,
): PostEventResponseBody {
  switch (event.type) {
    case 'TEXT':
      return answerUtterance(classify(event.data.message), conversation, options);
    case 'RICH_CONTENT': {
      const type = typeof event.data.content?.type === 'string' ? event.data.content.type : 'unknown';
      return reply(
        [say(`You sent rich content: ${type}`)],
        intent('rich-content', 'The consumer sent rich content', 1),
      );
    }
    case 'START': {
      const items = [say('Welcome! I’m the botbridge demo bot. Say “help” to see what I can do.')];
      const before = event.context.lpEvent.lastConsumerMessage;
      if (typeof before === 'string' && before.trim()) {
        items.push(
          say(`You said before the transfer: “${before.trim()}”. Let’s pick up from there — say “help” for ideas.`),
        );
      }
      return reply(items, intent('welcome', 'The conversation started with the bot', 1));
    }
    case 'CLOSE_CONVERSATION':
      return reply(
        [say('Thanks for chatting — how did we do?')],
        intent('survey', 'The conversation closed; survey question', 1),
      );
    case 'hosted-file':
      return answerUtterance({ kind: 'file' }, conversation, options);
    case 'CONVERSATION':
      // A state change needs no words from the bot.
      return reply([]);
  }
}

function answerUtterance(
  utterance: Utterance,
  conversation: DemoConversationState,
  options: AnswerOptions,
): PostEventResponseBody {
  switch (utterance.kind) {
    case 'greeting':
      return reply(
        [
          say('Hi there! I’m the botbridge demo bot, a Custom Endpoint service that ships with the product.'),
          say(menu(conversation)),
        ],
        intent('greeting', 'Greeting or a request for help', 1),
      );
    case 'private':
      return reply(
        [
          privateText(
            'Private note for agents: the consumer asked to see a private message. Consumers never see this text.',
          ),
          say('I’ve just left a private note for the agents — you won’t see it, but they will.'),
        ],
        intent('private-text', 'Asked for a private message', 1),
      );
    case 'metadata': {
      const encoded = Buffer.from(
        JSON.stringify({
          origin: 'botbridge-demo-bot',
          intent: 'metadata',
          conversationId: conversation.conversationId,
        }),
      ).toString('base64');
      return reply(
        [
          say('This message carries metadata: an ExternalId your systems can match, plus some encoded metadata.', {
            metadata: [{ type: 'ExternalId', id: `demo-bot-${conversation.conversationId}` }],
            encodedMetadata: encoded,
          }),
        ],
        intent('metadata', 'Asked for a message with metadata', 1),
      );
    }
    case 'card':
      return reply(
        [{ type: 'STRUCTURED_CONTENT', data: { structuredContent: demoCard(options.imageUrl) } }],
        intent('structured-content-card', 'Asked for a card', 1),
      );
    case 'carousel':
      return reply(
        [{ type: 'STRUCTURED_CONTENT', data: { structuredContent: demoCarousel(options.imageUrl) } }],
        intent('structured-content-carousel', 'Asked for a carousel', 1),
      );
    case 'quick-replies':
      return reply(
        [
          {
            type: 'STRUCTURED_CONTENT',
            data: {
              structuredContent: demoQuickReplies(),
              metadata: [{ type: 'ExternalId', id: 'demo-bot-quick-replies' }],
            },
          },
        ],
        intent('quick-replies', 'Asked for quick replies', 1),
      );
    case 'delay':
      return reply(
        [
          say('Let me think about that for a moment…'),
          delay(2, { typing: true }),
          say('Done! That was a two-second pause with the typing indicator on.'),
        ],
        intent('delay', 'Asked for a delayed answer', 1),
      );
    case 'transfer': {
      const { agentId } = utterance;
      const message = agentId
        ? `I’m transferring you to agent ${agentId} (or, if they’re unavailable, to the ${options.transferSkill} team) — one moment please.`
        : `I’m transferring you to a human agent on the ${options.transferSkill} team — one moment please.`;
      return reply(
        [say(message), transfer(options.transferSkill, agentId ? { agentId } : {})],
        agentId
          ? intent('transfer-to-agent', 'Asked for a specific agent', 1)
          : intent('transfer', 'Asked for a human agent', 1),
      );
    }
    case 'close':
      return utterance.withoutSurvey
        ? reply(
            [
              say('Thanks for chatting with me — closing the conversation now, no survey this time. Goodbye!'),
              closeConversation({ withoutPcs: true }),
            ],
            intent('close-without-survey', 'Asked to close without the survey', 1),
          )
        : reply(
            [say('Thanks for chatting with me — closing the conversation now. Goodbye!'), closeConversation()],
            intent('close-conversation', 'Asked to close the conversation', 1),
          );
    case 'ttr': {
      const { ttr } = utterance;
      if (!ttr) {
        return reply(
          [
            say(
              'Tell me the response time you want: “urgent”, “ttr normal”, “ttr prioritized” or “ttr <seconds>”, e.g. “ttr 600”.',
            ),
          ],
          intent('ttr-usage', 'Asked about response time without a value', 0.6),
        );
      }
      if (ttr.ttrType === 'CUSTOM') {
        return reply(
          [
            say(`Done — the response time for this conversation is now ${ttr.value} seconds.`),
            changeTtr('CUSTOM', ttr.value),
          ],
          intent('ttr-custom', 'Asked for a custom response time', 1),
        );
      }
      const message =
        ttr.ttrType === 'URGENT'
          ? 'I’ve marked this conversation as urgent, so an agent answers it first.'
          : `I’ve set this conversation’s response time to ${ttr.ttrType.toLowerCase()}.`;
      return reply(
        [say(message), changeTtr(ttr.ttrType)],
        intent(`ttr-${ttr.ttrType.toLowerCase()}`, `Asked for ${ttr.ttrType} response time`, 1),
      );
    }
    case 'function':
      if (!utterance.lambdaUuid) {
        return reply(
          [
            say(
              'Tell me which function to call: “function <lambdaUuid>”, with the UUID of a function registered on your account.',
            ),
          ],
          intent('invoke-function-usage', 'Asked for a function without its UUID', 0.6),
        );
      }
      return reply(
        [
          say(`Calling function ${utterance.lambdaUuid} for you now.`),
          invokeFunction(
            utterance.lambdaUuid,
            {
              origin: 'botbridge-demo-bot',
              conversationId: conversation.conversationId,
              reason: 'The consumer asked the demo bot to invoke this function.',
            },
            { failOnError: false },
          ),
        ],
        intent('invoke-function', 'Asked to invoke a function', 1),
      );
    case 'later':
      return conversation.answersLater
        ? reply(
            [say('Let me look into that — I’ll come back to you here in a few seconds.')],
            intent('answer-later', 'Asked for an answer sent later through the Public API', 1),
          )
        : reply(
            [
              say(
                'I can answer later only through the Public API, and my service has no Public API login for this account. ' +
                  'Run me with one (see the README’s demo bot section) and try again.',
              ),
            ],
            intent('answer-later-unavailable', 'Asked for a later answer without Public API access', 1),
          );
    case 'invalid':
      return reply(
        [
          say('Here comes an answer with one deliberately broken item: a pause of zero seconds…'),
          // Built by hand: the SDK's delay() refuses what the connector would drop.
          { type: 'DELAY', data: { seconds: 0, typing: true } },
          say('…and this text still arrives, because the connector drops only the broken item.'),
        ],
        intent('invalid-demo', 'Asked for a deliberately invalid answer', 1),
      );
    case 'empty':
      return reply([]);
    case 'file':
      return reply(
        [
          say(
            'Thanks for the file! I can’t open files myself, but an agent can — say “transfer” if you’d like one to take a look.',
          ),
        ],
        intent('file-received', 'The consumer shared a file', 1),
      );
    case 'echo':
      return reply(
        [say(`You said: ${utterance.message}`)],
        intent('fallback', 'Nothing matched; echoed the message', 0.3),
      );
  }
}

function menu(conversation: DemoConversationState): string {
  const chat = conversation.conversationType === 'CHAT';
  const lines = DEMO_UTTERANCES.map(
    (u) => `• ${u.say} — ${u.does}${u.messagingOnly && chat ? ' (messaging only, not in this chat)' : ''}`,
  );
  return ['Here’s what you can try:', ...lines].join('\n');
}

/**
 * The reply "later" sends through the Public API, after the holding text: what a bot that had
 * to look something up (an order, a booking) would send once it knows.
 */
export function laterReply(question: string): MessagesCommand {
  return {
    context: { intentId: 'answer-later', intentName: 'Answer sent later', confidenceScore: 1 },
    messages: [
      question
        ? `Back with your answer about “${question}”: I sent this through the Public API, after my answer to your message.`
        : 'Back as promised: I sent this through the Public API, after my answer to your message.',
      'A bot service answers like this when it needs longer than the connector waits for an answer.',
    ],
  };
}

function intent(id: string, description: string, confidenceScore: number): Intent {
  return { id, description, confidenceScore };
}

function reply(response: BotResponseItem[], ...intents: Intent[]): PostEventResponseBody {
  return { response, analytics: { intents } };
}
