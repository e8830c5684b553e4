/** The demo Custom Endpoint service: what the main app (and anyone embedding it) needs. */
export {
  demoBot,
  createDemoBotServer,
  createDemoBotService,
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
  laterReply,
  type AnswerOptions,
  type DemoConversationState,
  type Utterance,
} from './answers.js';
export { LaterReplies, type DemoBotPublicApi, type PublicApiLogin } from './later.js';
export { demoBotConfigFromEnv, type DemoBotConfig } from './config.js';
