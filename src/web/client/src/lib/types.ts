/**
 * What the console reads from the server and sends to it, in the server's own words: the shapes
 * come from the server's types-only modules (`import type`, erased at build, so no server code
 * enters the bundle), and the UI cannot drift from what the routes serve. Where the console's view
 * differs from the server's type, it is derived here rather than copied.
 */
import type { User } from '../../../../platform/types.js';
export type { User } from '../../../../platform/types.js';
import type { BotSettings, BotStatus, VendorCredentials } from '../../../../connector/types.js';
import type { AccountBotStats, StatsWindow } from '../../../../connector/bot-stats.js';
export type { BotStats, StatsWindow } from '../../../../connector/bot-stats.js';
export type { ConformanceCheck, ConformanceReport } from '../../../../connector/conformance.js';
export type { ConversationPage, FoundConversation } from '../../../../platform/conversation-search.js';

/** The account overview: every bot's totals and sparkline data, with its name and status. */
export interface AccountStats {
  window: StatsWindow;
  from: number;
  to: number;
  bucketMs: number;
  bots: Array<AccountBotStats & { name: string; status: BotStatus }>;
}

export type {
  Account,
  Audience,
  Conversation,
  ConversationEvent,
  ConversationType,
  ConversationWithEvents,
  FunctionRegistration,
  Originator,
  QueuedConversation,
  Sdes,
  Skill,
  StreamMessage,
  Ttr,
  TtrType,
  Visitor,
} from '../../../../platform/types.js';
export type {
  BotSettings,
  BotStatus,
  BotView as Bot,
  ErrorCodeInfo,
  Exchange,
  ExchangeOutcome,
  TestConnectionResult,
  VendorCredentials,
} from '../../../../connector/types.js';

/** The agent as login (id, name, skills) and /me (also maxConversations) show them. */
export type AgentUser = Pick<User, 'id' | 'loginName' | 'skills'> & Partial<Pick<User, 'maxConversations'>>;

/** The vendor block the console sends: the secret only when typed (a patch without one keeps the saved secret). */
export type VendorConfig = Omit<VendorCredentials, 'clientSecret'> & { clientSecret?: string };

/**
 * A create or patch body as the bot editor builds it: every setting it shows (not the answer
 * limits, which keep the server's defaults), the vendor as VendorConfig, and `null` to clear an
 * escalation field in a patch.
 */
export type BotInput = Omit<BotSettings, 'vendor' | 'escalation' | 'limits'> & {
  vendor: VendorConfig;
  escalation: { [K in keyof BotSettings['escalation']]?: BotSettings['escalation'][K] | null };
};
