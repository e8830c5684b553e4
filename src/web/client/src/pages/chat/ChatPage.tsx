import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, consumerApi, errorText } from '../../lib/api';
import { useConversationLog } from '../../lib/conversation-log';
import { useRouter } from '../../lib/router';
import { useStream, type StreamSource } from '../../lib/stream';
import type { StreamMessage } from '../../lib/types';
import { Transcript } from '../../components/Transcript';
import { Composer } from '../../components/Composer';
import { Field } from '../../components/Field';
import { Empty, Loading, Notice } from '../../components/States';
import { useAsync } from '../../lib/use-async';
import { endProblem, isOver, restoreProblem, sendProblem, topicProblem, type ChatProblem } from './chat-errors';
import '../../styles/chat.css';

interface Props {
  accountId: string;
  skill: string | null;
}

interface Stored {
  conversationId: string;
  consumerToken: string;
}

/**
 * The conversation survives a reload: its id and consumer token stay in localStorage, one per
 * account and skill, the way a site's chat window keeps its conversation across pages.
 */
const storageKey = (accountId: string, skill: string) => `botbridge.chat.${accountId}.${skill}`;

function loadStored(key: string): Stored | null {
  try {
    const value = JSON.parse(window.localStorage.getItem(key) ?? 'null') as Stored | null;
    return value?.conversationId && value.consumerToken ? value : null;
  } catch {
    return null;
  }
}

/** A stable visitor id per browser and a session id per tab, as a site's tag would send them. */
function visitorIds(): { sharkVisitorId: string; sharkSessionId: string } {
  const get = (storage: Storage, key: string) => {
    const kept = storage.getItem(key);
    if (kept) return kept;
    const made = crypto.randomUUID();
    storage.setItem(key, made);
    return made;
  };
  return {
    sharkVisitorId: get(window.localStorage, 'botbridge.visitor'),
    sharkSessionId: get(window.sessionStorage, 'botbridge.session-id'),
  };
}

type Phase =
  | { kind: 'checking' }
  | { kind: 'new' }
  | { kind: 'open' }
  | { kind: 'closed' }
  | { kind: 'error'; error: unknown };

export function ChatPage({ accountId, skill }: Props) {
  if (!skill) return <TopicForm accountId={accountId} />;
  return <Chat key={`${accountId}/${skill}`} accountId={accountId} skill={skill} />;
}

/**
 * A link without its topic (skill) asks for it. It does not list the account's skills: nothing
 * unauthenticated lists them, and some (an escalation queue, an internal team) are not meant for
 * visitors; a visitor who was given a topic can still type it.
 */
function TopicForm({ accountId }: { accountId: string }) {
  const { navigate } = useRouter();
  const [topic, setTopic] = useState('');
  const start = (event: FormEvent) => {
    event.preventDefault();
    const skill = topic.trim();
    if (skill) navigate(`/chat/${encodeURIComponent(accountId)}?skill=${encodeURIComponent(skill)}`);
  };
  return (
    <ChatFrame title="Chat">
      <div className="chat-body">
        <form className="state chat-topic" aria-label="Choose a topic" onSubmit={start}>
          <p className="state-title">What would you like to chat about?</p>
          <p className="state-body">
            This chat link does not say. Enter the topic you were given, or ask the site that sent you here for its chat
            link.
          </p>
          <Field label="Topic">
            {(control) => (
              <input {...control} value={topic} autoComplete="off" onChange={(e) => setTopic(e.target.value)} />
            )}
          </Field>
          <button type="submit" className="btn btn-primary" disabled={!topic.trim()}>
            Start chat
          </button>
        </form>
      </div>
    </ChatFrame>
  );
}

/** Something the visitor has to know before chatting, in their words; the API's own under Details. */
function Problem({ problem, error, onRetry }: { problem: ChatProblem; error: unknown; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{problem.title}</p>
      <p className="state-body">{problem.text}</p>
      {problem.retry && onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      )}
      {/* Whoever runs the site needs the exact reason (which of account and topic is unknown, say). */}
      <details className="chat-details">
        <summary>Details for the site’s owner</summary>
        <code>{errorText(error)}</code>
      </details>
    </div>
  );
}

