import { useCallback, useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { adminApi, type ConversationQuery } from '../../lib/api';
import { Link, useRouter } from '../../lib/router';
import { dateTime } from '../../lib/format';
import { useAsync } from '../../lib/use-async';
import type { Bot, ConversationEvent, FoundConversation, Skill, User } from '../../lib/types';
import { Empty, ErrorState, Loading } from '../../components/States';
import { Field } from '../../components/Field';
import '../../styles/conversations.css';
import { TimeRangeFields, fromLocalInput, numberParam, withQuery } from '../../lib/address-filters';

const PAGE_SIZE = 25;

/** The filters as the page's address carries them: a search can be bookmarked, shared and linked to. */
export function queryFromAddress(search: URLSearchParams): ConversationQuery {
  const status = search.get('status');
  return {
    bot: search.get('bot') || undefined,
    skill: search.get('skill') || undefined,
    status: status === 'OPEN' || status === 'CLOSED' ? status : undefined,
    from: numberParam(search, 'from'),
    to: numberParam(search, 'to'),
    words: search.get('words') || undefined,
  };
}

/** The address of the Conversations page with these filters. */
export function conversationsHref(accountId: string, query: ConversationQuery = {}): string {
  return withQuery(`/admin/accounts/${encodeURIComponent(accountId)}/conversations`, query);
}

export function conversationHref(accountId: string, conversationId: string): string {
  return `/admin/accounts/${encodeURIComponent(accountId)}/conversations/${encodeURIComponent(conversationId)}`;
}

/** Who the account's people are, by user id and bot id: names instead of ids in lists and transcripts. */
export function useNames(token: string, accountId: string) {
  const api = useMemo(() => adminApi(token), [token]);
  const [bots, setBots] = useState<Bot[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [skills, setSkills] = useState<Skill[]>([]);
  useEffect(() => {
    api.bots(accountId).then(setBots, () => undefined);
    api.users(accountId).then(setUsers, () => undefined);
    api.skills(accountId).then(setSkills, () => undefined);
  }, [api, accountId]);
  const names = useMemo(() => {
    const byId: Record<string, string> = {};
    for (const u of users) byId[u.id] = u.loginName;
    for (const b of bots) byId[b.id] = b.name;
    // A bot's user speaks for it: its messages and assignments read with the bot's name.
    for (const u of users) if (u.botId && byId[u.botId]) byId[u.id] = byId[u.botId];
    return byId;
  }, [bots, users]);
  return { bots, skills, names };
}

/**
 * Every conversation of the account, newest first: found by bot, skill, status, when it started
 * and words of its messages, each opening as its transcript. The filters live in the address.
 */
export function ConversationsPage({ token, accountId }: { token: string; accountId: string }) {
  const api = useMemo(() => adminApi(token), [token]);
  const { location, navigate } = useRouter();
  const address = location.search.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the address string is the identity of the query
  const query = useMemo(() => queryFromAddress(location.search), [address]);
  const { bots, skills, names } = useNames(token, accountId);
  const [older, setOlder] = useState<{ conversations: FoundConversation[]; next?: string; loading?: boolean }>({
    conversations: [],
  });
  const load = useCallback(() => api.conversations(accountId, { ...query, limit: PAGE_SIZE }), [api, accountId, query]);
  const first = useAsync(load);
  // A new search starts again from its first page.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the search changes
  useEffect(() => setOlder({ conversations: [] }), [load]);
  const next = older.conversations.length ? older.next : first.status === 'ready' ? first.value.next : undefined;
  const showOlder = async () => {
    if (!next) return;
    setOlder((o) => ({ ...o, loading: true }));
    const page = await api.conversations(accountId, { ...query, limit: PAGE_SIZE, cursor: next }).catch(() => null);
    setOlder((o) =>
      page ? { conversations: [...o.conversations, ...page.conversations], next: page.next } : { ...o, loading: false },
    );
  };

  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    navigate(
      conversationsHref(accountId, {
        words: text('words'),
        bot: text('bot'),
        skill: text('skill'),
        status: text('status') as ConversationQuery['status'],
        from: fromLocalInput(form.get('from')),
        to: fromLocalInput(form.get('to')),
      }),
    );
  };
  const filtered = Object.values(query).some((v) => v !== undefined);
  const rows = first.status === 'ready' ? [...first.value.conversations, ...older.conversations] : [];

  return (
    <div className="page conversations-page">
      <div className="page-head">
        <div>
          <h1>Conversations</h1>
          <p className="muted">
            Every conversation of <strong>{accountId}</strong>, newest first. Open one to read its transcript beside the
            bot’s exchanges.
          </p>
        </div>
      </div>
      {/* Keyed by the address (going back to an earlier search shows its filters again) and by the
          lists (a filter from the address is selected once its option exists). */}
      <form
        key={`${address}|${bots.length}|${skills.length}`}
        className="card conversation-filters"
        aria-label="Search conversations"
        onSubmit={search}
      >
        <Field label="Words" className="filter-words">
          {(control) => (
            <input
              {...control}
              type="search"
              name="words"
              defaultValue={query.words ?? ''}
              placeholder="Words from a message, e.g. refund parcel"
              maxLength={200}
            />
          )}
        </Field>
        <Field label="Bot">
          {(control) => (
            <select {...control} name="bot" defaultValue={query.bot ?? ''}>
              <option value="">Any bot</option>
              {bots.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
              {query.bot && !bots.some((b) => b.id === query.bot) && <option value={query.bot}>{query.bot}</option>}
            </select>
          )}
        </Field>
        <Field label="Skill">
          {(control) => (
            <select {...control} name="skill" defaultValue={query.skill ?? ''}>
              <option value="">Any skill</option>
              {skills.map((s) => (
                <option key={s.id} value={s.name}>
                  {s.name}
                </option>
              ))}
              {query.skill && !skills.some((s) => s.name === query.skill) && (
                <option value={query.skill}>{query.skill}</option>
              )}
            </select>
          )}
        </Field>
        <Field label="Status">
          {(control) => (
            <select {...control} name="status" defaultValue={query.status ?? ''}>
              <option value="">Open or closed</option>
              <option value="OPEN">Open</option>
              <option value="CLOSED">Closed</option>
            </select>
          )}
        </Field>
        <TimeRangeFields from={query.from} to={query.to} labels={['Started from', 'Started before']} />
        <div className="filter-actions">
          <button type="submit" className="btn btn-primary">
            Search
          </button>
          {filtered && (
            <Link to={conversationsHref(accountId)} className="btn btn-ghost">
              Clear
            </Link>
          )}
        </div>
      </form>

      {first.status === 'loading' && <Loading>Looking for conversations…</Loading>}
      {first.status === 'error' && (
        <ErrorState error={first.error} title="Could not list the conversations" onRetry={first.reload} />
      )}
      {first.status === 'ready' && rows.length === 0 && (
        <Empty title={filtered ? 'No conversation matches' : 'No conversations yet'}>
          {filtered
            ? 'Nothing in this account matches every filter. Fewer words or a wider time range may find it.'
            : 'Conversations show here as soon as a consumer (or the tester) starts one.'}
        </Empty>
      )}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="data-table conversation-table" aria-label="Conversations, newest first">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">{query.words ? 'Matching messages' : 'Last message'}</th>
                <th scope="col">Skill</th>
                <th scope="col">Status</th>
                <th scope="col">Held by</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.conversationId} data-conversation={c.conversationId}>
                  <td data-label="Started">
                    <Link to={conversationHref(accountId, c.conversationId)} className="conversation-link">
                      {dateTime(c.createdAt)}
                    </Link>
                    <div className="muted small mono">{c.conversationId.slice(0, 8)}</div>
                  </td>
                  <td data-label={query.words ? 'Matching messages' : 'Last message'} className="conversation-preview">
                    {c.events.length ? (
                      c.events.map((e) => <Preview key={e.sequence} event={e} words={query.words} names={names} />)
                    ) : (
                      <span className="muted small">No messages</span>
                    )}
                  </td>
                  <td data-label="Skill">{c.skill.name}</td>
                  <td data-label="Status">
                    <span className={`badge badge-conversation-${c.status.toLowerCase()}`}>
                      {c.status === 'OPEN' ? 'Open' : 'Closed'}
                    </span>
                    {c.test && <span className="badge badge-test">Test</span>}
                    {c.closedAt !== undefined && <div className="muted small">{dateTime(c.closedAt)}</div>}
                  </td>
                  <td data-label="Held by">{holder(c, names)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" className="btn show-older" onClick={showOlder} disabled={older.loading}>
          {older.loading ? 'Loading…' : 'Show older conversations'}
        </button>
      )}
    </div>
  );
}

