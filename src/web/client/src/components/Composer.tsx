import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';

interface Props {
  /** Resolves once sent: the field is cleared then; a rejection keeps the text. */
  onSend(text: string): Promise<unknown>;
  /** Called with true when typing starts and false after a pause or on send. */
  onTyping?(typing: boolean): void;
  disabled?: boolean;
  placeholder?: string;
  label: string;
  /** Extra controls between the field and the send button (e.g. the private-note toggle). */
  children?: ReactNode;
  sendLabel?: string;
}

const TYPING_IDLE_MS = 3_000;

/** A message field: Enter sends, Shift+Enter breaks the line; keeps the text if sending fails. */
export function Composer({
  onSend,
  onTyping,
  disabled,
  placeholder = 'Type a message',
  label,
  children,
  sendLabel = 'Send',
}: Props) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const typingTimer = useRef<number | undefined>(undefined);
  const typing = useRef(false);
  const field = useRef<HTMLTextAreaElement>(null);

  const stopTyping = () => {
    window.clearTimeout(typingTimer.current);
    if (typing.current) {
      typing.current = false;
      onTyping?.(false);
    }
  };
  useEffect(() => () => window.clearTimeout(typingTimer.current), []);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    const value = text.trim();
    if (!value || busy || disabled) return;
    setBusy(true);
    stopTyping();
    try {
      await onSend(value);
      setText('');
    } catch {
      // The caller shows the error; the text stays so nothing typed is lost.
    } finally {
      setBusy(false);
      field.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  };

  const onChange = (value: string) => {
    setText(value);
    if (!onTyping) return;
    if (!typing.current && value) {
      typing.current = true;
      onTyping(true);
    }
    window.clearTimeout(typingTimer.current);
    typingTimer.current = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  };

  return (
    <form className="composer" onSubmit={submit}>
      <textarea
        ref={field}
        aria-label={label}
        rows={1}
        value={text}
        placeholder={placeholder}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={stopTyping}
      />
      {children}
      <button type="submit" className="btn btn-primary" disabled={disabled || busy || !text.trim()}>
        {sendLabel}
      </button>
    </form>
  );
}
