/**
 * The one place the console talks HTTP. Every call goes through `request`, so errors always
 * arrive as an ApiError carrying the server's `{error:{code,message}}` (or a network failure),
 * and screens can show the exact reason instead of a blank.
 */
import type {
  Account,
  AccountStats,
  BotStats,
  ConformanceReport,
  ConversationPage,
  StatsWindow,
  AgentUser,
  AppInstallation,
  AppWithSecret,
  Audience,
  BotScope,
  Bot,
  BotInput,
  BotStatus,
  Conversation,
  ConversationType,
  ConversationWithEvents,
  ErrorCodeInfo,
  Exchange,
  FunctionRegistration,
  QueuedConversation,
  RotatedApp,
  Sdes,
  Skill,
  TestConnectionResult,
  User,
  VendorCredentials,
  Visitor,
  Me,
  Operator,
  Role,
  ApiToken,
  IssuedApiToken,
  AlertDelivery,
  AlertDestination,
  AlertFormat,
  AlertRule,
  AlertRuleInput,
  AlertTestResult,
} from './types';

/** The scope the console installs apps with: a Custom Endpoint bot's (typed as the server's, so they cannot differ). */
export const BOT_SCOPE: BotScope = 'thirdpartybots.customendpoint.bot';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError)
    return error.status ? `${error.message} (${error.code}, HTTP ${error.status})` : error.message;
  return error instanceof Error ? error.message : String(error);
}

interface RequestOptions {
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Outlives the page (sent while it unloads). */
  keepalive?: boolean;
  /** Told of a 401 before it is thrown. */
  unauthorized?: () => void;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  // The header says the console sent it: another origin's page cannot add it, so the server takes
  // writes signed in by the operator's session cookie only with it (CSRF).
  const headers: Record<string, string> = { accept: 'application/json', 'x-botbridge-console': '1' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      keepalive: options.keepalive,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The server could not be reached. Check that botbridge is running.');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    if (response.status === 401) options.unauthorized?.();
    const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      err?.code ?? `http-${response.status}`,
      err?.message ?? (text.slice(0, 200) || response.statusText),
    );
  }
  return parsed as T;
}

const enc = encodeURIComponent;

/**
 * Query string for a stream URL: browsers cannot set headers on a WebSocket, hence `token=`
 * (none for OPERATOR_SESSION: the upgrade carries the cookie).
 */
function streamQuery(token: string, after?: number): string {
  const q = new URLSearchParams(token ? { token } : {});
  if (after !== undefined) q.set('after', String(after));
  return q.toString();
}

