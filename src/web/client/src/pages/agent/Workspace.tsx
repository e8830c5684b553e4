import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, agentApi, errorText } from '../../lib/api';
import type { Session } from '../../lib/session';
import { useSession } from '../../lib/session';
import { useStream, type StreamSource } from '../../lib/stream';
import type { Conversation, QueuedConversation, StreamMessage } from '../../lib/types';
import { Logo } from '../../components/Logo';
import { Notice } from '../../components/States';
import { QueuePanel } from './QueuePanel';
import { ConversationPanel } from './ConversationPanel';
import '../../styles/agent.css';

type AgentSession = Extract<Session, { kind: 'agent' }>;

export interface QueueSnapshot {
  items: QueuedConversation[];
  /** When the server counted `waitingSeconds`: the live clock adds the time since. */
  fetchedAt: number;
}

/** What the workspace said about the agent's last action, and the conversations on screen then. */
interface Said {
  text: string;
  seen: ReadonlySet<string>;
}

/**
 * The agent's day: the queue of their skills on the left, the conversation being worked in the
 * middle, who the consumer is on the right. Everything moves with the agent stream; the queue
 * and held list are refetched whenever it says a conversation changed.
 */
export function Workspace({ session }: { session: AgentSession }) {
  const api = useMemo(() => agentApi(session.accountId, session.token), [session.accountId, session.token]);
  const { signOut } = useSession();
  const [queue, setQueue] = useState<QueueSnapshot | null>(null);
  const [held, setHeld] = useState<Conversation[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [unread, setUnread] = useState<Set<string>>(new Set());
  const [said, setSaid] = useState<Said | null>(null);
  /** The open conversation panel takes the stream messages about its conversation. */
  const panelInbox = useRef<((m: StreamMessage) => void) | null>(null);

  const refresh = useCallback(async () => {
    try {
      const [items, me] = await Promise.all([api.queue(), api.me()]);
      setQueue({ items, fetchedAt: Date.now() });
      setHeld(me.conversations);
      setLoadError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) signOut('Your agent session has ended. Sign in again.');
      else setLoadError(e);
    }
  }, [api, signOut]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Several `conversation` messages often come together (transfer = leave one queue, join
  // another): one refetch for the burst is enough.
  const refreshTimer = useRef<number | undefined>(undefined);
  const refreshSoon = useCallback(() => {
    window.clearTimeout(refreshTimer.current);
    refreshTimer.current = window.setTimeout(() => void refresh(), 150);
  }, [refresh]);
  useEffect(() => () => window.clearTimeout(refreshTimer.current), []);

  const source: StreamSource = useMemo(
    () => ({ key: `${session.accountId}/${session.token}`, url: () => api.stream() }),
    [api, session.accountId, session.token],
  );
  const onMessage = (m: StreamMessage) => {
    if (m.kind === 'ready' || m.kind === 'conversation') refreshSoon();
    if (m.kind === 'ready') return;
    const id = m.kind === 'conversation' ? m.conversation.conversationId : m.conversationId;
    if (id === selected) panelInbox.current?.(m);
    else if (m.kind === 'event' && m.event.originator.role === 'CONSUMER') setUnread((u) => new Set(u).add(id));
  };
  const streamStatus = useStream(source, onMessage);

  const onScreen = useMemo(
    () => [...(queue?.items ?? []), ...(held ?? [])].map((c) => c.conversationId),
    [queue, held],
  );
  // News of the last action ("transferred to …") is old once another conversation arrives: the
  // notice lasts while the queue and held list have nothing it has not seen.
  const notice = said && onScreen.every((id) => said.seen.has(id)) ? said.text : null;
  const say = (text: string, about?: string) =>
    setSaid({ text, seen: new Set(about ? [...onScreen, about] : onScreen) });

  const select = (id: string | null) => {
    setSelected(id);
    setSaid(null);
    if (id) setUnread((u) => (u.has(id) ? new Set([...u].filter((x) => x !== id)) : u));
  };

  const accept = async (id: string) => {
    setSaid(null);
    try {
      await api.accept(id);
      select(id);
      await refresh();
    } catch (e) {
      say(`Could not accept: ${errorText(e)}`);
      await refresh();
    }
  };

  return (
    <div className={`workspace-shell${selected ? ' has-selection' : ''}`}>
      <a className="skip-link" href="#ws-main">
        Skip to conversation
      </a>
      <header className="topbar">
        <Logo small />
        <span className="topbar-title">Agent workspace</span>
        <span className="topbar-spacer" />
        <span className={`live-pill live-${streamStatus}`} role="status">
          <span className="dot" aria-hidden="true" />
          {streamStatus === 'live' ? 'Live' : streamStatus === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
        </span>
        <span className="topbar-who">
          {session.user.loginName} · {session.accountId}
        </span>
        <button type="button" className="btn btn-ghost" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      {notice && (
        <div className="ws-notice">
          <Notice tone="info">{notice}</Notice>
        </div>
      )}
      <div className="workspace">
        <QueuePanel
          user={session.user}
          queue={queue}
          held={held}
          error={loadError}
          onRetry={refresh}
          selected={selected}
          unread={unread}
          onSelect={select}
          onAccept={accept}
        />
        <ConversationPanel
          key={selected ?? 'none'}
          api={api}
          selfUserId={session.user.id}
          conversationId={selected}
          mine={Boolean(selected && held?.some((c) => c.conversationId === selected))}
          inbox={panelInbox}
          onAccept={accept}
          onBack={() => select(null)}
          onLeft={(message) => {
            // Seen already: the conversation that left may come back to this agent's queue.
            const left = selected ?? undefined;
            select(null);
            say(message, left);
            void refresh();
          }}
          onChanged={refreshSoon}
        />
      </div>
    </div>
  );
}
