import { useState, type ReactNode } from 'react';
import { errorText } from '../lib/api';
import { Dialog } from './Dialog';
import { Notice } from './States';

/**
 * A decision the operator confirms: Cancel, or the one action (one that cannot be undone). While it runs the dialog cannot be
 * dismissed; when the server refuses, its reason shows in the dialog, which stays open so the
 * operator reads why (`onRefused` lets the page read its list again meanwhile).
 */
export function ConfirmDialog({
  title,
  confirm,
  confirming,
  refused,
  act,
  onDone,
  onRefused,
  onClose,
  children,
}: {
  title: string;
  /** The action's button, and what it says while the action runs. */
  confirm: string;
  confirming: string;
  /** What a refusal says before the server's reason: "Not removed". */
  refused: string;
  act(): Promise<unknown>;
  onDone(): void;
  onRefused?(): void;
  onClose(): void;
  /** What the action affects. */
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await act();
      onDone();
    } catch (e) {
      setFailure(`${refused}: ${errorText(e)}`);
      setBusy(false);
      onRefused?.();
    }
  };
  return (
    <Dialog
      title={title}
      busy={busy}
      onClose={onClose}
      actions={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" onClick={() => void run()} disabled={busy}>
            {busy ? confirming : confirm}
          </button>
        </>
      }
    >
      {children}
      {failure && <Notice tone="error">{failure}</Notice>}
    </Dialog>
  );
}
