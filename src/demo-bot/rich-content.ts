/**
 * The demo bot's structured content: LivePerson rich messaging templates (json-pollock's schemas)
 * and quick replies. Every button publishes an utterance the bot understands, so a consumer can
 * click through the whole demo without typing.
 */

type Template = Record<string, unknown>;

/** A button that sends `utterance` back as the consumer's next message. */
function publishTextButton(title: string, utterance: string): Template {
  return { type: 'button', title, tooltip: title, click: { actions: [{ type: 'publishText', text: utterance }] } };
}

function text(value: string, style?: Template): Template {
  return { type: 'text', text: value, tooltip: value, ...(style ? { style } : {}) };
}

/** A vertical card: image, title, description and two buttons. */
export function demoCard(imageUrl: string): Template {
  return {
    type: 'vertical',
    tag: 'generic',
    alt: 'The botbridge demo bot: an image, a title, a short description and two buttons.',
    elements: [
      { type: 'image', url: imageUrl, caption: 'botbridge demo bot', tooltip: 'botbridge demo bot' },
      text('Meet the demo bot', { bold: true, size: 'large' }),
      text('I am a Custom Endpoint service that ships with botbridge. Tap a button to keep exploring.'),
      publishTextButton('Show me a carousel', 'carousel'),
      publishTextButton('Talk to a human', 'transfer'),
    ],
  };
}

const CAROUSEL_CARDS: { title: string; description: string; button: string; utterance: string }[] = [
  {
    title: 'Cards',
    description: 'An image, some text and buttons in one message.',
    button: 'Show a card',
    utterance: 'card',
  },
  {
    title: 'Quick replies',
    description: 'One-tap answers under a question (messaging only).',
    button: 'Try quick replies',
    utterance: 'quick replies',
  },
  {
    title: 'A human agent',
    description: 'Hand the conversation over to a person.',
    button: 'Talk to a human',
    utterance: 'transfer',
  },
];

/** A carousel of vertical cards, one per thing to try next. */
export function demoCarousel(imageUrl: string): Template {
  return {
    type: 'carousel',
    padding: 10,
    elements: CAROUSEL_CARDS.map((card) => ({
      type: 'vertical',
      elements: [
        { type: 'image', url: imageUrl, tooltip: card.title },
        text(card.title, { bold: true, size: 'medium' }),
        text(card.description),
        publishTextButton(card.button, card.utterance),
      ],
    })),
  };
}

const QUICK_REPLIES: { title: string; utterance: string; externalId: string }[] = [
  { title: 'Show a card', utterance: 'card', externalId: 'qr-card' },
  { title: 'Show a carousel', utterance: 'carousel', externalId: 'qr-carousel' },
  { title: 'Pause for a moment', utterance: 'delay', externalId: 'qr-delay' },
  { title: 'Talk to a human', utterance: 'transfer', externalId: 'qr-transfer' },
];

/** LivePerson's quick-replies message: `{quickReplies: {type, itemsPerRow, replies}, message}`. */
export function demoQuickReplies(): Template {
  return {
    quickReplies: {
      type: 'quickReplies',
      itemsPerRow: QUICK_REPLIES.length,
      replies: QUICK_REPLIES.map((reply) => ({
        type: 'button',
        tooltip: reply.title,
        title: reply.title,
        click: {
          actions: [{ type: 'publishText', text: reply.utterance }],
          metadata: [{ type: 'ExternalId', id: reply.externalId }],
        },
      })),
    },
    message: 'What would you like to see next?',
  };
}
