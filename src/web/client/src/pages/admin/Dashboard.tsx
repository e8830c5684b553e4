import { useCallback, useEffect, useMemo, useState } from 'react';
import { adminApi } from '../../lib/api';
import { Link } from '../../lib/router';
import { dateTime } from '../../lib/format';
import { useAsync } from '../../lib/use-async';
import { useAccess } from '../../lib/access';
import type { BotStats, ErrorCodeInfo, StatsWindow } from '../../lib/types';
import { conversationsHref } from './ConversationsPage';
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

/**
 * Refreshed this often while on screen: counts are written within moments of what they count, so
 * a tile that waited for the minute's rollup read 0 just after the tester closed a conversation.
 */
const REFRESH_MS = 5_000;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

type Series = BotStats['series'];

/** The first bucket with anything in it, or -1. */
function firstActive(series: Series): number {
  return series.t.findIndex(
    (_, i) =>
      series.started[i] > 0 ||
      series.exchanges[i] > 0 ||
      series.closed[i] > 0 ||
      series.escalated[i] > 0 ||
      (series.open[i] ?? 0) > 0,
  );
}

/** The fewest buckets a chart keeps when the empty ones before the bot's first activity go. */
const MIN_BUCKETS = 8;

/**
 * The series from shortly before the bot's first activity in the window: the empty time before
 * a bot existed is not drawn, so a young bot's figures fill the chart instead of a spike at its
 * right edge. Returns where the kept buckets start.
 */
export function fromFirstActivity(series: Series): { series: Series; start: number } {
  const first = firstActive(series);
  const start = first < 0 ? 0 : Math.max(0, Math.min(first - 2, series.t.length - MIN_BUCKETS));
  if (start === 0) return { series, start };
  const from = <T,>(values: T[]) => values.slice(start);
  return {
    start,
    series: {
      t: from(series.t),
      started: from(series.started),
      escalated: from(series.escalated),
      closed: from(series.closed),
      exchanges: from(series.exchanges),
      errors: from(series.errors),
      latencyP50: from(series.latencyP50),
      latencyP95: from(series.latencyP95),
      open: from(series.open),
    },
  };
}

/**
 * The window that shows all of the bot's recent activity at the finest grain: a new bot's first
 * minutes are a chart across the hour, not one spike at the right edge of a day. Read from the
 * week's buckets (an hour each, so the first active bucket starts at most an hour early).
 */
export function windowShowing(week: BotStats, now = Date.now()): StatsWindow {
  const first = firstActive(week.series);
  if (first < 0) return 'hour';
  const age = now - week.series.t[first];
  return age <= HOUR_MS ? 'hour' : age <= DAY_MS ? 'day' : 'week';
}

/**
 * One bot's health over a window, from the store's per-minute rollup: conversations it started,
 * escalated (and why) and closed, its exchanges by outcome, its service's latency, its errors by
 * code, and how many conversations it held.
 */
export function Dashboard({ token, accountId, botId }: { token: string; accountId: string; botId: string }) {
  const api = useMemo(() => adminApi(token), [token]);
  // Unset until the week's figures say which window shows the bot's data.
  const [window, setWindow] = useState<StatsWindow | null>(null);
  const loadBot = useCallback(() => api.bot(accountId, botId), [api, accountId, botId]);
  const bot = useAsync(loadBot, { refreshMs: REFRESH_MS });
  const loadStats = useCallback(async () => {
    if (window) return api.botStats(accountId, botId, window);
    const week = await api.botStats(accountId, botId, 'week');
    const shown = windowShowing(week);
    setWindow(shown);
    return shown === 'week' ? week : api.botStats(accountId, botId, shown);
  }, [api, accountId, botId, window]);
  const stats = useAsync(loadStats, { refreshMs: REFRESH_MS });
  const [codes, setCodes] = useState<Record<string, ErrorCodeInfo>>({});
  useEffect(() => {
    api.errorCodes().then(setCodes, () => undefined);
  }, [api]);

  const mayTest = useAccess().may('account:write', accountId);
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
            {mayTest && (
              <>
                <Link to={`/admin/accounts/${acc}/tester?bot=${id}`}>Open in tester</Link> ·{' '}
              </>
            )}
            <Link
              to={conversationsHref(accountId, {
                bot: botId,
                from: stats.status === 'ready' ? stats.value.from : undefined,
              })}
            >
              Its conversations
            </Link>
          </p>
        </div>
        {window && <WindowPicker value={window} onChange={setWindow} />}
      </div>
      {bot.status === 'error' && <ErrorState error={bot.error} title="Could not load the bot" onRetry={bot.reload} />}
      {stats.status === 'loading' && <Loading>Loading the bot’s figures…</Loading>}
      {stats.status === 'error' && (
        <ErrorState error={stats.error} title="Could not load the figures" onRetry={stats.reload} />
      )}
      {stats.status === 'ready' && <Figures stats={stats.value} codes={codes} />}
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

function Figures({ stats, codes }: { stats: BotStats; codes: Record<string, ErrorCodeInfo> }) {
  const { totals, latencyMs } = stats;
  const { series, start } = fromFirstActivity(stats.series);
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
        <Tile label="Open now" value={stats.openNow} name="open-now" />
      </dl>
      <p className="muted small">
        The tester’s conversations count like any other. Escalated: handed to the escalation skill; closed: closed while
        the bot held them.
      </p>
      {totals.exchanges === 0 && totals.started === 0 ? (
        <Empty title="Nothing in this window">
          The bot had no conversations in it. Chat with it in the tester, and its figures show here within a minute.
        </Empty>
      ) : null}
      {start > 0 && (
        <p className="muted small" data-charts-from={series.t[0]}>
          The charts start at {dateTime(series.t[0])}, just before the bot’s first activity in this window.
        </p>
      )}
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
