import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { holds, rateOf, ruleSettings, ruleText, type AlertRule } from '../../src/alerts/rules.js';

const rule = (over: Partial<AlertRule>): AlertRule => ({
  id: 'r',
  accountId: 'acme',
  kind: 'error-rate',
  threshold: 25,
  windowMinutes: 10,
  minCount: 4,
  createdAt: 0,
  ...over,
});

describe('alert rules (pure)', () => {
  it('fill in their defaults and refuse settings that make no sense together', () => {
    assert.deepEqual(ruleSettings({ kind: 'escalation-rate', threshold: 12.5 }), {
      kind: 'escalation-rate',
      threshold: 12.5,
      windowMinutes: 10,
      minCount: 10,
    });
    assert.deepEqual(ruleSettings({ kind: 'public-api-backlog', threshold: 40 }), {
      kind: 'public-api-backlog',
      threshold: 40,
      windowMinutes: 0,
      minCount: 0,
    });
    assert.throws(() => ruleSettings({ kind: 'error-rate', threshold: 100.5 }), /percentage/);
    assert.throws(() => ruleSettings({ kind: 'public-api-backlog', threshold: 0.5 }), /whole number/);
    assert.throws(() => ruleSettings({ kind: 'public-api-backlog', threshold: 5, windowMinutes: 3 }), /no bot, window/);
  });

  it('measure a rate only past the minimum count, and fire at or above the threshold', () => {
    const errors = rule({});
    const counts = { started: 2, escalated: 2, exchanges: 3, failedExchanges: 3 };
    assert.equal(rateOf(errors, counts), null, 'under the minimum count');
    assert.equal(holds(errors, null), false);
    assert.equal(rateOf(errors, { ...counts, exchanges: 8, failedExchanges: 2 }), 25);
    assert.equal(holds(errors, 25), true);
    assert.equal(holds(errors, 24.9), false);
    assert.equal(rateOf(errors, { ...counts, exchanges: 3, failedExchanges: 1 }), null);
    const escalations = rule({ kind: 'escalation-rate', minCount: 2 });
    assert.equal(rateOf(escalations, { started: 3, escalated: 1, exchanges: 0, failedExchanges: 0 }), 33.3);
  });

  it('say what fired and what ended', () => {
    const subject = { key: 'bot-1', botName: 'Helper', value: 40 };
    assert.equal(
      ruleText(rule({}), subject, 'firing', 0),
      'Bot “Helper” (bot-1) of account acme: 40 % of exchanges that went wrong in the last 10 min (threshold 25 %).',
    );
    assert.match(ruleText(rule({}), { ...subject, value: null }, 'resolved', 0), /too few exchanges/);
    assert.match(
      ruleText(
        rule({ kind: 'public-api-backlog', threshold: 5 }),
        { key: '', value: 7, oldestAt: 1_000 },
        'firing',
        31_000,
      ),
      /7 Public API jobs waiting \(threshold 5\); the oldest has waited 30 s/,
    );
  });
});
