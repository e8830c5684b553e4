import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { invalid, notFound } from '../errors.js';
import { tablesOf, type Store } from '../store/index.js';
import type { AlertTables, Alerts } from './alerts.js';
import type { AlertEvent, RuleView } from './types.js';
import {
  holds,
  rateOf,
  ruleSettings,
  ruleText,
  type AlertRule,
  type RuleInput,
  type RuleKind,
  type Subject,
  type WindowCounts,
} from './rules.js';

/**
 * The watch: every instance checks the account's alert rules every little while against the
 * counts in the store, and keeps each rule's condition (per bot, or for the account) in the store
 * too. A condition's change of state is a conditional write — firing only where it was not,
 * resolved only where it fired since that moment — and the alert is written in the same
 * transaction: of instances that see the change together, one writes it, and a crash leaves
 * either both or neither. The alerts' own worker (alerts.ts) sends it.
 */

/** What the watch reads from the rest of the product (passed in by app.ts). */
export interface AlertSignals {
  /** The account's bots. */
  bots(accountId: string): Array<{ id: string; name: string }>;
  /** The account's bots with their counts in the minutes from `fromMinute` on. */
  botCounts(
    accountId: string,
    fromMinute: number,
  ): Promise<Array<{ botId: string; name: string; counts: WindowCounts }>>;
  /** The account's Public API jobs waiting for their turn. */
  publicApiBacklog(accountId: string): Promise<{ queued: number; oldestAt: number | null }>;
}

export interface WatchTimings {
  /** How often each instance checks the rules. */
  evaluateMs: number;
  /** How long alerts, sent or given up, stay listed before they are deleted. */
  keptMs: number;
  pruneEveryMs: number;
}

export const DEFAULT_WATCH_TIMINGS: WatchTimings = {
  evaluateMs: 30_000,
  keptMs: 30 * 24 * 3_600_000,
  pruneEveryMs: 3_600_000,
};

export interface AlertWatchDeps {
  store: Store;
  alerts: Alerts;
  signals: AlertSignals;
  log: Logger;
  timings?: Partial<WatchTimings>;
  now?: () => number;
}

type RuleRow = AlertTables['alert_rules'];
type StateRow = AlertTables['alert_rule_states'];

const MINUTE_MS = 60_000;

export class AlertWatch {
  private readonly db: Kysely<AlertTables>;
  private readonly timings: WatchTimings;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private prunedAt = 0;
  private closed = false;