function holder(c: FoundConversation, names: Record<string, string>): string {
  if (!c.assignee) return c.status === 'OPEN' ? 'Waiting in the queue' : '—';
  const name = names[c.assignee.botId ?? ''] ?? names[c.assignee.userId];
  if (c.assignee.userType === 'BOT') return name ? `Bot “${name}”` : 'A bot';
  return name ? `Agent “${name}”` : `Agent #${c.assignee.userId}`;
}

const SPEAKER: Record<ConversationEvent['originator']['role'], string> = {
  CONSUMER: 'Consumer',
  BOT: 'Bot',
  AGENT: 'Agent',
  SYSTEM: 'System',
};

/** One message in a line: who said it and its text, the searched words marked. */
function Preview({ event, words, names }: { event: ConversationEvent; words?: string; names: Record<string, string> }) {
  const who = names[event.originator.userId ?? ''] ?? SPEAKER[event.originator.role];
  const text = event.type === 'TEXT' ? (event.text ?? '') : textOf(event.content) || 'Structured content';
  return (
    <p className="preview-line">
      <span className="preview-who">{who}:</span> {marked(text, words)}
      {event.audience === 'AGENTS_AND_MANAGERS' && <span className="private-tag">Private</span>}
    </p>
  );
}

/** The "text" values of structured content, as the search indexes them. */
export function textOf(content: unknown, depth = 0): string {
  if (depth > 32 || content === null || typeof content !== 'object') return '';
  const own = (content as { text?: unknown }).text;
  const parts = typeof own === 'string' ? [own] : [];
  for (const value of Object.values(content)) if (typeof value === 'object') parts.push(textOf(value, depth + 1));
  return parts.filter(Boolean).join(' ');
}

/** The text with each word that starts with a searched term marked (case and accents aside). */
function marked(text: string, words?: string): ReactNode {
  const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const terms = words ? (fold(words).match(/[\p{L}\p{N}]+/gu) ?? []) : [];
  if (!terms.length) return text;
  // Word by word, so a word keeps its accents and case while it is compared without them.
  return text.split(/([\p{L}\p{N}]+)/u).map((part, i) =>
    // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one text, in order, never reordered
    terms.some((t) => fold(part).startsWith(t)) ? <mark key={i}>{part}</mark> : part,
  );
}
