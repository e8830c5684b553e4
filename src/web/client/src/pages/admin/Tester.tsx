import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, adminApi, consumerApi, errorText, type AdminApi } from '../../lib/api';
import { Link, useRouter } from '../../lib/router';
import { useConversationLog } from '../../lib/conversation-log';
import { useStream, type StreamSource } from '../../lib/stream';
import type { Bot, Conversation, ErrorCodeInfo, Exchange, StreamMessage } from '../../lib/types';
import { Transcript } from '../../components/Transcript';
import { Composer } from '../../components/Composer';
import { StatusBadge } from '../../components/StatusBadge';
import { Empty, ErrorState, Loading, Notice } from '../../components/States';
import { ExchangeLog } from './ExchangeLog';
import { conversationHref } from './ConversationsPage';

interface Props {
  token: string;
  accountId: string;
  botId: string | null;
}

/**
 * The conversation tester: pick a bot, chat as a consumer, and beside the chat read what each
 * exchange with the bot's service was: the raw request and response, Processed or the error
 * codes with what they mean and how to fix them.
 */
export function Tester({ token, accountId, botId }: Props) {
  const api = useMemo(() => adminApi(token), [token]);
  const { navigate } = useRouter();
  const [bots, setBots] = useState<Bot[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const loadBots = useCallback(async () => {
    try {
      setBots(await api.bots(accountId));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [api, accountId]);
  useEffect(() => {
    void loadBots();
    // Status can change while testing (start, vendor interruption): keep it current.
    const timer = window.setInterval(() => void loadBots(), 5_000);
    return () => window.clearInterval(timer);
  }, [loadBots]);

  const acc = encodeURIComponent(accountId);
  const pick = (id: string) =>
    navigate(`/admin/accounts/${acc}/tester${id ? `?bot=${encodeURIComponent(id)}` : ''}`, { replace: true });
  const bot = bots?.find((b) => b.id === botId) ?? null;

  return (
    <div className="page tester-page">
      <div className="page-head">
        <div>
          <h1>Conversation tester</h1>
          <p className="muted">Chat with a bot as a consumer would, and see every exchange with its service.</p>
        </div>
        {bots && bots.length > 0 && (
          <div className="tester-picker">
            <label className="field field-inline">
              <span>Bot</span>
              <select value={botId ?? ''} onChange={(e) => pick(e.target.value)}>
                <option value="">Choose a bot…</option>
                {bots.map((b) => (
                  <option key={b.id} value={b.id}>
                    {b.name} ({b.status.toLowerCase().replace(/_/g, ' ')})
                  </option>
                ))}
              </select>
            </label>
            {bot && <StatusBadge status={bot.status} />}
          </div>
        )}
      </div>
      {!bots && !error && <Loading>Loading bots…</Loading>}
      {!bots && error !== null && <ErrorState error={error} title="Could not load the bots" onRetry={loadBots} />}
      {bots && bots.length === 0 && (
        <Empty
          title="No bots to test yet"
          action={
            <Link className="btn btn-primary" to={`/admin/accounts/${acc}/bots/new`}>
              Create a bot
            </Link>
          }
        >
          Create a Custom Endpoint bot first, then come back to chat with it.
        </Empty>
      )}
      {bots && bots.length > 0 && !botId && (
        <Empty title="Choose a bot to test">
          Pick one of the account’s bots above; a test conversation starts right away.
        </Empty>
      )}
      {bots && botId && !bot && (
        <ErrorState error={new Error(`There is no bot “${botId}” in account ${accountId}.`)} title="Unknown bot" />
      )}
      {bot && <TestSession key={bot.id} api={api} accountId={accountId} bot={bot} onBotChanged={loadBots} />}
    </div>
  );
}

interface Session {
  conversationId: string;
  consumerToken: string;
  /** Renew within this long, or the server closes it (the tester left). */
  keepSeconds: number;
}

type Phase = 'idle' | 'starting' | 'open' | 'closed';

function TestSession({
  api,
  accountId,
  bot,
  onBotChanged,
}: {
  api: AdminApi;
  accountId: string;
  bot: Bot;
  onBotChanged(): void;
}) {
  const consumer = useMemo(() => consumerApi(accountId), [accountId]);
  const [session, setSession] = useState<Session | null>(null);
  const [phase, setPhase] = useState<Phase>('idle');
  /** The test conversation as the stream last described it: who holds it and on which skill. */
  const [routed, setRouted] = useState<Conversation | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const [sendError, setSendError] = useState<string | null>(null);
  const [showPrivate, setShowPrivate] = useState(false);
  const [exchanges, setExchanges] = useState<Exchange[] | null>(null);
  const [logsError, setLogsError] = useState<unknown>(null);
  const [codes, setCodes] = useState<Record<string, ErrorCodeInfo>>({});
  const log = useConversationLog(session?.conversationId ?? null);
  /**
   * The conversation whose stream messages count, set the moment it changes (not at render): a
   * late message of the conversation a restart ended must not end the new one.
   */
  const current = useRef<Session | null>(null);

  useEffect(() => {
    api.errorCodes().then(setCodes, () => undefined);
  }, [api]);

  const end = useCallback(
    (s: Session, leaving = false) =>
      api.endTestConversation(accountId, bot.id, s.conversationId, leaving).catch(() => undefined),
    [api, accountId, bot.id],
  );

  const start = useCallback(async () => {
    setPhase('starting');
    setStartError(null);
    setSendError(null);
    setExchanges(null);
    const previous = current.current;
    current.current = null;
    // Ended before the next one starts, so it stops counting against the bot's open conversations.
    if (previous) await end(previous);
    try {
      const created = await api.createTestConversation(accountId, bot.id);
      log.reset();
      current.current = created;
      setSession(created);
      setPhase('open');
    } catch (e) {
      setStartError(e);
      setPhase('idle');
    }
  }, [api, end, accountId, bot.id, log.reset]);

  const offline = bot.status === 'OFFLINE';
  // A test conversation starts by itself once the bot can take it: when the bot goes on line
  // (`start` stays the same for a bot), not again after that, as a restart is the operator's call.
  useEffect(() => {
    if (!offline && !current.current) void start();
  }, [offline, start]);
  // Leaving the tester (switching bots, another page, closing the tab) ends the test
  // conversation. A tab that dies without a word stops renewing it, and the server closes it.
  useEffect(() => {
    const leave = () => {
      const s = current.current;
      current.current = null;
      if (s) void end(s, true);
    };
    window.addEventListener('pagehide', leave);
    return () => {
      window.removeEventListener('pagehide', leave);
      leave();
    };
  }, [end]);
  useEffect(() => {
    if (!session || phase === 'closed') return;
    const renew = () =>
      api.keepTestConversation(accountId, bot.id, session.conversationId).catch((e) => {
        if (e instanceof ApiError && e.status === 404) setPhase('closed');
      });
    const timer = window.setInterval(renew, (session.keepSeconds * 1000) / 3);
    return () => window.clearInterval(timer);
  }, [api, accountId, bot.id, session, phase]);

  const source: StreamSource | null = useMemo(
    () =>
      session
        ? {
            key: session.conversationId,
            url: (after) => api.conversationStream(accountId, session.conversationId, after),
          }
        : null,
    [api, accountId, session],
  );
  const refreshLogs = useCallback(async () => {
    const s = current.current;
    if (!s) return;
    try {
      setExchanges(await api.logs(accountId, bot.id, s.conversationId));
      setLogsError(null);
    } catch (e) {
      setLogsError(e);
    }
  }, [api, accountId, bot.id]);

  const logsTimer = useRef<number | undefined>(undefined);
  const onMessage = (m: StreamMessage) => {
    const live = current.current?.conversationId;
    if (m.kind !== 'ready' && (m.kind === 'conversation' ? m.conversation.conversationId : m.conversationId) !== live)
      return;
    log.apply(m);
    if (m.kind === 'event' && m.event.type === 'CLOSE') setPhase('closed');
    if (m.kind === 'conversation') {
      setRouted(m.conversation);
      if (m.conversation.status === 'CLOSED') setPhase('closed');
    }
    // Whatever the bot did, its exchange log has news: fetch it (once per burst).
    if (m.kind === 'event' || m.kind === 'ready') {
      window.clearTimeout(logsTimer.current);
      logsTimer.current = window.setTimeout(() => void refreshLogs(), 200);
    }
  };
  const streamStatus = useStream(source, onMessage);
  // A bot that let go of the conversation answers no more: say so instead of going quiet. From where
  // the conversation is now, not where it once went, as an agent can send it back to the bot.
  const holder = routed?.conversationId === session?.conversationId ? routed : null;
  const handedTo = phase === 'open' && holder && holder.assignee?.botId !== bot.id ? holderName(holder) : null;
  // Exchanges can end without a conversation event (a failure that escalation could not act on):
  // poll as well, gently.
  useEffect(() => {
    if (!session) return;
    const timer = window.setInterval(() => void refreshLogs(), 2_000);
    return () => {
      window.clearInterval(timer);
      window.clearTimeout(logsTimer.current);
    };
  }, [session, refreshLogs]);

  const send = async (text: string) => {
    if (!session) return;
    setSendError(null);
    try {
      await consumer.send(session.conversationId, session.consumerToken, { text });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setPhase('closed');
      setSendError(`Not sent: ${errorText(e)}`);
      throw e;
    }
  };

  const startBot = async () => {
    try {
      await api.start(accountId, bot.id);
    } catch (e) {
      setStartError(e);
    }
    onBotChanged();
  };

  return (
    <div className="tester">
      <section className="card tester-chat" aria-label="Test chat">
        <header className="tester-chat-head">
          <div>
            <h2>Chat</h2>
            <p className="muted small">
              {session ? (
                <>
                  Conversation <code>{session.conversationId.slice(0, 8)}</code> ·{' '}
                  {streamStatus === 'live' ? 'live' : streamStatus}
                </>
              ) : (
                'No test conversation yet'
              )}
            </p>
          </div>
          <label className="toggle">
            <input type="checkbox" checked={showPrivate} onChange={(e) => setShowPrivate(e.target.checked)} />
            <span>Show private texts</span>
          </label>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void start()}
            disabled={phase === 'starting' || offline}
          >
            {phase === 'starting' ? 'Starting…' : 'Restart conversation'}
          </button>
        </header>
        {offline && (
          <div className="tester-offline">
            <Notice tone="warning">
              This bot is offline, so it takes no conversations.{' '}
              <button type="button" className="btn btn-small btn-primary" onClick={() => void startBot()}>
                Start the bot
              </button>
            </Notice>
          </div>
        )}
        {startError !== null && (
          <ErrorState error={startError} title="Could not start a test conversation" onRetry={() => void start()} />
        )}
        <div className="tester-transcript">
          {phase === 'starting' && !session && <Loading>Starting a test conversation…</Loading>}
          {session && (
            <Transcript
              label="Test conversation"
              events={log.events}
              viewpoint="consumer"
              showPrivate={showPrivate}
              showSystem
              names={{ [bot.id]: bot.name }}
              typing={log.typing}
              onPublishText={phase === 'open' ? (text) => void send(text).catch(() => undefined) : undefined}
              emptyText={log.ready ? 'Say something to the bot — try “hi”.' : 'Connecting…'}
            />
          )}
        </div>
        <footer className="tester-footer">
          {sendError && <Notice tone="error">{sendError}</Notice>}
          {handedTo && (
            <Notice tone="warning">
              The bot transferred this conversation to {handedTo}, so it no longer answers here. Restart to test the bot
              again.
            </Notice>
          )}
          {phase === 'closed' ? (
            <div className="chat-ended">
              <p>This test conversation has ended.</p>
              <button type="button" className="btn btn-primary" onClick={() => void start()}>
                Restart conversation
              </button>
            </div>
          ) : (
            <Composer
              label="Message to the bot"
              onSend={send}
              disabled={phase !== 'open'}
              placeholder="Message the bot…"
            />
          )}
        </footer>
      </section>
      <ExchangeLog
        exchanges={exchanges}
        error={logsError}
        codes={codes}
        hasConversation={Boolean(session)}
        conversationHref={(conversationId) => conversationHref(accountId, conversationId)}
      />
    </div>
  );
}

/** Who holds a conversation the tested bot let go of, in the notice's words. */
function holderName(conversation: Conversation): string {
  if (conversation.assignee?.botId) return 'another bot';
  return conversation.assignee ? 'an agent' : `the “${conversation.skill.name}” queue`;
}
