import { useCallback, useEffect, useMemo, useState } from 'react';
import { adminApi } from '../../lib/api';
import { Link } from '../../lib/router';
import { dateTime } from '../../lib/format';
import { useAsync } from '../../lib/use-async';
import type { ConversationWithEvents, ErrorCodeInfo, Exchange } from '../../lib/types';
import { Transcript } from '../../components/Transcript';
import { JsonView } from '../../components/JsonView';
import { ErrorState, Loading } from '../../components/States';
import { ExchangeLog } from './ExchangeLog';
import { conversationsHref, useNames } from './ConversationsPage';
import '../../styles/conversations.css';

/**
 * One conversation as it happened: the transcript (consumer, bot and agent; private texts marked;
 * transfers and assignments as system lines; structured content rendered) beside the exchanges
 * with its bots, and the whole of it as a JSON file.
 */
export function ConversationView({
  token,
  accountId,
  conversationId,
}: {
  token: string;
  accountId: string;
  conversationId: string;
}) {
  const api = useMemo(() => adminApi(token), [token]);
  const { names } = useNames(token, accountId);
  const load = useCallback(
    async () => ({
      conversation: await api.conversation(accountId, conversationId),
      exchanges: await api.conversationExchanges(accountId, conversationId).catch((error: unknown) => ({ error })),
    }),
    [api, accountId, conversationId],
  );
  const loaded = useAsync(load);
  const [codes, setCodes] = useState<Record<string, ErrorCodeInfo>>({});
  useEffect(() => {
    api.errorCodes().then(setCodes, () => undefined);
  }, [api]);

  return (
    <div className="page conversation-view">
      <Link to={conversationsHref(accountId)} className="back-link">
        ← All conversations
      </Link>
      {loaded.status === 'loading' && <Loading>Loading the conversation…</Loading>}
      {loaded.status === 'error' && (
        <ErrorState error={loaded.error} title="Could not load the conversation" onRetry={loaded.reload} />
      )}
      {loaded.status === 'ready' && (
        <Loaded
          conversation={loaded.value.conversation}
          exchanges={loaded.value.exchanges}
          names={names}
          codes={codes}
          onRefresh={loaded.reload}
        />
      )}
    </div>
  );
}

function Loaded({
  conversation: c,
  exchanges,
  names,
  codes,
  onRefresh,
}: {
  conversation: ConversationWithEvents;
  exchanges: Exchange[] | { error: unknown };
  names: Record<string, string>;
  codes: Record<string, ErrorCodeInfo>;
  onRefresh(): void;
}) {
  const closed = [...c.events].reverse().find((e) => e.type === 'CLOSE');
  const holder = c.assignee
    ? `${c.assignee.userType === 'BOT' ? 'Bot' : 'Agent'} “${names[c.assignee.botId ?? ''] ?? names[c.assignee.userId] ?? c.assignee.userId}”`
    : c.status === 'OPEN'
      ? 'Waiting in the queue'
      : 'Nobody';
  const exported = () => {
    const file = new Blob(
      [JSON.stringify({ conversation: c, exchanges: Array.isArray(exchanges) ? exchanges : [] }, null, 2)],
      { type: 'application/json' },
    );
    const link = document.createElement('a');
    link.href = URL.createObjectURL(file);
    link.download = `conversation-${c.conversationId}.json`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return (
    <>
      <div className="page-head">
        <div>
          <h1>
            Conversation <code className="conversation-id">{c.conversationId}</code>
          </h1>
          <dl className="conversation-facts">
            <div>
              <dt>Status</dt>
              <dd>
                <span className={`badge badge-conversation-${c.status.toLowerCase()}`}>
                  {c.status === 'OPEN' ? 'Open' : 'Closed'}
                </span>
                {c.test && <span className="badge badge-test">Test</span>}
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{dateTime(c.createdAt)}</dd>
            </div>
            {closed && (
              <div>
                <dt>Closed</dt>
                <dd>
                  {dateTime(closed.serverTimestamp)}
                  {c.closeReason && <span className="muted"> · by {c.closeReason.toLowerCase()}</span>}
                </dd>
              </div>
            )}
            <div>
              <dt>Skill</dt>
              <dd>{c.skill.name}</dd>
            </div>
            <div>
              <dt>{c.status === 'OPEN' ? 'Held by' : 'Last held by'}</dt>
              <dd>{holder}</dd>
            </div>
            <div>
              <dt>Channel</dt>
              <dd>{c.type === 'CHAT' ? 'Chat' : 'Messaging'}</dd>
            </div>
          </dl>
        </div>
        <div className="row-buttons">
          <button type="button" className="btn btn-ghost" onClick={onRefresh}>
            Refresh
          </button>
          <button type="button" className="btn" onClick={exported}>
            Export as JSON
          </button>
        </div>
      </div>
      <div className="conversation-layout">
        <section className="card conversation-transcript" aria-label="Transcript">
          <h2>Transcript</h2>
          <Transcript
            events={c.events}
            viewpoint="agent"
            showPrivate
            showSystem
            names={names}
            label="Transcript of the conversation"
            emptyText="Nothing was said in this conversation."
          />
          {(Object.keys(c.sdes).length > 0 || Object.keys(c.visitor).length > 0) && (
            <details className="conversation-attributes">
              <summary>Engagement attributes and visitor</summary>
              <JsonView value={{ sdes: c.sdes, visitor: c.visitor }} label="Engagement attributes and visitor" />
            </details>
          )}
        </section>
        <ExchangeLog
          exchanges={Array.isArray(exchanges) ? exchanges : null}
          error={Array.isArray(exchanges) ? null : exchanges.error}
          codes={codes}
          hasConversation
          emptyText="No bot took part in this conversation, or its exchanges are no longer kept (each bot keeps its newest 5,000)."
        />
      </div>
    </>
  );
}
