import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES } from '../helpers/stores.js';
import { FAULTS, type NemesisReport, runNemesis, targetsMissed } from '../helpers/nemesis.js';

/**
 * Every fault once, small and with a fixed seed, against three instances on a PostgreSQL of this
 * file's own (it is restarted): the bot's driver killed, frozen and cut off from the database, and
 * the database restarted both ways. Under steady load nothing accepted is lost, every message is
 * answered once and in order, no instance dies of it, a stale driver sends the bot nothing, and the
 * cluster is back within coarse bounds of the (short) lease.
 */
const LEASE_TTL_MS = 3_000;

if (STORES.includes('postgres')) {
  describe('nemesis: faults under load on a three-instance cluster', { timeout: 230_000 }, () => {
    let report: NemesisReport | undefined;
    let failure: unknown;
    /** The run's progress, printed with a failure: when each fault began and what the instances did. */
    const timeline: string[] = [];
    const started = Date.now();

    before(async () => {
      try {
        report = await runNemesis({
          conversations: 10,
          ratePerConversation: 2,
          leaseTtlMs: LEASE_TTL_MS,
          renewMs: 750,
          seed: 7,
          beforeFaultMs: 2_000,
          afterFaultMs: 2_000,
          settleMs: 15_000,
          log: (line) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${line}`),
        });
      } catch (error) {
        // Each fault's test reports it, rather than the hook failing the suite without a word per fault.
        failure = error;
      }
    });

    for (const fault of FAULTS) {
      it(`${fault}: nothing lost, each message answered once in order, no exit, back in time`, () => {
        if (failure) throw new Error(`the run failed: ${String(failure)}\n${timeline.join('\n')}`);
        const row = report!.rows.find((r) => r.fault === fault);
        assert.ok(row, `no row for ${fault}`);
        const missed = targetsMissed(row, { leaseTtlMs: LEASE_TTL_MS });
        assert.deepEqual(
          missed,
          [],
          `${fault} missed ${missed.join('; ')}\n${JSON.stringify(row, null, 2)}\n${timeline.join('\n')}`,
        );
      });
    }
  });
}
