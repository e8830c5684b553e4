/** The demo Custom Endpoint service: what the main app (and anyone embedding it) needs. */
export {
  demoBot,
  createDemoBotServer,
  DEMO_BOT_PREFIX,
  DEMO_BOT_ID,
  DEMO_BOT_API_VERSION,
  DEMO_BOT_VERSION,
  DEMO_BOT_ENVIRONMENTS,
  DEFAULT_IMAGE_URL,
  type DemoBotOptions,
} from './plugin.js';
export {
  answer,
  classify,
  DEMO_UTTERANCES,
  FILE_PLACEHOLDER,
  type AnswerOptions,
  type DemoConversationState,
  type Utterance,
} from './answers.js';
export {
  createAppTokenVerifier,
  CUSTOM_ENDPOINT_SCOPE,
  SENTINEL_ISSUER,
  type AppTokenVerdict,
  type AppTokenVerifierOptions,
} from './auth.js';
export { demoBotConfigFromEnv, type DemoBotConfig } from './config.js';
