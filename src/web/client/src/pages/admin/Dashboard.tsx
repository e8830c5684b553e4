import { useCallback, useEffect, useMemo, useState } from 'react';
import { adminApi } from '../../lib/api';
import { Link } from '../../lib/router';
import { useAsync } from '../../lib/use-async';
import type { Bot, BotStats, ErrorCodeInfo, StatsWindow } from '../../lib/types';
import { Chart } from '../../components/Chart';
import { StatusBadge } from '../../components/StatusBadge';
import { Empty, ErrorState, Loading } from '../../components/States';

export const WINDOWS: Array<{ value: StatsWindow; label: string }> = [
  { value: 'hour', label: 'Last hour' },
  { value: 'day', label: 'Last day' },
  { value: 'week', label: 'Last week' },
];

/** Colours kept across charts: the same thing reads the same everywhere. */
const COLOR = {
  started: '#2563eb',
  escalated: '#d97706',
  closed: '#64748b',
  exchanges: '#0d9488',
  errors: '#dc2626',
  p50: '#2563eb',
  p95: '#7c3aed',
  open: '#0f766e',
};

/** Refreshed this often while on screen: a minute's rollup changes no faster. */
const REFRESH_MS = 30_000;

/**
 * One bot's health over a window, from the store's per-minute rollup: conversations it started,
 * escalated (and why) and closed, its exchanges by outcome, its service's latency, its errors by
 * code, and how many conversations it held.
 */
export function Dashboard({ token, accountId, botId }: { token: string; accountId: string; botId: string }) {
  const api = useMemo(() => adminApi(token), [token]);
  const [window, setWindow] = useState<StatsWindow>('day');
  const loadBot = useCallback(() => api.bot(accountId, botId), [api, accountId, botId]);
  const bot = useAsync(loadBot);
  const loadStats = useCallback(() => api.botStats(accountId, botId, window), [api, accountId, botId, window]);
  const stats = useAsync(loadStats);
  const [codes, setCodes] = useState<Record<string, ErrorCodeInfo>>({});
  useEffect(() => {
    api.errorCodes().then(setCodes, () => undefined);
  }, [api]);
  const { reload } = stats;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  const acc = encodeURIComponent(accountId);
  const id = encodeURIComponent(botId);
  return (
    <div className="page dashboard-page">
      <Link to={`/admin/accounts/${acc}/bots`} className="back-link">
        ← All bots
      </Link>
      <div className="page-head">
        <div>
          <h1>{bot.status === 'ready' ? bot.value.name : 'Bot'} · dashboard</h1>
          <p className="muted">
            {bot.status === 'ready' && <StatusBadge status={bot.value.status} />}{' '}
            <Link to={`/admin/accounts/${acc}/bots/${id}`}>Settings</Link> ·{' '}
            <Link to={`/admin/accounts/${acc}/tester?bot=${id}`}>Open in tester</Link>
          </p>
        </div>
        <WindowPicker value={window} onChange={setWindow} />
      </div>
      {bot.status === 'error' && <ErrorState error={bot.error} title="Could not load the bot" onRetry={bot.reload} />}
      {stats.status === 'loading' && <Loading>Loading the bot’s figures…</Loading>}
      {stats.status === 'error' && (
        <ErrorState error={stats.error} title="Could not load the figures" onRetry={stats.reload} />
      )}
      {stats.status === 'ready' && (
        <Figures stats={stats.value} codes={codes} bot={bot.status === 'ready' ? bot.value : null} />
      )}
    </div>
  );
}

export function WindowPicker({ value, onChange }: { value: StatsWindow; onChange(w: StatsWindow): void }) {
  return (
    <fieldset className="segmented" aria-label="Window">
      {WINDOWS.map((w) => (
        <label key={w.value} className={value === w.value ? 'is-on' : undefined}>
          <input
            type="radio"
            name="window"
            value={w.value}
            checked={value === w.value}
            onChange={() => onChange(w.value)}
          />
          {w.label}
        </label>
      ))}
    </fieldset>
  );
}

