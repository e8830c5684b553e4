import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLimiter, LoginLimiter } from '../../src/public-api/login-limiter.js';
import { checkLoginVersion, parseTtl } from '../../src/public-api/commands.js';

/** A clock the test moves by hand: the window is checked by arithmetic, never by waiting. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('FailureLimiter', () => {
  it('blocks a key at the limit, for as long as its oldest counted failure stays in the window', () => {
    const clock = manualClock();
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 60_000, now: clock.now });
    limiter.fail('k');
    clock.advance(10_000);
    limiter.fail('k');
    assert.equal(limiter.retryAfter('k'), 0);
    limiter.fail('k');
    // Oldest failure at t0 leaves the window at t0+60 s; now is t0+10 s.
    assert.equal(limiter.retryAfter('k'), 50);
    assert.equal(limiter.retryAfter('other'), 0);
    clock.advance(50_000);
    assert.equal(limiter.retryAfter('k'), 0);
    limiter.fail('k');
    // Failures at +10 s, +10 s, +60 s: the first of them frees a slot at +70 s.
    assert.equal(limiter.retryAfter('k'), 10);
  });

  it('reset forgets a key; memory stays bounded by maxKeys, stalest first', () => {
    const clock = manualClock();
    const limiter = new FailureLimiter({ maxFailures: 1, windowMs: 60_000, maxKeys: 2, now: clock.now });
    limiter.fail('a');
    assert.ok(limiter.retryAfter('a') > 0);
    limiter.reset('a');
    assert.equal(limiter.retryAfter('a'), 0);
    limiter.fail('a');
    limiter.fail('b');
    limiter.fail('c');
    assert.equal(limiter.retryAfter('a'), 0, 'the stalest key was dropped');
    assert.ok(limiter.retryAfter('b') > 0);
    assert.ok(limiter.retryAfter('c') > 0);
  });
});

describe('LoginLimiter', () => {
  it('limits per user and per address; a success clears only the user', () => {
    const clock = manualClock();
    const limiter = new LoginLimiter(
      new FailureLimiter({ maxFailures: 4, windowMs: 60_000, now: clock.now }),
      new FailureLimiter({ maxFailures: 2, windowMs: 60_000, now: clock.now }),
    );
    limiter.failed('1.2.3.4', 'acme', 'alice');
    limiter.failed('1.2.3.4', 'acme', 'alice');
    assert.ok(limiter.retryAfter('5.6.7.8', 'acme', 'alice') > 0, 'the user is limited from any address');
    assert.equal(limiter.retryAfter('1.2.3.4', 'other', 'alice'), 0, 'the same name in another account is another user');
    limiter.succeeded('acme', 'alice');
    assert.equal(limiter.retryAfter('1.2.3.4', 'acme', 'alice'), 0);
    limiter.failed('1.2.3.4', 'acme', 'bob');
    limiter.failed('1.2.3.4', 'acme', 'carol');
    assert.ok(limiter.retryAfter('1.2.3.4', 'acme', 'dave') > 0, 'four failures from the address');
    assert.equal(limiter.retryAfter('5.6.7.8', 'acme', 'dave'), 0);
  });
});

describe('query checks', () => {
  it('ttl: default 30, whole seconds 10..120 only', () => {
    assert.deepEqual(parseTtl(undefined), { ok: true, value: 30 });
    for (const good of ['10', '120', '45']) assert.deepEqual(parseTtl(good), { ok: true, value: Number(good) });
    for (const bad of ['0', '9', '121', 'abc', '10.5', '', ' 10', '+10', '0x10', '1e2', ['10', '20']]) {
      assert.equal(parseTtl(bad).ok, false, `ttl=${JSON.stringify(bad)}`);
    }
  });

  it('v: exactly 1.3', () => {
    assert.equal(checkLoginVersion('1.3').ok, true);
    for (const bad of [undefined, '1.30', '1', '', ['1.3', '1.3']]) assert.equal(checkLoginVersion(bad).ok, false, `v=${JSON.stringify(bad)}`);
  });
});
