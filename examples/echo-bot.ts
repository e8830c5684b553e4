// A whole Custom Endpoint bot: echoes every text, closes on "bye". In your own project, import
// from '@botbridge/custom-endpoint'. Run: BOTBRIDGE_URL=http://127.0.0.1:8080 ACCOUNT_ID=demo PORT=9000 npx tsx examples/echo-bot.ts
import { createServer } from 'node:http';
import {
  answer,
  closeConversation,
  createCustomEndpointService,
  createRequestListener,
  createTokenVerifier,
  text,
} from '../src/sdk/custom-endpoint/index.js';

const platform = process.env.BOTBRIDGE_URL ?? 'http://127.0.0.1:8080';
const service = createCustomEndpointService({
  // Only tokens Sentinel signed for this account, with the Custom Endpoint scope, are answered.
  verifyToken: createTokenVerifier({
    jwksUrl: `${platform}/sentinel/well-known/jwks`,
    accounts: [process.env.ACCOUNT_ID ?? 'demo'],
  }),
  handlers: {
    event: {
      START: () => answer(text('Hi! I repeat what you write. Say "bye" to end.')),
      TEXT: ({ event }) =>
        event.data.message.trim().toLowerCase() === 'bye'
          ? answer(text('Bye!'), closeConversation())
          : answer(text(event.data.message)),
      fallback: () => answer(text('I only read text.')),
    },
  },
});
const port = Number(process.env.PORT ?? 9000);
createServer(createRequestListener(service)).listen(port, '127.0.0.1', () =>
  console.log(`echo bot listening on http://127.0.0.1:${port}`),
);
