import { useState } from 'react';
import type { Conversation } from '../../lib/types';
import { dateTime, ttrLabel } from '../../lib/format';

/** Who the consumer is: the conversation's facts, visitor/session ids and engagement attributes (SDES). */
export function ConsumerInfo({ conversation }: { conversation: Conversation }) {
  const { sdes, visitor } = conversation;
  // Open beside the conversation on a wide screen; folded under it on a narrow one.
  const [wide] = useState(() => window.matchMedia('(min-width: 1101px)').matches);
  const hasSdes =
    Object.keys(sdes.authenticatedSdes ?? {}).length + Object.keys(sdes.unauthenticatedSdes ?? {}).length > 0;
  return (
    <aside className="ws-info" aria-labelledby="info-title">
      <h2 id="info-title">Consumer</h2>
      <details open={wide} className="info-block">
        <summary>Visitor</summary>
        {Object.keys(visitor).length ? (
          <Pairs value={visitor} />
        ) : (
          <p className="muted small">No visitor information was sent.</p>
        )}
      </details>
      <details open={wide} className="info-block">
        <summary>Engagement attributes (SDES)</summary>
        {hasSdes ? (
          <>
            {Object.keys(sdes.authenticatedSdes ?? {}).length > 0 && (
              <>
                <h3>Authenticated</h3>
                <Pairs value={sdes.authenticatedSdes ?? {}} />
              </>
            )}
            {Object.keys(sdes.unauthenticatedSdes ?? {}).length > 0 && (
              <>
                <h3>Unauthenticated</h3>
                <Pairs value={sdes.unauthenticatedSdes ?? {}} />
              </>
            )}
          </>
        ) : (
          <p className="muted small">None reported.</p>
        )}
      </details>
      <details open={wide} className="info-block">
        <summary>Conversation</summary>
        <dl className="pairs">
          <dt>Id</dt>
          <dd className="mono">{conversation.conversationId}</dd>
          <dt>Skill</dt>
          <dd>{conversation.skill.name}</dd>
          <dt>Type</dt>
          <dd>{conversation.type}</dd>
          <dt>Time to response</dt>
          <dd>{ttrLabel(conversation.ttr)}</dd>
          <dt>Started</dt>
          <dd>{dateTime(conversation.createdAt)}</dd>
          {conversation.engagementId !== undefined && (
            <>
              <dt>Engagement</dt>
              <dd>{conversation.engagementId}</dd>
            </>
          )}
          {conversation.campaignId !== undefined && (
            <>
              <dt>Campaign</dt>
              <dd>{conversation.campaignId}</dd>
            </>
          )}
        </dl>
      </details>
    </aside>
  );
}

/** Top-level keys as a list; nested values (SDES entries are objects) as compact JSON. */
function Pairs({ value }: { value: Record<string, unknown> }) {
  return (
    <dl className="pairs">
      {Object.entries(value).map(([k, v]) => (
        <div key={k} className="pair">
          <dt>{k}</dt>
          <dd className={typeof v === 'object' && v !== null ? 'mono pre' : 'mono'}>
            {typeof v === 'object' && v !== null ? JSON.stringify(v, null, 1) : String(v)}
          </dd>
        </div>
      ))}
    </dl>
  );
}
