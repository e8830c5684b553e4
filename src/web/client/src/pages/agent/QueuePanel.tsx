import type { AgentUser, Conversation, QueuedConversation } from '../../lib/types';
import { duration, shortId, ttrLabel } from '../../lib/format';
import { useNow } from '../../lib/use-async';
import { ErrorState, Loading } from '../../components/States';
import type { QueueSnapshot } from './Workspace';

interface Props {
  user: AgentUser;
  queue: QueueSnapshot | null;
  held: Conversation[] | null;
  error: unknown;
  onRetry(): void;
  selected: string | null;
  unread: Set<string>;
  onSelect(id: string): void;
  onAccept(id: string): void;
}

/** Waiting conversations grouped by skill (with time to response and time waited), then the agent's own. */
export function QueuePanel({ user, queue, held, error, onRetry, selected, unread, onSelect, onAccept }: Props) {
  const now = useNow();
  const groups = new Map<string, QueuedConversation[]>(user.skills.map((s) => [s.name, []]));
  for (const q of queue?.items ?? []) groups.set(q.skill.name, [...(groups.get(q.skill.name) ?? []), q]);
  const waitedFor = (q: QueuedConversation) => q.waitingSeconds + (now - (queue?.fetchedAt ?? now)) / 1000;

  return (
    <nav className="ws-sidebar" aria-label="Queue and conversations">
      <section className="ws-section" aria-labelledby="queue-title">
        <h2 id="queue-title">
          Queue <span className="count">{queue?.items.length ?? '–'}</span>
        </h2>
        {error !== null && !queue && <ErrorState error={error} title="Could not load the queue" onRetry={onRetry} />}
        {!queue && error === null && <Loading>Loading queue…</Loading>}
        {queue && !user.skills.length && (
          <p className="muted small">You serve no skills, so no conversations are routed to you.</p>
        )}
        {queue &&
          [...groups.entries()].map(([skill, items]) => (
            <fieldset key={skill} className="queue-group" aria-label={`Skill ${skill}`}>
              <h3>
                {skill} <span className="count">{items.length}</span>
              </h3>
              {items.length === 0 ? (
                <p className="queue-empty">No one waiting</p>
              ) : (
                <ul className="queue-list">
                  {items.map((q) => (
                    <li
                      key={q.conversationId}
                      className={`queue-item${selected === q.conversationId ? ' is-selected' : ''}`}
                      data-conversation={q.conversationId}
                    >
                      <button
                        type="button"
                        className="queue-open"
                        onClick={() => onSelect(q.conversationId)}
                        aria-label={`Preview conversation ${shortId(q.conversationId)}`}
                      >
                        <span className="queue-id">#{shortId(q.conversationId)}</span>
                        {q.test && (
                          <span className="badge-test" title="Opened by the console’s tester">
                            Test
                          </span>
                        )}
                        <span className={`ttr ttr-${q.ttr.ttrType.toLowerCase()}`} title="Time to response">
                          {ttrLabel(q.ttr)}
                        </span>
                        <span className="queue-wait" title="Waiting for">
                          waiting {duration(waitedFor(q))}
                        </span>
                      </button>
                      <button
                        type="button"
                        className="btn btn-primary btn-small"
                        onClick={() => onAccept(q.conversationId)}
                        aria-label={`Accept conversation ${shortId(q.conversationId)} from ${skill}`}
                      >
                        Accept
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </fieldset>
          ))}
        {error !== null && queue && (
          <p className="muted small" role="alert">
            Last refresh failed: the queue may be out of date.
          </p>
        )}
      </section>
      <section className="ws-section" aria-labelledby="mine-title">
        <h2 id="mine-title">
          My conversations <span className="count">{held?.length ?? '–'}</span>
        </h2>
        {held && held.length === 0 && <p className="queue-empty">None yet. Accept one from the queue.</p>}
        <ul className="mine-list">
          {held?.map((c) => (
            <li key={c.conversationId}>
              <button
                type="button"
                className={`mine-item${selected === c.conversationId ? ' is-selected' : ''}`}
                aria-current={selected === c.conversationId ? 'true' : undefined}
                onClick={() => onSelect(c.conversationId)}
              >
                <span className="queue-id">#{shortId(c.conversationId)}</span>
                <span className="muted small">{c.skill.name}</span>
                {unread.has(c.conversationId) && (
                  <span className="unread">
                    new<span className="visually-hidden"> messages</span>
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      </section>
    </nav>
  );
}
