import { useEffect, useLayoutEffect, useRef } from 'react';
import type { ConversationEvent, Originator } from '../lib/types';
import { time } from '../lib/format';
import { StructuredContent } from './StructuredContent';
import { QuickReplies } from './QuickReplies';

/**
 * Whose screen this is. The consumer (and the tester, which plays the consumer) sees their own
 * messages on the right; the agent sees theirs and the bot's on the right.
 */
export type Viewpoint = 'consumer' | 'agent';

interface Props {
  events: ConversationEvent[];
  viewpoint: Viewpoint;
  /** Show AGENTS_AND_MANAGERS entries (marked as private). The consumer never gets them anyway. */
  showPrivate?: boolean;
  /** Show transfers, assignments and TTR changes as system lines (operators and agents). */
  showSystem?: boolean;
  typing?: Partial<Record<Originator['role'], number>>;
  /** Buttons and quick replies send text only where a consumer is typing. */
  onPublishText?: (text: string) => void;
  emptyText?: string;
  label: string;
  /** The signed-in agent's user id, so their own assignment reads "Assigned to you". */
  selfUserId?: string;
  /** Names the viewer knows, by bot id or user id: "Assigned to Support bot" rather than an id. */
  names?: Readonly<Record<string, string>>;
  /** The viewer's own messages on their way to the server, shown faded until the log has them. */
  pending?: { key: number; text: string }[];
}

const SENDER: Record<Viewpoint, Record<Originator['role'], string>> = {
  consumer: { CONSUMER: 'You', BOT: 'Bot', AGENT: 'Agent', SYSTEM: 'System' },
  agent: { CONSUMER: 'Consumer', BOT: 'Bot', AGENT: 'Agent', SYSTEM: 'System' },
};

function isMine(viewpoint: Viewpoint, role: Originator['role']): boolean {
  return viewpoint === 'consumer' ? role === 'CONSUMER' : role === 'AGENT' || role === 'BOT';
}

function systemLine(
  e: ConversationEvent,
  selfUserId?: string,
  names: Readonly<Record<string, string>> = {},
): string | null {
  switch (e.type) {
    case 'TRANSFER':
      return `Transferred to skill “${e.skill?.name ?? '?'}”`;
    case 'ASSIGN':
      if (!e.assignee) return 'Back in the queue';
      if (e.assignee.userType === 'BOT') {
        const name = names[e.assignee.botId ?? ''] ?? names[e.assignee.userId];
        return name ? `Assigned to bot “${name}”` : 'Assigned to a bot';
      }
      if (e.assignee.userId === selfUserId) return 'Assigned to you';
      return `Assigned to ${names[e.assignee.userId] ? `agent “${names[e.assignee.userId]}”` : `agent #${e.assignee.userId}`}`;
    case 'CLOSE':
      return `Conversation closed${e.closeReason ? ` (${e.closeReason.toLowerCase()})` : ''}`;
    case 'TTR':
      return `Time to response set to ${e.ttr?.ttrType ?? '?'}${e.ttr?.value ? ` (${e.ttr.value}s)` : ''}`;
    case 'SDES':
      return 'Engagement attributes updated';
    default:
      return null;
  }
}

export function Transcript({
  events,
  viewpoint,
  showPrivate = false,
  showSystem = false,
  typing = {},
  onPublishText,
  emptyText,
  label,
  pending = [],
  selfUserId,
  names,
}: Props) {
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  // Follow new messages unless the reader scrolled up to read history.
  const onScroll = () => {
    const el = list.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };
  const typingRoles = (Object.keys(typing) as Originator['role'][]).filter((r) =>
    viewpoint === 'consumer' ? r !== 'CONSUMER' : r === 'CONSUMER',
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: the counts are what to react to (a new message, typing line or pending send), not values the effect reads
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [events.length, typingRoles.length, pending.length]);
  // Structured content grows after json-pollock loads images; keep the bottom in view.
  useEffect(() => {
    const el = list.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    });
    if (el.firstElementChild) observer.observe(el.firstElementChild);
    return () => observer.disconnect();
  }, []);

  const visible = events.filter((e) => showPrivate || e.audience === 'ALL');
  // Quick replies belong to the latest message only: once anything follows, they are history.
  const last = visible.filter((e) => e.type === 'TEXT' || e.type === 'RICH_CONTENT' || e.type === 'FILE').at(-1);

  return (
    // role=log: screen readers announce new messages as they arrive.
    <div
      className="transcript"
      ref={list}
      onScroll={onScroll}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the history scrolls on its own; a keyboard user can scroll it only once it can take focus (WCAG 2.1.1)
      tabIndex={0}
      role="log"
      aria-label={label}
    >
      <ol className="transcript-list">
        {!visible.length && emptyText && <li className="transcript-empty">{emptyText}</li>}
        {visible.map((e) => {
          const line = systemLine(e, selfUserId, names);
          if (line !== null) {
            if (!showSystem && e.type !== 'CLOSE') return null;
            return (
              <li key={e.sequence} className="system-line" data-type={e.type}>
                <span>{line}</span> <time>{time(e.serverTimestamp)}</time>
              </li>
            );
          }
          const mine = isMine(viewpoint, e.originator.role);
          const isPrivate = e.audience === 'AGENTS_AND_MANAGERS';
          const role = e.originator.role.toLowerCase();
          return (
            <li
              key={e.sequence}
              className={`msg msg-${mine ? 'mine' : 'theirs'} msg-${role}${isPrivate ? ' msg-private' : ''}`}
              data-sequence={e.sequence}
            >
              <div className="msg-meta">
                <span className="msg-sender">{SENDER[viewpoint][e.originator.role]}</span>
                {isPrivate && <span className="private-tag">Private · agents only</span>}
                <time dateTime={new Date(e.serverTimestamp).toISOString()}>{time(e.serverTimestamp)}</time>
              </div>
              {e.type === 'TEXT' && <div className="bubble">{e.text}</div>}
              {e.type === 'RICH_CONTENT' && (
                <div className="bubble bubble-rich">
                  <StructuredContent content={e.content} onPublishText={onPublishText} />
                </div>
              )}
              {e.type === 'FILE' && <div className="bubble bubble-file">📎 {fileName(e.file)}</div>}
              {/* A consumer only sees the current quick replies; reference views keep them all, inert. */}
              {e.quickReplies !== undefined && (e === last || !onPublishText) && (
                <QuickReplies value={e.quickReplies} onPick={e === last ? onPublishText : undefined} />
              )}
            </li>
          );
        })}
        {pending.map((p) => (
          <li key={`pending-${p.key}`} className="msg msg-mine msg-pending">
            <div className="msg-meta">
              <span className="msg-sender">{viewpoint === 'consumer' ? 'You' : 'Agent'}</span>
              <span>Sending…</span>
            </div>
            <div className="bubble">{p.text}</div>
          </li>
        ))}
        {typingRoles.map((role) => (
          <li key={`typing-${role}`} className="msg msg-theirs typing-line" role="status">
            <span className="visually-hidden">{SENDER[viewpoint][role]} is typing</span>
            <div className="bubble typing" aria-hidden="true" data-typing={role}>
              <span />
              <span />
              <span />
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}

function fileName(file: unknown): string {
  const f = file as { relativePath?: string; caption?: string } | undefined;
  return f?.caption || f?.relativePath?.split('/').at(-1) || 'file';
}