function Chat({ accountId, skill }: { accountId: string; skill: string }) {
  const api = useMemo(() => consumerApi(accountId), [accountId]);
  const key = storageKey(accountId, skill);
  const [conversation, setConversation] = useState<Stored | null>(() => loadStored(key));
  const [phase, setPhase] = useState<Phase>(() => (conversation ? { kind: 'checking' } : { kind: 'new' }));
  const [sendError, setSendError] = useState<string | null>(null);
  const [pending, setPending] = useState<{ key: number; text: string; sequence?: number }[]>([]);
  const log = useConversationLog(conversation?.conversationId ?? null);
  const loadTarget = useCallback(() => api.skill(skill), [api, skill]);
  const target = useAsync(loadTarget);

  // After a reload, make sure the remembered conversation is still ours and still open.
  const check = useCallback(async () => {
    const stored = loadStored(key);
    if (!stored) return setPhase({ kind: 'new' });
    setPhase({ kind: 'checking' });
    try {
      const status = await api.status(stored.conversationId, stored.consumerToken);
      setPhase({ kind: status.status === 'CLOSED' ? 'closed' : 'open' });
    } catch (e) {
      if (e instanceof ApiError && [401, 403, 404].includes(e.status)) {
        // Expired token or a wiped server: start afresh rather than show an error forever.
        window.localStorage.removeItem(key);
        setConversation(null);
        setPhase({ kind: 'new' });
      } else setPhase({ kind: 'error', error: e });
    }
  }, [api, key]);
  // On arrival (`check` stays the same for a chat); later changes come from the stream.
  useEffect(() => {
    void check();
  }, [check]);

  const source: StreamSource | null = useMemo(
    () =>
      conversation && phase.kind !== 'checking' && phase.kind !== 'error'
        ? {
            key: conversation.conversationId,
            url: (after) => api.stream(conversation.conversationId, conversation.consumerToken, after),
          }
        : null,
    [api, conversation, phase.kind],
  );
  const onMessage = (m: StreamMessage) => {
    log.apply(m);
    if (m.kind === 'conversation' && m.conversation.status === 'CLOSED') setPhase({ kind: 'closed' });
    if (m.kind === 'event' && m.event.type === 'CLOSE') setPhase({ kind: 'closed' });
  };
  const streamStatus = useStream(source, onMessage);

  // A sent message shows at once, faded, until the stream brings it back with its sequence:
  // checked when events arrive and when a send learns its sequence (the stream may be first).
  useEffect(() => {
    const seen = new Set(log.events.map((e) => e.sequence));
    const delivered = (x: { sequence?: number }) => x.sequence !== undefined && seen.has(x.sequence);
    if (pending.some(delivered)) setPending((p) => p.filter((x) => !delivered(x)));
  }, [log.events, pending]);

  // Two quick sends before the first one's conversation exists must still make one conversation.
  const opening = useRef<Promise<Stored> | null>(null);
  const ensureConversation = async (): Promise<Stored> => {
    if (conversation && phase.kind === 'open') return conversation;
    opening.current ??= api.open({ skill, visitor: visitorIds() }).then((opened) => {
      window.localStorage.setItem(key, JSON.stringify(opened));
      setConversation(opened);
      setPhase({ kind: 'open' });
      return opened;
    });
    try {
      return await opening.current;
    } finally {
      opening.current = null;
    }
  };

  const send = async (text: string) => {
    setSendError(null);
    const local = Date.now() + Math.random();
    setPending((p) => [...p, { key: local, text }]);
    try {
      const target = await ensureConversation();
      const { sequence } = await api.send(target.conversationId, target.consumerToken, { text });
      setPending((p) => p.map((x) => (x.key === local ? { ...x, sequence } : x)));
    } catch (e) {
      setPending((p) => p.filter((x) => x.key !== local));
      const opening = !conversation || phase.kind !== 'open';
      // The footer says a conversation ended, and offers a new one: no second notice to say it.
      if (!opening && (isOver(e) || (e instanceof ApiError && e.status === 404))) setPhase({ kind: 'closed' });
      else setSendError(sendProblem(e, skill, opening));
      throw e;
    }
  };

  const typing = (on: boolean) => {
    if (conversation && phase.kind === 'open')
      void api.typing(conversation.conversationId, conversation.consumerToken, on).catch(() => undefined);
  };

  const startNew = () => {
    window.localStorage.removeItem(key);
    setConversation(null);
    setPending([]);
    setSendError(null);
    log.reset();
    setPhase({ kind: 'new' });
  };

  const endChat = async () => {
    if (!conversation) return;
    try {
      await api.close(conversation.conversationId, conversation.consumerToken);
      setPhase({ kind: 'closed' });
    } catch (e) {
      // Ended meanwhile (by the agent, the bot, inactivity): what was asked for is done.
      if (isOver(e)) setPhase({ kind: 'closed' });
      else setSendError(endProblem(e));
    }
  };

  const canPublish = phase.kind === 'open' || phase.kind === 'new';
  const publish = (text: string) => void send(text).catch(() => undefined);

  // A link to an account or skill that does not exist says so at once, not at the first Send.
  if (target.status === 'error' && !conversation) {
    return (
      <ChatFrame title="Chat">
        <div className="chat-body">
          <Problem problem={topicProblem(target.error, skill)} error={target.error} onRetry={target.reload} />
        </div>
      </ChatFrame>
    );
  }

  return (
    <ChatFrame
      title="Chat"
      status={
        phase.kind === 'open'
          ? streamStatus === 'live'
            ? 'Connected'
            : streamStatus === 'reconnecting'
              ? 'Reconnecting…'
              : 'Connecting…'
          : undefined
      }
      action={
        phase.kind === 'open' ? (
          <button type="button" className="btn btn-ghost btn-small" onClick={endChat}>
            End chat
          </button>
        ) : undefined
      }
    >
      <div className="chat-body">
        {phase.kind === 'checking' && <Loading>Restoring your conversation…</Loading>}
        {phase.kind === 'error' && (
          <Problem problem={restoreProblem(phase.error)} error={phase.error} onRetry={check} />
        )}
        {phase.kind !== 'checking' && phase.kind !== 'error' && (
          <>
            {conversation && !log.ready && log.events.length === 0 && <Loading>Loading messages…</Loading>}
            {!conversation && !pending.length ? (
              <Empty title="How can we help?">Type a message below to start the conversation.</Empty>
            ) : (
              <Transcript
                label="Conversation"
                events={log.events}
                viewpoint="consumer"
                typing={log.typing}
                onPublishText={canPublish ? publish : undefined}
                pending={pending}
              />
            )}
          </>
        )}
      </div>
      <footer className="chat-footer">
        {sendError && <Notice tone="error">{sendError}</Notice>}
        {phase.kind === 'closed' ? (
          <div className="chat-ended">
            <p>This conversation has ended.</p>
            <button type="button" className="btn btn-primary" onClick={startNew}>
              Start a new conversation
            </button>
          </div>
        ) : (
          <Composer
            label="Message"
            onSend={send}
            onTyping={typing}
            disabled={phase.kind === 'checking' || phase.kind === 'error'}
            placeholder="Write a message…"
          />
        )}
      </footer>
    </ChatFrame>
  );
}

function ChatFrame({
  title,
  status,
  action,
  children,
}: {
  title: string;
  status?: string;
  action?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="chat-page">
      <main className="chat-window" aria-label="Chat">
        <header className="chat-header">
          <div>
            <h1>{title}</h1>
            {status && (
              <p className="chat-status" role="status">
                <span className={`dot ${status === 'Connected' ? 'dot-on' : 'dot-wait'}`} aria-hidden="true" />
                {status}
              </p>
            )}
          </div>
          {action}
        </header>
        {children}
      </main>
    </div>
  );
}
