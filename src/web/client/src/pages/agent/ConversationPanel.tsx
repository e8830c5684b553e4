import { useCallback, useEffect, useRef, useState, type FormEvent, type MutableRefObject } from 'react';
import { ApiError, errorText, type AgentApi } from '../../lib/api';
import { useConversationLog } from '../../lib/conversation-log';
import { useAsync } from '../../lib/use-async';
import { shortId, ttrLabel } from '../../lib/format';
import type { ConversationWithEvents, StreamMessage } from '../../lib/types';
import { Transcript } from '../../components/Transcript';
import { Composer } from '../../components/Composer';
import { Empty, ErrorState, Loading, Notice } from '../../components/States';
import { ConsumerInfo } from './ConsumerInfo';

type Meta = Omit<ConversationWithEvents, 'events'>;

interface Props {
  api: AgentApi;
  selfUserId: string;
  conversationId: string | null;
  /** Held by this agent (else a preview of a queued one). */
  mine: boolean;
  inbox: MutableRefObject<((m: StreamMessage) => void) | null>;
  onAccept(id: string): void;
  onBack(): void;
  /** The conversation left this agent (transferred): go back to the queue with this message. */
  onLeft(message: string): void;
  onChanged(): void;
}

export function ConversationPanel({
  api,
  selfUserId,
  conversationId,
  mine,
  inbox,
  onAccept,
  onBack,
  onLeft,
  onChanged,
}: Props) {
  const log = useConversationLog(conversationId);
  const [meta, setMeta] = useState<Meta | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [privateNote, setPrivateNote] = useState(false);
  // What a failed load compares against: the latest, not the render the load was made in.
  const latest = useRef({ meta, onLeft });
  latest.current = { meta, onLeft };

  // Made again when the conversation becomes ours (accept), so it is reloaded then to pick up
  // what streamed before.
  const load = useCallback(async () => {
    if (!conversationId) return;
    setError(null);
    try {
      const { events, ...rest } = await api.conversation(conversationId);
      setMeta(rest);
      log.load(events);
    } catch (e) {
      // A previewed conversation someone else took is no longer ours to look at.
      const now = latest.current;
      if (e instanceof ApiError && e.status === 403 && now.meta && !mine)
        now.onLeft('That conversation was taken by another agent.');
      else setError(e);
    }
  }, [api, conversationId, mine, log.load]);
  useEffect(() => {
    void load();
  }, [load]);

  // The agent stream carries only what the agent holds: a queued conversation being previewed
  // is refreshed by hand.
  useEffect(() => {
    if (!conversationId || mine) return;
    const timer = window.setInterval(() => void load(), 3_000);
    return () => window.clearInterval(timer);
  }, [conversationId, mine, load]);

  useEffect(() => {
    inbox.current = (m) => {
      if (m.kind === 'conversation') setMeta((prev) => ({ ...(prev ?? {}), ...m.conversation }) as Meta);
      else log.apply(m);
    };
    return () => {
      inbox.current = null;
    };
  }, [inbox, log.apply]);

  if (!conversationId) {
    return (
      <section className="ws-main ws-empty" id="ws-main" aria-label="Conversation">
        <Empty title="No conversation selected">
          Accept a conversation from the queue, or pick one of yours, to see its history and reply.
        </Empty>
      </section>
    );
  }
  if (error && !meta) {
    return (
      <section className="ws-main" id="ws-main" aria-label="Conversation">
        <ErrorState error={error} title="Could not open this conversation" onRetry={load} />
      </section>
    );
  }
  if (!meta) {
    return (
      <section className="ws-main" id="ws-main" aria-label="Conversation">
        <Loading>Loading conversation…</Loading>
      </section>
    );
  }

  const closed = meta.status === 'CLOSED';
  const act = async (what: string, run: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await run();
      onChanged();
    } catch (e) {
      setActionError(`${what} failed: ${errorText(e)}`);
      throw e;
    }
  };

  return (
    <>
      <section className="ws-main" id="ws-main" aria-label={`Conversation ${shortId(meta.conversationId)}`}>
        <header className="conv-header">
          <button type="button" className="btn btn-ghost btn-small back-button" onClick={onBack}>
            ← Queue
          </button>
          <div className="conv-title">
            <h2>
              Conversation #{shortId(meta.conversationId)}{' '}
              {meta.test && (
                <span className="badge-test" title="Opened by the console’s tester: no real consumer is waiting">
                  Test
                </span>
              )}
            </h2>
            <p className="muted small">
              {meta.skill.name} · {meta.type === 'CHAT' ? 'Chat' : 'Messaging'} · TTR {ttrLabel(meta.ttr)} ·{' '}
              <span className={`status-text status-${meta.status.toLowerCase()}`}>
                {closed ? 'Closed' : mine ? 'With you' : 'Waiting in queue'}
              </span>
            </p>
          </div>
          {!mine && !closed && (
            <button type="button" className="btn btn-primary" onClick={() => onAccept(meta.conversationId)}>
              Accept
            </button>
          )}
          {mine && !closed && <CloseButton onClose={() => act('Closing', () => api.close(meta.conversationId))} />}
          {closed && (
            <button type="button" className="btn" onClick={onBack}>
              Done
            </button>
          )}
        </header>
        <Transcript
          label="Conversation history"
          events={log.events}
          viewpoint="agent"
          showPrivate
          showSystem
          selfUserId={selfUserId}
          typing={log.typing}
          emptyText="No messages yet."
        />
        {actionError && <Notice tone="error">{actionError}</Notice>}
        {mine && !closed && (
          <div className="agent-tools">
            <Composer
              label={privateNote ? 'Private note (agents only)' : 'Reply to the consumer'}
              placeholder={privateNote ? 'Private note — only agents and managers see it' : 'Reply to the consumer…'}
              onSend={(text) =>
                act('Sending', () => api.send(meta.conversationId, text, privateNote ? 'AGENTS_AND_MANAGERS' : 'ALL'))
              }
              onTyping={
                privateNote ? undefined : (on) => void api.typing(meta.conversationId, on).catch(() => undefined)
              }
              sendLabel={privateNote ? 'Add note' : 'Send'}
            >
              <label className="toggle">
                <input type="checkbox" checked={privateNote} onChange={(e) => setPrivateNote(e.target.checked)} />
                <span>Private</span>
              </label>
            </Composer>
            <TransferForm
              api={api}
              current={meta.skill.name}
              onTransfer={async (skill, agentId) => {
                await act('Transfer', () => api.transfer(meta.conversationId, skill, agentId));
                onLeft(`Conversation #${shortId(meta.conversationId)} transferred to “${skill}”.`);
              }}
            />
          </div>
        )}
        {!mine && !closed && <p className="muted small center">Accept this conversation to reply.</p>}
      </section>
      <ConsumerInfo conversation={meta} />
    </>
  );
}

