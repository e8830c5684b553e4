/**
 * @botbridge/custom-endpoint: what a bot author needs to write the service behind a Custom
 * Endpoint in TypeScript — the contract's types, builders that cannot make an answer the
 * connector refuses, strict verification of the platform's app JWTs, conversation sessions, the
 * four calls routed to handlers (framework-free or on node:http), the Public API v1 client.
 * Sessions in SQLite (`@botbridge/custom-endpoint/sqlite`, needs better-sqlite3) and the Fastify
 * plugin (`@botbridge/custom-endpoint/fastify`) are entries of their own, so this one loads
 * neither a native module nor a framework.
 *
 *   const service = createCustomEndpointService({
 *     verifyToken: createTokenVerifier({ jwksUrl, accounts: ['acme'] }),
 *     sessions: new SqliteSessions('./sessions.sqlite'), // from '@botbridge/custom-endpoint/sqlite'
 *     handlers: { event: { TEXT: ({ event }) => answer(text(`You said: ${event.data.message}`)), fallback: … } },
 *   });
 *   createServer(createRequestListener(service)).listen(3000);
 */
// Every type of the contract the SDK names: types.ts is that list.
export type * from './types.js';
export {
  answer,
  changeTtr,
  closeConversation,
  delay,
  invokeFunction,
  privateText,
  quickReplies,
  quickReply,
  structuredContent,
  text,
  transfer,
  type AnswerLimits,
  type AnswerOptions,
  type MessageExtras,
  type QuickRepliesOptions,
  type StructuredContentOptions,
} from './builders.js';
export { createStructuredContentValidator, type StructuredContentValidator } from '../../contract/index.js';
export {
  createTokenVerifier,
  CUSTOM_ENDPOINT_SCOPE,
  SENTINEL_ISSUER,
  type TokenRejection,
  type TokenVerdict,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './verify.js';
export {
  MemorySessions,
  type AnsweredEvent,
  type MemorySessionsOptions,
  type Session,
  type SessionKey,
  type SessionStore,
} from './sessions.js';
export {
  createCustomEndpointService,
  DEFAULT_ENVIRONMENTS,
  type BotCall,
  type ConversationCall,
  type CreateConversationCall,
  type CustomEndpointHandlers,
  type CustomEndpointRequest,
  type CustomEndpointResponse,
  type CustomEndpointService,
  type CustomEndpointServiceOptions,
  type EnvironmentCall,
  type EventCall,
  type EventHandler,
} from './service.js';
export type { OpenTelemetryApi } from './trace-context.js';
export { createRequestListener, type RequestListenerOptions } from './node-http.js';
export {
  apiDomainFor,
  createPublicApiClient,
  LIVEPERSON_API_DOMAINS,
  LIVEPERSON_DOMAIN_LOOKUP,
  PublicApiBadRequestError,
  PublicApiCredentialsError,
  PublicApiError,
  PublicApiNotFoundError,
  PublicApiRateLimitError,
  PublicApiResponseError,
  PublicApiServerError,
  PublicApiUnreachableError,
  type ActionOptions,
  type JobState,
  type JobStatus,
  type MessageItem,
  type MessagesCommand,
  type Pause,
  type PublicApiAction,
  type PublicApiClient,
  type PublicApiClientOptions,
  type SdesCommand,
  type StructuredMessage,
  type TtrCommand,
} from './public-api.js';
