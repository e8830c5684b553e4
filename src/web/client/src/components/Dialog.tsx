import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A modal dialog, for a decision that needs more said than window.confirm can (what it affects),
 * and for its outcome. The native <dialog> shown modal keeps focus inside and the page behind it
 * inert; Escape closes it like the caller's own close action, except while `busy`.
 */
export function Dialog({
  title,
  children,
  actions,
  busy = false,
  onClose,
}: {
  title: string;
  children: ReactNode;
  /** The buttons at its foot. */
  actions: ReactNode;
  busy?: boolean;
  onClose(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-busy={busy || undefined}
      onCancel={(event) => {
        // The dialog closes when its owner stops rendering it, not behind the owner's back.
        event.preventDefault();
        if (!busy) onClose();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="dialog-actions">{actions}</div>
    </dialog>
  );
}