function Figures({ stats, codes, bot }: { stats: BotStats; codes: Record<string, ErrorCodeInfo>; bot: Bot | null }) {
  const { totals, series, latencyMs } = stats;
  const escalationRate = totals.started ? Math.round((totals.escalated / totals.started) * 100) : null;
  return (
    <>
      <dl className="tiles" aria-label="Totals">
        <Tile label="Conversations started" value={totals.started} name="started" />
        <Tile
          label="Escalated"
          value={totals.escalated}
          name="escalated"
          note={escalationRate === null ? undefined : `${escalationRate} % of started`}
        />
        <Tile label="Closed" value={totals.closed} name="closed" />
        <Tile label="Exchanges" value={totals.exchanges} name="exchanges" />
        <Tile label="Errors" value={totals.errors} name="errors" />
        <Tile
          label="Service latency p50 / p95"
          value={latencyMs.p50 === null ? '–' : `${latencyMs.p50} / ${latencyMs.p95} ms`}
          name="latency"
        />
        {bot && <Tile label="Open now" value={bot.openConversations} name="open-now" />}
      </dl>
      {totals.exchanges === 0 && totals.started === 0 ? (
        <Empty title="Nothing in this window">
          The bot had no conversations in it. Chat with it in the tester, and its figures show here within a minute.
        </Empty>
      ) : null}
      <div className="chart-grid">
        <ChartCard title="Conversations">
          <Chart
            label="Conversations started, escalated and closed per bucket"
            t={series.t}
            series={[
              { label: 'started', values: series.started, color: COLOR.started, bars: true },
              { label: 'escalated', values: series.escalated, color: COLOR.escalated },
              { label: 'closed', values: series.closed, color: COLOR.closed },
            ]}
          />
        </ChartCard>
        <ChartCard title="Exchanges and errors">
          <Chart
            label="Exchanges and errors per bucket"
            t={series.t}
            series={[
              { label: 'exchanges', values: series.exchanges, color: COLOR.exchanges, bars: true },
              { label: 'errors', values: series.errors, color: COLOR.errors },
            ]}
          />
        </ChartCard>
        <ChartCard title="Service latency">
          <Chart
            label="Bot service latency p50 and p95 per bucket, in milliseconds"
            t={series.t}
            unit=" ms"
            series={[
              { label: 'p50', values: series.latencyP50, color: COLOR.p50 },
              { label: 'p95', values: series.latencyP95, color: COLOR.p95 },
            ]}
          />
        </ChartCard>
        <ChartCard title="Open conversations">
          <Chart
            label="Conversations the bot held, per bucket"
            t={series.t}
            series={[{ label: 'open', values: series.open, color: COLOR.open }]}
          />
        </ChartCard>
      </div>
      <div className="breakdowns">
        <Breakdown title="Exchanges by outcome" counts={stats.exchangesByOutcome} name="outcomes" />
        <Breakdown title="Escalations by reason" counts={stats.escalationsByReason} name="reasons" />
        <Breakdown
          title="Errors by code"
          counts={stats.errorsByCode}
          name="codes"
          describe={(code) => codes[code]?.title}
        />
      </div>
    </>
  );
}

function Tile({ label, value, note, name }: { label: string; value: number | string; note?: string; name: string }) {
  return (
    <div className="tile" data-tile={name}>
      <dt>{label}</dt>
      <dd>
        <span className="tile-value">{typeof value === 'number' ? value.toLocaleString() : value}</span>
        {note && <span className="muted small">{note}</span>}
      </dd>
    </div>
  );
}

function ChartCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="card chart-card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function Breakdown({
  title,
  counts,
  name,
  describe,
}: {
  title: string;
  counts: Record<string, number>;
  name: string;
  describe?: (key: string) => string | undefined;
}) {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return (
    <section className="card breakdown" aria-label={title} data-breakdown={name}>
      <h2>{title}</h2>
      {rows.length ? (
        <table className="data-table compact">
          <tbody>
            {rows.map(([key, n]) => (
              <tr key={key} data-key={key}>
                <td>
                  <code>{key}</code>
                  {describe?.(key) && <span className="muted small"> {describe(key)}</span>}
                </td>
                <td className="num">{n.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted small">None in this window.</p>
      )}
    </section>
  );
}
