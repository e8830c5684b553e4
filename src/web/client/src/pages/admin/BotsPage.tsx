import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, adminApi, errorText } from '../../lib/api';
import { Link } from '../../lib/router';
import { ago } from '../../lib/format';
import { useNow } from '../../lib/use-async';
import { NotAllowed, useAccess } from '../../lib/access';
import type { AccountStats, Bot, BotStatus } from '../../lib/types';
import { Chart } from '../../components/Chart';
import { StatusBadge } from '../../components/StatusBadge';
import { Empty, ErrorState, Loading, Notice } from '../../components/States';

/** No bot stream exists: the list refetches this often while it is on screen. */
const POLL_MS = 3_000;
/** The sparklines' rollup changes by the minute. */
const STATS_POLL_MS = 30_000;

interface Props {
  token: string;
  accountId: string;
}

/** What a start or stop said, and the status it left the bot in: shown while the bot is still in it. */
type RowMessage = { tone: 'success' | 'error'; text: string; status: BotStatus };

/** Every bot of the account with its live status, load and last error; start, stop, edit, test. */
export function BotsPage({ token, accountId }: Props) {
  const api = useMemo(() => adminApi(token), [token]);
  // Creating, starting, stopping and testing bots need an admin: a viewer sees them only.
  const readOnly = useAccess().refusal('account:write', accountId);
  const [bots, setBots] = useState<Bot[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [messages, setMessages] = useState<Record<string, RowMessage>>({});
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const now = useNow(5_000);
  const [stats, setStats] = useState<AccountStats | null>(null);
  useEffect(() => {
    const load = () => api.accountStats(accountId, 'day').then(setStats, () => undefined);
    void load();
    const timer = window.setInterval(load, STATS_POLL_MS);
    return () => window.clearInterval(timer);
  }, [api, accountId]);

  const refresh = useCallback(
    async (signal?: AbortSignal) => {
      try {
        setBots(await api.bots(accountId, signal));
        setError(null);
      } catch (e) {
        if (!(e instanceof DOMException && e.name === 'AbortError')) setError(e);
      }
    },
    [api, accountId],
  );

  useEffect(() => {
    const controller = new AbortController();
    setBots(null);
    void refresh(controller.signal);
    const timer = window.setInterval(() => void refresh(controller.signal), POLL_MS);
    return () => {
      controller.abort();
      window.clearInterval(timer);
    };
  }, [refresh]);

  const lifecycle = async (bot: Bot, action: 'start' | 'stop') => {
    const held = bot.openConversations;
    if (
      action === 'stop' &&
      held > 0 &&
      !window.confirm(
        `Stop “${bot.name}”? It holds ${held} open conversation${held === 1 ? '' : 's'}, which it stops answering.`,
      )
    )
      return;
    setBusy((b) => ({ ...b, [bot.id]: true }));
    setMessages(({ [bot.id]: _old, ...rest }) => rest);
    try {
      const { status } = await (action === 'start' ? api.start(accountId, bot.id) : api.stop(accountId, bot.id));
      setMessages((m) => ({
        ...m,
        [bot.id]: { tone: 'success', text: action === 'start' ? `Started: ${status}` : 'Stopped', status },
      }));
    } catch (e) {
      const reason = e instanceof ApiError ? e.message : errorText(e);
      // A refusal leaves the status as it was.
      setMessages((m) => ({
        ...m,
        [bot.id]: { tone: 'error', text: `Could not ${action}: ${reason}`, status: bot.status },
      }));
    } finally {
      setBusy(({ [bot.id]: _done, ...rest }) => rest);
      void refresh();
    }
  };

  const acc = encodeURIComponent(accountId);
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Bots</h1>
          <p className="muted">Custom Endpoint bots of account {accountId}. Status updates every few seconds.</p>
        </div>
        {!readOnly && (
          <Link className="btn btn-primary" to={`/admin/accounts/${acc}/bots/new`}>
            Create bot
          </Link>
        )}
      </div>
      {readOnly && <NotAllowed what="Changing, starting, stopping or testing bots" reason={readOnly} />}

      {bots === null && error === null && <Loading>Loading bots…</Loading>}
      {bots === null && error !== null && (
        <ErrorState error={error} title="Could not load the bots" onRetry={() => void refresh()}>
          {/* The server's catch-all 404 says "no route …": the bot API itself is missing. */}
          {error instanceof ApiError && error.status === 404 && error.message.startsWith('no route') && (
            <p className="small">This server does not offer the bot API yet (404). Update botbridge, then try again.</p>
          )}
        </ErrorState>
      )}
      {bots !== null && error !== null && (
        <Notice tone="warning">Live status paused: {errorText(error)}. Retrying…</Notice>
      )}
      {bots !== null && bots.length === 0 && (
        <Empty
          title="No bots yet"
          action={
            !readOnly && (
              <Link className="btn btn-primary" to={`/admin/accounts/${acc}/bots/new`}>
                Create your first bot
              </Link>
            )
          }
        >
          Connect your Custom Endpoint service: give its base URL, bot id and the app installation’s credentials, test
          the connection, then start it.
        </Empty>
      )}
      {bots !== null && bots.length > 0 && (
        <div className="table-wrap">
          <table className="data-table">
            <caption className="visually-hidden">Bots of account {accountId}</caption>
            <thead>
              <tr>
                <th scope="col">Bot</th>
                <th scope="col">Status</th>
                <th scope="col">Open conversations</th>
                <th scope="col">Last 24 h</th>
                <th scope="col">Last error</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {bots.map((bot) => (
                <tr key={bot.id} data-bot={bot.id}>
                  <td data-label="Bot">
                    <Link to={`/admin/accounts/${acc}/bots/${encodeURIComponent(bot.id)}`} className="bot-name">
                      {bot.name}
                    </Link>
                    <div className="muted small">
                      {bot.conversationType === 'CHAT' ? 'Chat' : 'Messaging'} · skills {bot.skills.join(', ') || '—'}
                    </div>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={bot.status} />
                  </td>
                  <td data-label="Open conversations" className="num">
                    {bot.openConversations}
                    <span className="muted small"> / {bot.maxOpenConversations}</span>
                  </td>
                  <td data-label="Last 24 h">
                    <Activity
                      stats={stats}
                      bot={bot}
                      to={`/admin/accounts/${acc}/bots/${encodeURIComponent(bot.id)}/dashboard`}
                    />
                  </td>
                  <td data-label="Last error" className="last-error">
                    {bot.lastError ? (
                      <>
                        <code>{bot.lastError.code}</code> <span>{bot.lastError.message}</span>
                        <div className="muted small">{ago(bot.lastError.at, now)}</div>
                      </>
                    ) : (
                      <span className="muted">None</span>
                    )}
                  </td>
                  <td className="row-actions">
                    <div className="row-buttons">
                      {readOnly ? null : bot.status === 'OFFLINE' ? (
                        <button
                          type="button"
                          className="btn btn-small"
                          disabled={busy[bot.id]}
                          onClick={() => void lifecycle(bot, 'start')}
                          aria-label={`Start ${bot.name}`}
                        >
                          {busy[bot.id] ? 'Starting…' : 'Start'}
                        </button>
                      ) : (
                        <button
                          type="button"
                          className="btn btn-small"
                          disabled={busy[bot.id]}
                          onClick={() => void lifecycle(bot, 'stop')}
                          aria-label={`Stop ${bot.name}`}
                        >
                          {busy[bot.id] ? 'Stopping…' : 'Stop'}
                        </button>
                      )}
                      {!readOnly && (
                        <Link
                          className="btn btn-small"
                          to={`/admin/accounts/${acc}/tester?bot=${encodeURIComponent(bot.id)}`}
                          aria-label={`Test ${bot.name} in the tester`}
                        >
                          Test
                        </Link>
                      )}
                      <Link
                        className="btn btn-small"
                        to={`/admin/accounts/${acc}/bots/${encodeURIComponent(bot.id)}/dashboard`}
                        aria-label={`Dashboard of ${bot.name}`}
                      >
                        Dashboard
                      </Link>
                      <Link
                        className="btn btn-small"
                        to={`/admin/accounts/${acc}/bots/${encodeURIComponent(bot.id)}`}
                        aria-label={readOnly ? `Settings of ${bot.name}` : `Edit ${bot.name}`}
                      >
                        {readOnly ? 'Settings' : 'Edit'}
                      </Link>
                    </div>
                    {messages[bot.id]?.status === bot.status && (
                      <Notice tone={messages[bot.id].tone}>{messages[bot.id].text}</Notice>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** A bot's last day at a glance: exchanges and errors as a sparkline, with the totals, linking to its dashboard. */
function Activity({ stats, bot, to }: { stats: AccountStats | null; bot: Bot; to: string }) {
  const mine = stats?.bots.find((b) => b.botId === bot.id);
  if (!stats || !mine) return <span className="muted small">…</span>;
  const { exchanges, errors } = mine.totals;
  return (
    <Link
      to={to}
      className="activity"
      aria-label={`${bot.name}: ${exchanges} exchanges, ${errors} errors in the last 24 hours`}
    >
      <Chart
        spark
        height={32}
        label={`${bot.name}: exchanges and errors over the last 24 hours`}
        t={mine.series.t}
        series={[
          { label: 'exchanges', values: mine.series.exchanges, color: '#0d9488' },
          { label: 'errors', values: mine.series.errors, color: '#dc2626' },
        ]}
      />
      <span className="muted small">
        {exchanges.toLocaleString()} exchanges · {errors.toLocaleString()} errors
      </span>
    </Link>
  );
}