function CloseButton({ onClose }: { onClose(): Promise<unknown> }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming) {
    return (
      <button type="button" className="btn" onClick={() => setConfirming(true)}>
        Close conversation
      </button>
    );
  }
  return (
    <fieldset className="confirm" aria-label="Confirm closing">
      <span className="small">Close it?</span>
      <button
        type="button"
        className="btn btn-danger btn-small"
        // biome-ignore lint/a11y/noAutofocus: the user just asked for this confirmation; the Close button they pressed is gone, so focus goes to what replaced it
        autoFocus
        onClick={() =>
          void onClose()
            .catch(() => undefined)
            .finally(() => setConfirming(false))
        }
      >
        Yes, close
      </button>
      <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </fieldset>
  );
}

/**
 * Transfer by picking: the account's skills, and optionally one of its agents who has that skill
 * (marked when away or full: the conversation then waits in the skill's queue).
 */
function TransferForm({
  api,
  current,
  onTransfer,
}: {
  api: AgentApi;
  current: string;
  onTransfer(skill: string, agentId?: string): Promise<void>;
}) {
  const targets = useAsync(api.transferTargets);
  const [skill, setSkill] = useState('');
  const [agentId, setAgentId] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!skill) return;
    setBusy(true);
    try {
      await onTransfer(skill, agentId || undefined);
    } catch {
      // shown by the panel
    } finally {
      setBusy(false);
    }
  };
  if (targets.status !== 'ready')
    return targets.status === 'error' ? (
      <p className="muted small">
        Transfer targets could not be loaded.{' '}
        <button type="button" className="btn btn-small" onClick={targets.reload}>
          Try again
        </button>
      </p>
    ) : null;
  const agents = targets.value.agents.filter((a) => a.skills.some((s) => s.name === skill));
  return (
    <form className="transfer-form" onSubmit={submit} aria-label="Transfer">
      <label className="field field-inline">
        <span>Transfer to skill</span>
        <select
          value={skill}
          onChange={(e) => {
            setSkill(e.target.value);
            setAgentId('');
          }}
        >
          <option value="">Choose a skill…</option>
          {targets.value.skills.map((s) => (
            <option key={s.id} value={s.name}>
              {s.name}
              {s.name === current ? ' (current)' : ''}
            </option>
          ))}
        </select>
      </label>
      {skill && (
        <label className="field field-inline">
          <span>Agent</span>
          <select value={agentId} onChange={(e) => setAgentId(e.target.value)}>
            <option value="">Anyone with the skill</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.loginName}
                {a.available ? '' : ' (away or full: waits in the queue)'}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="submit" className="btn" disabled={busy || !skill}>
        Transfer
      </button>
    </form>
  );
}
