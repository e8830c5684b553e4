import { useState, type ReactNode } from 'react';
import { Link } from '../../lib/router';
import type { ErrorCodeInfo, Exchange } from '../../lib/types';
import { time } from '../../lib/format';
import { OutcomeBadge } from '../../components/StatusBadge';
import { JsonView } from '../../components/JsonView';
import { Empty, ErrorState, Loading } from '../../components/States';

interface Props {
  exchanges: Exchange[] | null;
  error: unknown;
  codes: Record<string, ErrorCodeInfo>;
  hasConversation: boolean;
  /** What an empty log means where it is shown (the tester's: nothing sent yet). */
  emptyText?: ReactNode;
  /** Where an exchange's conversation reads whole (its transcript), when the log is not already beside it. */
  conversationHref?: (conversationId: string) => string;
}

/** What the consumer's side of an exchange was, in a few words. */
function summary(x: Exchange): string {
  const body = x.request?.body as { type?: string; data?: { message?: string } } | undefined;
  if (body?.data?.message !== undefined) return `“${body.data.message}”`;
  if (x.request?.method === 'PUT') return 'Conversation created on the bot service';
  return body?.type ?? x.eventType;
}

/**
 * The bot log of the test conversation, newest first. The newest exchange is shown until the
 * reader picks another one; picking "follow newest" again resumes following.
 */
export function ExchangeLog({ exchanges, error, codes, hasConversation, emptyText, conversationHref }: Props) {
  const [picked, setPicked] = useState<string | null>(null);
  const selected = exchanges?.find((x) => x.id === picked) ?? exchanges?.[0] ?? null;

  return (
    <section className="card tester-log" aria-labelledby="log-title">
      <header className="tester-log-head">
        <h2 id="log-title">Exchanges</h2>
        {picked && (
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setPicked(null)}>
            Follow newest
          </button>
        )}
      </header>
      {!hasConversation && (
        <Empty title="No exchanges yet">
          Each message you send becomes an exchange with the bot’s service, listed here.
        </Empty>
      )}
      {hasConversation && exchanges === null && error === null && <Loading>Waiting for the first exchange…</Loading>}
      {hasConversation && exchanges === null && error !== null && (
        <ErrorState error={error} title="Could not load the bot log" />
      )}
      {exchanges && exchanges.length === 0 && (
        <Empty title="No exchanges yet">
          {emptyText ?? 'Send a message: the bot’s answer and how it was processed show up here.'}
        </Empty>
      )}
      {exchanges && exchanges.length > 0 && (
        <div className="log-layout">
          <ol className="exchange-list" aria-label="Exchanges, newest first">
            {exchanges.map((x) => (
              <li key={x.id}>
                <button
                  type="button"
                  className={`exchange-item${selected?.id === x.id ? ' is-selected' : ''}`}
                  aria-current={selected?.id === x.id ? 'true' : undefined}
                  onClick={() => setPicked(x.id)}
                  data-exchange={x.id}
                >
                  <span className="exchange-line">
                    <OutcomeBadge outcome={x.outcome} />
                    <span className="exchange-type">{x.eventType}</span>
                    <time className="muted small">{time(x.startedAt)}</time>
                  </span>
                  <span className="exchange-summary">{summary(x)}</span>
                  {x.errors.length > 0 && (
                    <span className="exchange-codes">
                      {x.errors.map((e, i) => (
                        // biome-ignore lint/suspicious/noArrayIndexKey: an exchange's errors are a record, never reordered, and codes repeat
                        <code key={i}>{e.code}</code>
                      ))}
                    </span>
                  )}
                </button>
              </li>
            ))}
          </ol>
          {selected && (
            <ExchangeDetail
              exchange={selected}
              codes={codes}
              transcriptHref={conversationHref?.(selected.conversationId)}
            />
          )}
        </div>
      )}
      {exchanges && error !== null && <p className="muted small">Last refresh failed; retrying.</p>}
    </section>
  );
}

function ExchangeDetail({
  exchange: x,
  codes,
  transcriptHref,
}: {
  exchange: Exchange;
  codes: Record<string, ErrorCodeInfo>;
  transcriptHref?: string;
}) {
  const highlights = x.errors
    .filter((e) => e.path !== undefined)
    .map((e) => ({ pointer: e.path!, note: `${e.code}: ${e.message}` }));
  return (
    <article className="exchange-detail" aria-label="Exchange details">
      <header className="exchange-detail-head">
        <OutcomeBadge outcome={x.outcome} />
        <span>
          <strong>{x.eventType}</strong>{' '}
          <span className="muted small">
            {x.response ? `HTTP ${x.response.status}` : 'no response'} · {x.durationMs} ms · {x.attempts} attempt
            {x.attempts === 1 ? '' : 's'}
          </span>
        </span>
        {transcriptHref && (
          <Link to={transcriptHref} className="small transcript-link">
            Read the conversation
          </Link>
        )}
      </header>

      {x.errors.length === 0 ? (
        x.outcome === 'PROCESSED' && (
          <p className="processed-note">Processed: every item of the answer was valid and delivered.</p>
        )
      ) : (
        <ul className="error-list">
          {x.errors.map((e, i) => {
            const info = codes[e.code];
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: an exchange's errors are a record, never reordered, and codes repeat
              <li key={i} className="error-item" data-code={e.code}>
                <p>
                  <code className="error-code">{e.code}</code> {info && <strong>{info.title}</strong>}
                </p>
                <p className="error-message">{e.message}</p>
                {e.path && (
                  <p className="muted small">
                    At <code>{e.path}</code> in the response (highlighted below).
                  </p>
                )}
                {info && (
                  <>
                    <p className="error-explanation">{info.explanation}</p>
                    <p className="error-fix">
                      <strong>How to fix:</strong> {info.fix}
                    </p>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      )}

      {x.effects && x.effects.length > 0 && (
        <div className="effects">
          <h3>What the connector did</h3>
          <ul>
            {x.effects.map((effect, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: an exchange's effects are a record, never reordered, and may repeat
              <li key={i}>{effect}</li>
            ))}
          </ul>
        </div>
      )}

      {/* The response first: that is where the errors point. */}
      <h3>Response</h3>
      {x.response ? (
        <>
          <p className="mono small">
            HTTP {x.response.status} in {x.response.durationMs} ms
          </p>
          <JsonView value={x.response.body} highlights={highlights} label="Response body" />
        </>
      ) : (
        <p className="muted small">No response (see the errors above).</p>
      )}
      <details className="request-block" open={x.errors.length === 0}>
        <summary>
          <h3>Request</h3>
        </summary>
        {x.request ? (
          <>
            <p className="mono small request-line">
              {x.request.method} {x.request.url}
            </p>
            <JsonView value={x.request.body} label="Request body" />
          </>
        ) : (
          <p className="muted small">No request was made.</p>
        )}
      </details>
      {x.parsed && x.parsed.intents.length > 0 && (
        <>
          <h3>Intents</h3>
          <JsonView value={x.parsed.intents} label="Intents" />
        </>
      )}
    </article>
  );
}
