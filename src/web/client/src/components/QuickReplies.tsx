/** LivePerson quick replies: `{type:"quickReplies", itemsPerRow?, replies:[button...]}` on a TEXT. */
interface QuickReplyButton {
  type?: string;
  title?: string;
  click?: { actions?: { type?: string; text?: string }[] };
}

export function quickReplyOptions(value: unknown): { title: string; text: string }[] {
  const replies = (value as { replies?: unknown } | null)?.replies;
  if (!Array.isArray(replies)) return [];
  return replies.flatMap((reply: QuickReplyButton) => {
    const publish = reply.click?.actions?.find((a) => a.type === 'publishText' && typeof a.text === 'string');
    const title = reply.title ?? publish?.text;
    return title && publish?.text ? [{ title, text: publish.text }] : [];
  });
}

interface Props {
  value: unknown;
  /** Absent: shown for reference only (agent view, or replies that are no longer current). */
  onPick?: (text: string) => void;
}

export function QuickReplies({ value, onPick }: Props) {
  const options = quickReplyOptions(value);
  if (!options.length) return null;
  return (
    <fieldset className="quick-replies" aria-label="Quick replies">
      {options.map((o, i) => (
        <button
          // biome-ignore lint/suspicious/noArrayIndexKey: a message's replies are fixed, never reordered, and titles may repeat
          key={`${i}-${o.title}`}
          type="button"
          className="quick-reply"
          disabled={!onPick}
          onClick={() => onPick?.(o.text)}
        >
          {o.title}
        </button>
      ))}
    </fieldset>
  );
}