  constructor(private readonly deps: AlertWatchDeps) {
    this.db = tablesOf<AlertTables>(deps.store.db);
    this.timings = { ...DEFAULT_WATCH_TIMINGS, ...deps.timings };
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => {
      // A round still under way (a slow store) is not doubled up.
      if (this.running || this.closed) return;
      this.running = this.round()
        .catch((err) => this.deps.log.warn({ err }, 'alerts: checking the rules failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.timings.evaluateMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  // ---- rules ----

  async rules(accountId: string): Promise<RuleView[]> {
    const rows = await this.db
      .selectFrom('alert_rules')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const states = rows.length
      ? await this.db
          .selectFrom('alert_rule_states')
          .selectAll()
          .where(
            'rule_id',
            'in',
            rows.map((r) => r.id),
          )
          .where('firing_since', 'is not', null)
          .execute()
      : [];
    const names = new Map(this.deps.signals.bots(accountId).map((b) => [b.id, b.name]));
    return rows.map((row) => ({
      ...ruleOf(row),
      firing: states
        .filter((s) => s.rule_id === row.id)
        .map((s) => ({
          subject: s.subject,
          ...(names.has(s.subject) ? { botName: names.get(s.subject) } : {}),
          since: Number(s.firing_since),
          value: s.value === null ? null : Number(s.value),
        })),
    }));
  }

  async addRule(accountId: string, input: RuleInput): Promise<RuleView> {
    const settings = ruleSettings(input);
    if (settings.botId !== undefined && !this.deps.signals.bots(accountId).some((b) => b.id === settings.botId))
      throw invalid(`unknown bot '${settings.botId}' in account '${accountId}'`, 'unknown-bot');
    const row: RuleRow = {
      id: randomUUID(),
      account_id: accountId,
      kind: settings.kind,
      threshold: settings.threshold,
      window_minutes: settings.windowMinutes,
      min_count: settings.minCount,
      bot_id: settings.botId ?? null,
      created_at: this.now(),
    };
    await this.db.insertInto('alert_rules').values(row).execute();
    return { ...ruleOf(row), firing: [] };
  }

  /** Removes the rule; a condition it was firing for ends without an alert (nothing watches it now). */
  async removeRule(accountId: string, id: string): Promise<void> {
    const removed = await this.deps.store.transact(async (tx) => {
      const db = tablesOf<AlertTables>(tx);
      const result = await db
        .deleteFrom('alert_rules')
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      await db.deleteFrom('alert_rule_states').where('rule_id', '=', id).execute();
      return Number(result.numDeletedRows) > 0;
    });
    if (!removed) throw notFound(`unknown alert rule '${id}'`);
  }

  // ---- checking ----

  /** Checks every rule once; an account whose check fails is logged and the others go on. */
  async round(): Promise<void> {
    const now = this.now();
    const rules = (await this.db.selectFrom('alert_rules').selectAll().execute()).map(ruleOf);
    const states = rules.length ? await this.db.selectFrom('alert_rule_states').selectAll().execute() : [];
    const stateOf = new Map<string, Map<string, StateRow>>();
    for (const state of states)
      stateOf.set(state.rule_id, (stateOf.get(state.rule_id) ?? new Map()).set(state.subject, state));
    const byAccount = new Map<string, AlertRule[]>();
    for (const rule of rules) byAccount.set(rule.accountId, [...(byAccount.get(rule.accountId) ?? []), rule]);
    for (const [accountId, accountRules] of byAccount) {
      if (this.closed) return;
      try {
        await this.checkAccount(accountId, accountRules, stateOf, now);
      } catch (err) {
        this.deps.log.warn({ err, accountId }, 'alerts: checking an account’s rules failed');
      }
    }
    if (now - this.prunedAt >= this.timings.pruneEveryMs) {
      this.prunedAt = now;
      await this.db
        .deleteFrom('alert_events')
        .where('created_at', '<', now - this.timings.keptMs)
        .where('state', '!=', 'pending')
        .execute();
    }
  }

  private async checkAccount(
    accountId: string,
    rules: AlertRule[],
    stateOf: Map<string, Map<string, StateRow>>,
    now: number,
  ): Promise<void> {
    // One read per distinct window and one of the backlog, however many rules share them.
    const counts = new Map<number, ReturnType<AlertSignals['botCounts']>>();
    const countsOver = (minutes: number) => {
      let read = counts.get(minutes);
      if (!read) {
        read = this.deps.signals.botCounts(accountId, Math.floor((now - minutes * MINUTE_MS) / MINUTE_MS) * MINUTE_MS);
        counts.set(minutes, read);
      }
      return read;
    };
    let backlog: ReturnType<AlertSignals['publicApiBacklog']> | undefined;
    for (const rule of rules) {
      let subjects: Subject[];
      if (rule.kind === 'public-api-backlog') {
        backlog ??= this.deps.signals.publicApiBacklog(accountId);
        const { queued, oldestAt } = await backlog;
        subjects = [{ key: '', value: queued, oldestAt }];
      } else {
        subjects = (await countsOver(rule.windowMinutes))
          .filter((bot) => rule.botId === undefined || bot.botId === rule.botId)
          .map((bot) => ({ key: bot.botId, botName: bot.name, value: rateOf(rule, bot.counts) }));
      }
      const states = stateOf.get(rule.id);
      for (const subject of subjects) {
        const since = states?.get(subject.key)?.firing_since;
        const firing = holds(rule, subject.value);
        if (firing && since == null) await this.fire(rule, subject, now);
        else if (!firing && since != null) await this.resolve(rule, subject, Number(since), now);
      }
      // A bot removed while its rule fired: nothing is left to watch, nor to say it ended.
      const gone = [...(states?.keys() ?? [])].filter((key) => !subjects.some((s) => s.key === key));
      if (gone.length)
        await this.db
          .deleteFrom('alert_rule_states')
          .where('rule_id', '=', rule.id)
          .where('subject', 'in', gone)
          .execute();
    }
  }

  /** Firing where it was not: the state's row written (or set again) only if it is not firing now. */
  private fire(rule: AlertRule, subject: Subject, now: number): Promise<void> {
    return this.transition(rule, subject, 'firing', now, now, (db) =>
      db
        .insertInto('alert_rule_states')
        .values({ rule_id: rule.id, subject: subject.key, firing_since: now, value: subject.value, changed_at: now })
        .onConflict((oc) =>
          oc
            .columns(['rule_id', 'subject'])
            .doUpdateSet({ firing_since: now, value: subject.value, changed_at: now })
            .where('alert_rule_states.firing_since', 'is', null),
        )
        .returning('rule_id')
        .execute(),
    );
  }

  /** Resolved where it fired since `since`, and only there. */
  private resolve(rule: AlertRule, subject: Subject, since: number, now: number): Promise<void> {
    return this.transition(rule, subject, 'resolved', since, now, (db) =>
      db
        .updateTable('alert_rule_states')
        .set({ firing_since: null, value: subject.value, changed_at: now })
        .where('rule_id', '=', rule.id)
        .where('subject', '=', subject.key)
        .where('firing_since', '=', since)
        .returning('rule_id')
        .execute(),
    );
  }

  /**
   * The condition's change and its alert in one transaction; the alert is keyed by the change
   * (the rule, the subject, when the firing began, which way it went), and written only if the
   * conditional `flip` changed a row here.
   */
  private async transition(
    rule: AlertRule,
    subject: Subject,
    state: 'firing' | 'resolved',
    since: number,
    now: number,
    flip: (db: Kysely<AlertTables>) => Promise<unknown[]>,
  ): Promise<void> {
    const event = eventOf(rule, subject, state, now);
    const written = await this.deps.store.transact(async (tx) => {
      const db = tablesOf<AlertTables>(tx);
      const flipped = await flip(db);
      return (
        flipped.length > 0 &&
        (await this.deps.alerts.enqueue(`rule:${rule.id}:${subject.key}:${since}:${state}`, event, db))
      );
    });
    if (written) this.deps.alerts.kick();
  }
}

function eventOf(rule: AlertRule, subject: Subject, state: 'firing' | 'resolved', at: number): AlertEvent {
  return {
    id: randomUUID(),
    accountId: rule.accountId,
    kind: rule.kind,
    at,
    text: ruleText(rule, subject, state, at),
    ...(subject.key ? { bot: { id: subject.key, name: subject.botName ?? subject.key } } : {}),
    rule: {
      id: rule.id,
      threshold: rule.threshold,
      ...(rule.kind !== 'public-api-backlog' ? { windowMinutes: rule.windowMinutes } : {}),
    },
    state,
    value: subject.value,
  };
}

function ruleOf(row: RuleRow): AlertRule {
  return {
    id: row.id,
    accountId: row.account_id,
    kind: row.kind as RuleKind,
    threshold: Number(row.threshold),
    windowMinutes: Number(row.window_minutes),
    minCount: Number(row.min_count),
    ...(row.bot_id !== null ? { botId: row.bot_id } : {}),
    createdAt: Number(row.created_at),
  };
}
