/**
 * What the console reads from the server and sends to it, in the server's own words: the shapes
 * come from the server's types-only modules (`import type`, erased at build, so no server code
 * enters the bundle), and the UI cannot drift from what the routes serve. Where the console's view
 * differs from the server's type, it is derived here rather than copied.
 */
import type { User } from '../../../../platform/types.js';
export type { User } from '../../../../platform/types.js';
import type { BotSettings, BotStatus, BotView, TestConnectionResult } from '../../../../connector/types.js';
import type { CUSTOM_ENDPOINT_SCOPE } from '../../../../contract/tokens.js';
import type { AccountBotStats, StatsWindow } from '../../../../connector/bot-stats.js';
import type { Role } from '../../../../operators/permissions.js';
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

/**
 * A create or patch body as the bot editor builds it: every setting it shows (not the answer
 * limits, which keep the server's defaults), and `null` to clear an escalation field in a patch.
 * Its vendor block names an app installation and carries no secret: the bot refers to the app.
 */
export type BotInput = Omit<BotSettings, 'escalation' | 'limits'> & {
  escalation: { [K in keyof BotSettings['escalation']]?: BotSettings['escalation'][K] | null };
};

/** The scope of the app installations a Custom Endpoint bot refers to. */
export type BotScope = typeof CUSTOM_ENDPOINT_SCOPE;

/**
 * A bot as an app's listing names it (the bots that refer to the app). Derived from the bot's
 * view here: the route's own types (sentinel/admin-routes.ts, connector/connector.ts) sit in
 * modules that run, which the console's typecheck cannot compile.
 */
export type AppBot = Pick<BotView, 'id' | 'name'>;

/** A bot on a rotated app: its cached tokens dropped, then tested again (connector's RotatedAppBot). */
export type RotatedAppBot = AppBot & Pick<BotView, 'status'> & { test: TestConnectionResult };

/** An app installation as GET …/apps lists it: never its secret, with the bots that refer to it. */
export interface AppInstallation {
  client_id: string;
  name: string;
  scope: string;
  bots: AppBot[];
}

/** An app as installed or rotated: the answer carries its client secret, the only time it is shown. */
export type AppWithSecret = Omit<AppInstallation, 'bots'> & { client_secret: string };

/** A rotation's answer: the new secret, and each bot on the app tested again with its cached tokens dropped. */
export type RotatedApp = AppWithSecret & { bots: RotatedAppBot[] };

export type { Permission, Role } from '../../../../operators/permissions.js';

/**
 * Who the caller is (GET /admin/v1/me). Restated from the route's schema: operators.ts and
 * routes.ts run on the server (node:crypto, the store), which the console's typecheck cannot compile.
 */
export interface Me {
  kind: 'admin-token' | 'operator' | 'api-token';
  id?: string;
  login?: string;
  name?: string;
  superAdmin: boolean;
  /** Role per account id. */
  roles: Record<string, Role>;
}

export type { ApiToken, IssuedApiToken, Operator } from '../../../../operators/types.js';

// ---- alerts (src/alerts) ----

export type {
  AlertDelivery,
  AlertDestination,
  AlertFormat,
  AlertTestResult,
  RuleView as AlertRule,
} from '../../../../alerts/types.js';
export type { RuleInput as AlertRuleInput, RuleKind as AlertRuleKind } from '../../../../alerts/rules.js';