export function wsUrl(path: string): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${path}`;
}

// ---------------------------------------------------------------------------------------------
// Operator session: the admin token is sent once, to sign in; then an httpOnly cookie the page
// cannot read signs in every admin request of this browser, in every tab.

/** The `token` admin pages pass when the operator's session cookie signs their requests in: no bearer. */
export const OPERATOR_SESSION = '';

/**
 * Dispatched on the window when a request the session cookie signed in is refused 401: the
 * session ended (signed out in another tab, expired, the admin token changed), and the session
 * provider signs the console out, whichever page made the request.
 */
export const OPERATOR_SESSION_ENDED = 'botbridge:operator-session-ended';
const operatorSessionEnded = () => window.dispatchEvent(new Event(OPERATOR_SESSION_ENDED));

/** Epoch milliseconds: `expiresAt` moves on with each use, up to `endsAt`. */
export interface OperatorSessionTimes {
  signedInAt: number;
  expiresAt: number;
  endsAt: number;
}

export const operatorSession = {
  /** 401 when this browser is not signed in. */
  current: () => request<OperatorSessionTimes>('GET', '/admin/v1/session'),
  signIn: (adminToken: string) =>
    request<OperatorSessionTimes>('POST', '/admin/v1/session', { body: { token: adminToken } }),
  /** A named operator's sign-in: 401 invalid-credentials, 429 past the guessing limit. */
  signInAs: (login: string, password: string) =>
    request<OperatorSessionTimes>('POST', '/admin/v1/session', { body: { login, password } }),
  signOut: () => request<void>('DELETE', '/admin/v1/session'),
};

// ---------------------------------------------------------------------------------------------
// Admin (bearer = admin token, or OPERATOR_SESSION)

export function adminApi(token: string) {
  const base = '/admin/v1';
  const acc = (accountId: string) => `${base}/accounts/${enc(accountId)}`;
  const bot = (accountId: string, id: string) => `${acc(accountId)}/bots/${enc(id)}`;
  const unauthorized = token === OPERATOR_SESSION ? operatorSessionEnded : undefined;
  const call = <T>(method: string, path: string, body?: unknown, signal?: AbortSignal) =>
    request<T>(method, path, { token, body, signal, unauthorized });
  return {
    accounts: () => call<{ accounts: Account[] }>('GET', `${base}/accounts`).then((r) => r.accounts),
    createAccount: (accountId: string) => call<Account>('POST', `${base}/accounts`, { accountId }),
    skills: (accountId: string) => call<{ skills: Skill[] }>('GET', `${acc(accountId)}/skills`).then((r) => r.skills),
    createSkill: (accountId: string, name: string) => call<Skill>('POST', `${acc(accountId)}/skills`, { name }),
    users: (accountId: string) => call<{ users: User[] }>('GET', `${acc(accountId)}/users`).then((r) => r.users),
    createAgent: (
      accountId: string,
      agent: { loginName: string; password: string; skills: string[]; maxConversations?: number },
    ) => call<Pick<User, 'id' | 'loginName'>>('POST', `${acc(accountId)}/users`, { ...agent, userType: 'HUMAN' }),
    updateAgent: (
      accountId: string,
      id: string,
      change: { skills?: string[]; maxConversations?: number | null; password?: string },
    ) => call<User>('PATCH', `${acc(accountId)}/users/${enc(id)}`, change),
    /** Each with the bots that refer to it. */
    apps: (accountId: string) => call<{ apps: AppInstallation[] }>('GET', `${acc(accountId)}/apps`).then((r) => r.apps),
    /** The answer carries the client secret: the only time it is shown. */
    installApp: (accountId: string, app: { name: string; scope: BotScope }) =>
      call<AppWithSecret>('POST', `${acc(accountId)}/apps`, app),
    /** The new secret (shown only here), and the app's bots as they tested after their cached tokens were dropped. */
    rotateAppSecret: (accountId: string, clientId: string) =>
      call<RotatedApp>('POST', `${acc(accountId)}/apps/${enc(clientId)}/secret`),
    /** Refused (409 app-in-use) while bots refer to the app. */
    removeApp: (accountId: string, clientId: string) => call<void>('DELETE', `${acc(accountId)}/apps/${enc(clientId)}`),
    /** Registered functions (INVOKE_FUNCTION targets), offered as the escalation error hook. */
    functions: (accountId: string) =>
      call<{ functions: FunctionRegistration[] }>('GET', `${acc(accountId)}/functions`).then((r) => r.functions),
    bots: (accountId: string, signal?: AbortSignal) =>
      call<{ bots: Bot[] }>('GET', `${acc(accountId)}/bots`, undefined, signal).then((r) => r.bots),
    bot: (accountId: string, id: string) => call<Bot>('GET', bot(accountId, id)),
    createBot: (accountId: string, input: BotInput) =>
      call<Pick<Bot, 'id' | 'status'>>('POST', `${acc(accountId)}/bots`, input),
    updateBot: (accountId: string, id: string, patch: Partial<BotInput>) =>
      call<Bot>('PATCH', bot(accountId, id), patch),
    deleteBot: (accountId: string, id: string) => call<unknown>('DELETE', bot(accountId, id)),
    /** The vendor's environments for a vendor block not saved yet (it names an app; no secret). */
    environmentsFor: (accountId: string, vendor: Omit<VendorCredentials, 'environment'>, signal?: AbortSignal) =>
      call<{ environments: string[] }>('POST', `${acc(accountId)}/vendor/environments`, { vendor }, signal).then(
        (r) => r.environments,
      ),
    environmentsOf: (accountId: string, id: string, signal?: AbortSignal) =>
      call<{ environments: string[] }>('GET', `${bot(accountId, id)}/environments`, undefined, signal).then(
        (r) => r.environments,
      ),
    testConnectionFor: (accountId: string, vendor: VendorCredentials) =>
      call<TestConnectionResult>('POST', `${acc(accountId)}/vendor/test-connection`, { vendor }),
    testConnectionOf: (accountId: string, id: string) =>
      call<TestConnectionResult>('POST', `${bot(accountId, id)}/test-connection`),
    start: (accountId: string, id: string) => call<{ status: BotStatus }>('POST', `${bot(accountId, id)}/start`),
    stop: (accountId: string, id: string) => call<{ status: BotStatus }>('POST', `${bot(accountId, id)}/stop`),
    createTestConversation: (accountId: string, id: string) =>
      call<{ conversationId: string; consumerToken: string; keepSeconds: number }>(
        'POST',
        `${bot(accountId, id)}/test-conversations`,
      ),
    keepTestConversation: (accountId: string, id: string, conversationId: string) =>
      call<void>('POST', `${bot(accountId, id)}/test-conversations/${enc(conversationId)}/keep`),
    /** `leaving`: sent as the page unloads, so the request outlives it. */
    endTestConversation: (accountId: string, id: string, conversationId: string, leaving = false) =>
      request<void>('DELETE', `${bot(accountId, id)}/test-conversations/${enc(conversationId)}`, {
        token,
        keepalive: leaving,
        unauthorized,
      }),
    /** The conformance check of the bot's service (it calls the service: seconds, not milliseconds). */
    conformance: (accountId: string, id: string) =>
      call<ConformanceReport>('POST', `${bot(accountId, id)}/conformance`),
    botStats: (accountId: string, id: string, window: StatsWindow) =>
      call<BotStats>('GET', `${bot(accountId, id)}/stats?window=${window}`),
    accountStats: (accountId: string, window: StatsWindow) =>
      call<AccountStats>('GET', `${acc(accountId)}/bot-stats?window=${window}`),
    logs: (accountId: string, id: string, conversationId: string, signal?: AbortSignal) =>
      call<{ exchanges: Exchange[] }>(
        'GET',
        `${bot(accountId, id)}/logs?conversationId=${enc(conversationId)}`,
        undefined,
        signal,
      ).then((r) => r.exchanges),
    errorCodes: () => call<{ codes: Record<string, ErrorCodeInfo> }>('GET', `${base}/error-codes`).then((r) => r.codes),
    /** Who the caller is and their role per account: what the console shows or hides follows it. */
    me: () => call<Me>('GET', `${base}/me`),
    /** Every operator of the installation (super-admins). */
    operators: () => call<{ operators: Operator[] }>('GET', `${base}/operators`).then((r) => r.operators),
    createOperator: (operator: { login: string; name?: string; password?: string; superAdmin?: boolean }) =>
      call<Operator>('POST', `${base}/operators`, operator),
    removeOperator: (id: string) => call<void>('DELETE', `${base}/operators/${enc(id)}`),
    /** The operators with a role on the account (its owners). */
    accountOperators: (accountId: string) =>
      call<{ operators: Operator[] }>('GET', `${acc(accountId)}/operators`).then((r) => r.operators),
    /** Gives the operator signing in as `login` the role, replacing the one they had. */
    setOperatorRole: (accountId: string, login: string, role: Role) =>
      call<Operator>('POST', `${acc(accountId)}/operators`, { login, role }),
    removeOperatorRole: (accountId: string, id: string) =>
      call<void>('DELETE', `${acc(accountId)}/operators/${enc(id)}`),
    apiTokens: (accountId: string) =>
      call<{ tokens: ApiToken[] }>('GET', `${acc(accountId)}/api-tokens`).then((r) => r.tokens),
    /** The answer carries the token: the only time it is shown. */
    createApiToken: (accountId: string, token: { name: string; role: Role }) =>
      call<IssuedApiToken>('POST', `${acc(accountId)}/api-tokens`, token),
    revokeApiToken: (accountId: string, id: string) => call<void>('DELETE', `${acc(accountId)}/api-tokens/${enc(id)}`),
    alertDestinations: (accountId: string) => call<AlertDestination[]>('GET', `${acc(accountId)}/alerts/destinations`),
    addAlertDestination: (accountId: string, destination: { name: string; url: string; format: AlertFormat }) =>
      call<AlertDestination>('POST', `${acc(accountId)}/alerts/destinations`, destination),
    removeAlertDestination: (accountId: string, id: string) =>
      call<void>('DELETE', `${acc(accountId)}/alerts/destinations/${enc(id)}`),
    /** Sends a test alert now: how it went. */
    testAlertDestination: (accountId: string, id: string) =>
      call<AlertTestResult>('POST', `${acc(accountId)}/alerts/destinations/${enc(id)}/test`),
    alertRules: (accountId: string) => call<AlertRule[]>('GET', `${acc(accountId)}/alerts/rules`),
    addAlertRule: (accountId: string, rule: AlertRuleInput) =>
      call<AlertRule>('POST', `${acc(accountId)}/alerts/rules`, rule),
    removeAlertRule: (accountId: string, id: string) =>
      call<void>('DELETE', `${acc(accountId)}/alerts/rules/${enc(id)}`),
    alertEvents: (accountId: string, limit = 20) =>
      call<AlertDelivery[]>('GET', `${acc(accountId)}/alerts/events?limit=${limit}`),
    conversation: (accountId: string, id: string) =>
      call<ConversationWithEvents>('GET', `${acc(accountId)}/conversations/${enc(id)}`),
    /** A page of the account's conversations, newest first (the Conversations page). */
    conversations: (accountId: string, query: ConversationQuery, signal?: AbortSignal) =>
      call<ConversationPage>('GET', `${acc(accountId)}/conversations?${searchParams(query)}`, undefined, signal),
    /** The exchanges of every bot that took part in the conversation, newest first. */
    conversationExchanges: (accountId: string, id: string) =>
      call<{ exchanges: Exchange[] }>('GET', `${acc(accountId)}/conversations/${enc(id)}/exchanges`).then(
        (r) => r.exchanges,
      ),
    conversationStream: (accountId: string, id: string, after?: number) =>
      wsUrl(`${acc(accountId)}/conversations/${enc(id)}/stream?${streamQuery(token, after)}`),
  };
}
export type AdminApi = ReturnType<typeof adminApi>;

/** The Conversations page's filters, as GET …/conversations takes them. */
export interface ConversationQuery {
  bot?: string;
  skill?: string;
  status?: 'OPEN' | 'CLOSED';
  from?: number;
  to?: number;
  words?: string;
  cursor?: string;
  limit?: number;
}

/** A query string of the values that are set. */
function searchParams(values: object): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values))
    if (value !== undefined && value !== '') query.set(key, String(value));
  return query.toString();
}

// ---------------------------------------------------------------------------------------------
// Consumer (bearer = the conversation's consumer token)

export type ConsumerMessage = { text: string } | { content: unknown };

export function consumerApi(accountId: string) {
  const base = `/api/account/${enc(accountId)}/consumer/conversations`;
  return {
    /** Whether the account takes conversations on the skill (not-found names which of the two is unknown). */
    skill: (name: string) =>
      request<{ name: string }>('GET', `/api/account/${enc(accountId)}/consumer/skills/${enc(name)}`),
    open: (body: { skill: string; type?: ConversationType; visitor?: Visitor; sdes?: Sdes }) =>
      request<{ conversationId: string; consumerToken: string }>('POST', base, { body }),
    status: (id: string, token: string) =>
      request<Pick<Conversation, 'conversationId' | 'type' | 'status' | 'lastSequence'>>('GET', `${base}/${enc(id)}`, {
        token,
      }),
    send: (id: string, token: string, message: ConsumerMessage) =>
      request<{ sequence: number }>('POST', `${base}/${enc(id)}/messages`, { token, body: message }),
    typing: (id: string, token: string, typing: boolean) =>
      request<void>('POST', `${base}/${enc(id)}/typing`, { token, body: { typing } }),
    close: (id: string, token: string) =>
      request<Pick<Conversation, 'conversationId' | 'status'>>('POST', `${base}/${enc(id)}/close`, { token }),
    stream: (id: string, token: string, after?: number) =>
      wsUrl(`${base}/${enc(id)}/stream?${streamQuery(token, after)}`),
  };
}
export type ConsumerApi = ReturnType<typeof consumerApi>;

// ---------------------------------------------------------------------------------------------
// Agent (bearer = agent session token)

export function agentLogin(accountId: string, username: string, password: string) {
  return request<{ token: string; user: AgentUser }>('POST', `/api/account/${enc(accountId)}/agent/login`, {
    body: { username, password },
  });
}

export function agentApi(accountId: string, token: string) {
  const base = `/api/account/${enc(accountId)}/agent`;
  const conv = (id: string) => `${base}/conversations/${enc(id)}`;
  const call = <T>(method: string, path: string, body?: unknown) => request<T>(method, path, { token, body });
  return {
    me: () => call<{ user: AgentUser; conversations: Conversation[] }>('GET', `${base}/me`),
    queue: () => call<{ conversations: QueuedConversation[] }>('GET', `${base}/queue`).then((r) => r.conversations),
    accept: (id: string) => call<Conversation>('POST', `${conv(id)}/accept`),
    conversation: (id: string) => call<ConversationWithEvents>('GET', conv(id)),
    send: (id: string, text: string, audience: Audience = 'ALL') =>
      call<{ sequence: number }>('POST', `${conv(id)}/messages`, { text, audience }),
    typing: (id: string, typing: boolean) => call<void>('POST', `${conv(id)}/typing`, { typing }),
    /** To a skill, or to an agent of it (who gets it if available, else it waits in the skill's queue). */
    transfer: (id: string, skill: string, agentId?: string) =>
      call<Conversation>('POST', `${conv(id)}/transfer`, agentId ? { skill, agentId } : { skill }),
    transferTargets: () => call<TransferTargets>('GET', `${base}/transfer-targets`),
    close: (id: string) => call<Conversation>('POST', `${conv(id)}/close`),
    stream: () => wsUrl(`${base}/stream?${streamQuery(token)}`),
  };
}
export type AgentApi = ReturnType<typeof agentApi>;

/** Where an agent can transfer a conversation (GET …/agent/transfer-targets). */
export interface TransferTargets {
  skills: Skill[];
  agents: Array<{ id: string; loginName: string; skills: Skill[]; available: boolean }>;
}
