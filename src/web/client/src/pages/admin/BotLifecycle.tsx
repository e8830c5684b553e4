import { useEffect, useState } from 'react';
import { errorText, type AdminApi } from '../../lib/api';
import { Link, useRouter } from '../../lib/router';
import { ago } from '../../lib/format';
import type { Bot, BotStatus } from '../../lib/types';
import { Notice } from '../../components/States';

interface Props {
  api: AdminApi;
  accountId: string;
  bot: Bot;
  onChange(bot: Bot): void;
}

/** Live state of a saved bot and what can be done with it: start, stop, test, delete. */
export function BotLifecycle({ api, accountId, bot, onChange }: Props) {
  const { navigate } = useRouter();
  const [busy, setBusy] = useState(false);
  /** What the last start or stop said, and the status it left the bot in (absent: any status). */
  const [message, setMessage] = useState<{ tone: 'success' | 'error'; text: string; status?: BotStatus } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);

  // Keep status, load and last error current while the page is open (no bot stream exists).
  useEffect(() => {
    const timer = window.setInterval(() => {
      api.bot(accountId, bot.id).then(onChange, () => undefined);
    }, 3_000);
    return () => window.clearInterval(timer);
  }, [api, accountId, bot.id, onChange]);

  const run = async (what: 'start' | 'stop') => {
    setBusy(true);
    setMessage(null);
    try {
      const { status } = what === 'start' ? await api.start(accountId, bot.id) : await api.stop(accountId, bot.id);
      setMessage({
        tone: 'success',
        text: what === 'start' ? `Started. Status: ${status}.` : 'Stopped. The bot takes no new conversations.',
        status,
      });
    } catch (e) {
      // A refusal leaves the status as it was.
      setMessage({ tone: 'error', text: `Could not ${what}: ${errorText(e)}`, status: bot.status });
    } finally {
      onChange(await api.bot(accountId, bot.id).catch(() => bot));
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    try {
      await api.deleteBot(accountId, bot.id);
      navigate(`/admin/accounts/${encodeURIComponent(accountId)}/bots`, { replace: true });
    } catch (e) {
      setMessage({ tone: 'error', text: `Could not delete: ${errorText(e)}` });
      setBusy(false);
      setConfirmDelete(false);
    }
  };

  return (
    <section className="card lifecycle" aria-label="Bot status and lifecycle">
      <dl className="lifecycle-facts">
        <div>
          <dt>Open conversations</dt>
          <dd>
            {bot.openConversations} <span className="muted small">of {bot.maxOpenConversations}</span>
          </dd>
        </div>
        <div className="lifecycle-error">
          <dt>Last error</dt>
          <dd>
            {bot.lastError ? (
              <>
                <code>{bot.lastError.code}</code> {bot.lastError.message}{' '}
                <span className="muted small">({ago(bot.lastError.at)})</span>
              </>
            ) : (
              <span className="muted">None</span>
            )}
          </dd>
        </div>
      </dl>
      <div className="lifecycle-actions">
        {bot.status === 'OFFLINE' ? (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run('start')}>
            {busy ? 'Starting…' : 'Start bot'}
          </button>
        ) : (
          <button type="button" className="btn" disabled={busy} onClick={() => void run('stop')}>
            {busy ? 'Stopping…' : 'Stop bot'}
          </button>
        )}
        <Link
          className="btn"
          to={`/admin/accounts/${encodeURIComponent(accountId)}/tester?bot=${encodeURIComponent(bot.id)}`}
        >
          Open in tester
        </Link>
        <span className="topbar-spacer" />
        {confirmDelete ? (
          <fieldset className="confirm" aria-label="Confirm deletion">
            <span className="small">Delete this bot? Its conversations go back to routing.</span>
            <button
              type="button"
              className="btn btn-danger btn-small"
              onClick={() => void remove()}
              disabled={busy}
              // biome-ignore lint/a11y/noAutofocus: the user just asked for this confirmation; the Delete… button they pressed is gone, so focus goes to what replaced it
              autoFocus
            >
              Yes, delete
            </button>
            <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </fieldset>
        ) : (
          <button type="button" className="btn btn-ghost" onClick={() => setConfirmDelete(true)}>
            Delete…
          </button>
        )}
      </div>
      {/* It describes the status the action left, so it goes when the status moves on (an interruption, another operator). */}
      {message && (message.status ?? bot.status) === bot.status && <Notice tone={message.tone}>{message.text}</Notice>}
    </section>
  );
}
