import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import JsonPollock from 'json-pollock/dist/json-pollock.min.js';
import 'json-pollock/dist/json-pollock.min.css';

/**
 * json-pollock keeps one action registry per page. Rather than pointing it at whichever chat
 * rendered last, its actions re-dispatch a DOM event from the clicked element; the nearest
 * StructuredContent host catches it and hands the text to its own handler. Registering is
 * idempotent (unregister first), so a hot reload or a second import cannot double-send.
 */
const PUBLISH_TEXT = 'botbridge:publish-text';
JsonPollock.unregisterAction('publishText');
JsonPollock.registerAction('publishText', ({ actionData, uiEvent }) => {
  if (typeof actionData.text !== 'string') return;
  uiEvent?.target?.dispatchEvent(new CustomEvent(PUBLISH_TEXT, { bubbles: true, detail: { text: actionData.text } }));
});
JsonPollock.unregisterAction('link');
JsonPollock.registerAction('link', ({ actionData }) => {
  if (typeof actionData.uri === 'string' && /^https?:\/\//i.test(actionData.uri))
    window.open(actionData.uri, '_blank', 'noopener,noreferrer');
});
JsonPollock.unregisterAction('navigate');
JsonPollock.registerAction('navigate', ({ actionData }) => {
  if (typeof actionData.la === 'number' && typeof actionData.lo === 'number') {
    window.open(
      `https://www.openstreetmap.org/?mlat=${actionData.la}&mlon=${actionData.lo}`,
      '_blank',
      'noopener,noreferrer',
    );
  }
});

/**
 * json-pollock's carousel shows its "previous" arrow from the start, over the first card's title,
 * and names its arrows only "Previous"/"Next". Here each arrow shows only when there is something
 * that way, checked after the carousel settles (its own layout runs in a timeout, its slides in a
 * transition), and says what it moves. Returns the clean-up.
 */
function tidyCarousels(host: HTMLElement): () => void {
  const wrappers = [...host.querySelectorAll<HTMLElement>('.lp-json-pollock-layout-carousel-wrapper')];
  const settle = (wrapper: HTMLElement) => {
    const [previous, next] = wrapper.querySelectorAll<HTMLElement>(':scope > .lp-json-pollock-layout-carousel-arrow');
    const track = wrapper.querySelector<HTMLElement>(':scope > .lp-json-pollock-layout-carousel');
    if (!previous || !next || !track) return;
    previous.setAttribute('aria-label', 'Previous cards');
    next.setAttribute('aria-label', 'Next cards');
    const box = wrapper.getBoundingClientRect();
    const cards = [...track.children].map((c) => c.getBoundingClientRect());
    const before = cards.some((c) => c.left < box.left - 1);
    const after = cards.some((c) => c.right > box.right + 1);
    previous.style.visibility = before ? 'visible' : 'hidden';
    next.style.visibility = after ? 'visible' : 'hidden';
  };
  const timers: number[] = [];
  const listeners: Array<() => void> = [];
  for (const wrapper of wrappers) {
    timers.push(window.setTimeout(() => settle(wrapper), 50));
    const onMove = () => settle(wrapper);
    wrapper.addEventListener('transitionend', onMove);
    listeners.push(() => wrapper.removeEventListener('transitionend', onMove));
  }
  return () => {
    for (const timer of timers) window.clearTimeout(timer);
    for (const remove of listeners) remove();
  };
}

interface Props {
  content: unknown;
  /** Absent where clicking must not send anything (agent view, history). */
  onPublishText?: (text: string) => void;
}

/** Renders a structured-content body (cards, carousels, buttons...) the way LivePerson's web chat does. */
export function StructuredContent({ content, onPublishText }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);

  // json-pollock builds real DOM; React only owns the empty host it goes into.
  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return;
    el.replaceChildren();
    try {
      el.appendChild(JsonPollock.render(content));
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : 'could not render this content');
    }
    return tidyCarousels(el);
  }, [content]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const onPublish = (event: Event) => {
      event.stopPropagation();
      const text = (event as CustomEvent<{ text: string }>).detail.text;
      onPublishText?.(text);
    };
    el.addEventListener(PUBLISH_TEXT, onPublish);
    return () => el.removeEventListener(PUBLISH_TEXT, onPublish);
  }, [onPublishText]);

  return (
    <div className={`sc${onPublishText ? '' : ' sc-readonly'}`}>
      <div ref={host} className="sc-host" />
      {error && (
        <div className="sc-error" role="note">
          <strong>This structured content could not be shown.</strong> {error}
          <details>
            <summary>Raw content</summary>
            <pre>{JSON.stringify(content, null, 2)}</pre>
          </details>
        </div>
      )}
    </div>
  );
}
