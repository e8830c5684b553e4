import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { openStore, type Store } from '../../src/store/index.js';
import {
  CredentialAttempts,
  addressOf,
  attemptMigrations,
  type Attempt,
  type CredentialLimits,
} from '../../src/sentinel/attempts.js';
import { DomainError } from '../../src/errors.js';

const MINUTE = 60_000;

/** A clock the test moves by hand: windows are checked by arithmetic, never by waiting. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const wrong = async () => undefined;
const right = async () => 'user';

/** What one try ended in: 'ok', 'wrong', or the refusal with the seconds it says to wait. */
async function tryWith(
  attempts: CredentialAttempts,
  attempt: Attempt,
  verify: () => Promise<string | undefined> = wrong,
) {
  try {
    return (await attempts.verify(attempt, verify)) === undefined ? 'wrong' : 'ok';
  } catch (error) {
    assert.ok(
      error instanceof DomainError && error.kind === 'rate-limited' && error.code === 'too-many-attempts',
      String(error),
    );
    return { retryAfter: error.retryAfterSeconds };
  }
}

const limits = (perName: number, perAddress: number, windowMs = MINUTE): CredentialLimits => ({
  perName: { failures: perName, windowMs },
  perAddress: { failures: perAddress, windowMs },
});

describe('addressOf: the address a client is counted by', () => {
  it('IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by its /64', () => {
    assert.equal(addressOf('203.0.113.7'), '203.0.113.7');
    assert.equal(addressOf('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressOf('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressOf('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.equal(addressOf('::1'), '0:0:0:0::/64');
    assert.notEqual(addressOf('2001:db8:1:2::1'), addressOf('2001:db8:1:3::1'));
  });
});

for (const kind of STORES) {
  describe(`CredentialAttempts on the store (${kind})`, () => {
    let testStore: TestStore;
    let store: Store;
    const table = () =>
      (
        store.db as unknown as Kysely<{
          credential_failures: { key: string; failures: number; window_ends_at: number };
        }>
      ).selectFrom('credential_failures');

    before(async () => {
      testStore = await freshStore(kind);
      store = await openStore({ dataDir: testStore.dataDir, databaseUrl: testStore.databaseUrl });
      await store.migrate(attemptMigrations(store.dialect));
    });
    after(async () => {
      await store?.close();
      await testStore?.dispose();
    });

    it('a window opens at the first failure; locked to its end, then counting starts over', async () => {
      const clock = manualClock();
      const attempts = new CredentialAttempts(store, { now: clock.now, limits: { password: limits(3, 100) } });
      const alice: Attempt = { credential: 'password', accountId: 'window', name: 'alice', address: '198.51.100.1' };
      assert.equal(await tryWith(attempts, alice), 'wrong');
      clock.advance(20_000);
      assert.equal(await tryWith(attempts, alice), 'wrong');
      assert.equal(await tryWith(attempts, alice), 'wrong');
      // The window opened 20 s ago and lasts a minute.
      assert.deepEqual(await tryWith(attempts, alice, right), { retryAfter: 40 });
      clock.advance(39_500);
      assert.deepEqual(await tryWith(attempts, alice, right), { retryAfter: 1 }, 'part of a second is a whole one');
      clock.advance(500);
      assert.equal(await tryWith(attempts, alice), 'wrong', 'a new window');
      assert.equal(await tryWith(attempts, alice), 'wrong');
      assert.equal(await tryWith(attempts, alice, right), 'ok');
      // The same name in another account, and another credential of the same name, are counted apart.
      for (let i = 0; i < 3; i++) assert.equal(await tryWith(attempts, alice), 'wrong');
      assert.equal(await tryWith(attempts, { ...alice, accountId: 'other' }, right), 'ok');
      assert.equal(await tryWith(attempts, { ...alice, credential: 'client-secret' }, right), 'ok');
      assert.ok(typeof (await tryWith(attempts, alice, right)) === 'object');
    });

    it('a success gives the address its place back: right logins never lock an address', async () => {
      const clock = manualClock();
      const attempts = new CredentialAttempts(store, { now: clock.now, limits: { password: limits(3, 4) } });
      const at = (name: string): Attempt => ({
        credential: 'password',
        accountId: 'office',
        name,
        address: '198.51.100.2',
      });
      for (let i = 0; i < 10; i++) assert.equal(await tryWith(attempts, at(`agent-${i}`), right), 'ok');
      for (let i = 0; i < 4; i++) assert.equal(await tryWith(attempts, at(`typo-${i}`)), 'wrong');
      assert.ok(typeof (await tryWith(attempts, at('agent-0'), right)) === 'object', 'four failures from the address');
      assert.equal(
        await tryWith(attempts, { ...at('agent-0'), address: '198.51.100.3' }, right),
        'ok',
        'other addresses are not affected',
      );
    });

    it('concurrent tries are counted exactly: none slips in over the limit, none is lost under it', async () => {
      const clock = manualClock();
      const attempts = new CredentialAttempts(store, { now: clock.now, limits: { password: limits(5, 40) } });
      const at = (name: string, address = '198.51.100.4'): Attempt => ({
        credential: 'password',
        accountId: 'burst',
        name,
        address,
      });

      // Thirty at once at one name: exactly five are checked.
      const onOne = await Promise.all(
        Array.from({ length: 30 }, (_, i) => tryWith(attempts, at('alice', `192.0.2.${i}`))),
      );
      assert.equal(onOne.filter((o) => o === 'wrong').length, 5, JSON.stringify(onOne));
      assert.ok(onOne.every((o) => o === 'wrong' || (typeof o === 'object' && o.retryAfter === 60)));

      // Thirty at once under the address limit (forty): every one counted, so ten more fit.
      const spread = await Promise.all(Array.from({ length: 30 }, (_, i) => tryWith(attempts, at(`name-${i}`))));
      assert.deepEqual(new Set(spread), new Set(['wrong']));
      for (let i = 0; i < 10; i++) assert.equal(await tryWith(attempts, at(`more-${i}`)), 'wrong', `failure ${31 + i}`);
      assert.ok(typeof (await tryWith(attempts, at('one-more'))) === 'object', 'the forty-first is refused');
    });

    it('a check that throws is not counted', async () => {
      const clock = manualClock();
      const attempts = new CredentialAttempts(store, { now: clock.now, limits: { password: limits(2, 100) } });
      const bob: Attempt = { credential: 'password', accountId: 'errors', name: 'bob', address: '198.51.100.5' };
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          attempts.verify(bob, async () => {
            throw new Error('store unavailable');
          }),
          /store unavailable/,
        );
      }
      assert.equal(await tryWith(attempts, bob), 'wrong');
      assert.equal(await tryWith(attempts, bob, right), 'ok');
    });

    it('rows of ended windows are removed a batch at a time, so made-up names do not grow the table', async () => {
      const clock = manualClock(1_800_000_000_000);
      const attempts = new CredentialAttempts(store, { now: clock.now, limits: { 'client-secret': limits(1, 1) } });
      const at = (i: number): Attempt => ({
        credential: 'client-secret',
        accountId: 'flood',
        name: `client-${i}`,
        address: `203.0.113.${i % 250}`,
      });
      const expired = async () =>
        Number(
          (
            await table()
              .select((eb) => eb.fn.countAll().as('n'))
              .where('window_ends_at', '<=', clock.now())
              .executeTakeFirstOrThrow()
          ).n,
        );
      const total = async () =>
        Number(
          (
            await table()
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );

      for (let i = 0; i < 150; i++) await tryWith(attempts, at(i));
      clock.advance(MINUTE);
      const stale = await expired();
      assert.ok(stale >= 300, 'a row per client id and per address');

      let tries = 0;
      while ((await expired()) > 0) {
        const left = await expired();
        assert.equal(await tryWith(attempts, at(1000 + tries)), 'wrong');
        assert.ok((await expired()) < left, 'each try while a backlog remains removes some of it');
        assert.ok(++tries <= Math.ceil(stale / 50), `backlog of ${stale} still not cleared after ${tries} tries`);
      }
      assert.equal(await total(), 2 * tries, 'only the live windows of the last tries remain');
    });
  });
}
