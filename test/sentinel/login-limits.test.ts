import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Reply, type Running } from '../helpers/app.js';
import { PASSWORD, assertError, setUpAccount } from '../public-api/support.js';
import type { AttemptOptions, CredentialLimits } from '../../src/sentinel/attempts.js';
import { configFromEnv } from '../../src/config.js';

/**
 * The three places a credential is guessed at (agent login, Public API login, the Sentinel
 * client-credentials grant), through the real server on loopback: one client address for all.
 */

const MINUTE = 60_000;
const PER_NAME = 3;
const PER_ADDRESS = 8;
const LIMITS: CredentialLimits = {
  perName: { failures: PER_NAME, windowMs: MINUTE },
  perAddress: { failures: PER_ADDRESS, windowMs: MINUTE },
};

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const acc = 'acme';

interface Route {
  what: string;
  /** The 401 code of a wrong credential. */
  refusal: string;
  attempt(url: string, name: string, secret: string): Promise<Reply>;
}

const agentLogin: Route = {
  what: 'agent login',
  refusal: 'invalid-credentials',
  attempt: (url, username, password) => client(url).post(`/api/account/${acc}/agent/login`, { username, password }),
};

const apiLogin: Route = {
  what: 'Public API login',
  refusal: 'invalid-credentials',
  attempt: (url, username, password) => client(url).post(`/api/account/${acc}/login?v=1.3`, { username, password }),
};

const grant: Route = {
  what: 'Sentinel token grant',
  refusal: 'invalid_client',
  attempt: (url, clientId, clientSecret) =>
    client(url).call('POST', `/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`, undefined, {
      raw: new URLSearchParams({ client_id: clientId, client_secret: clientSecret }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
};

/** Sets up the account: HUMAN users alice and bob (PASSWORD), and an installed app. */
async function setUp(url: string): Promise<{ clientId: string; clientSecret: string }> {
  await setUpAccount(url, { acc, skills: [], users: ['alice', 'bob'] });
  const app = await client(url, { token: ADMIN_TOKEN }).post(`/admin/v1/accounts/${acc}/apps`, {
    name: 'bot',
    scope: 'thirdpartybots.customendpoint.bot',
  });
  assert.equal(app.status, 201);
  return { clientId: app.body.client_id, clientSecret: app.body.client_secret };
}

function assertLocked(res: Reply, what: string): number {
  assertError(res, 429, 'too-many-attempts');
  assert.match(res.body.error.message, /^too many failed (logins|token requests): try again in \d+ seconds$/, what);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter > 0,
    `${what}: Retry-After is whole seconds: ${res.headers.get('retry-after')}`,
  );
  return retryAfter;
}

describe('TRUST_PROXY', () => {
  it('names the proxies by address; unset, nobody’s X-Forwarded-For is believed', () => {
    const host = { hostname: 'h', pid: 1 };
    assert.equal(configFromEnv({}, host).trustProxy, undefined);
    assert.equal(configFromEnv({ TRUST_PROXY: ' ' }, host).trustProxy, undefined);
    assert.equal(configFromEnv({ TRUST_PROXY: '10.0.0.0/8, loopback' }, host).trustProxy, '10.0.0.0/8, loopback');
    // Believing every client's header, or any two hops, would let a guesser pick a new address per try.
    for (const unsafe of ['true', '2'])
      assert.throws(() => configFromEnv({ TRUST_PROXY: unsafe }, host), /names the proxies to believe/);
  });
});

for (const kind of STORES) {
  describe(`credential limits on every route (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let app: { clientId: string; clientSecret: string };
    const clock = manualClock();
    const options: AttemptOptions = { now: clock.now, limits: { password: LIMITS, 'client-secret': LIMITS } };

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, {}, { attempts: options });
      app = await setUp(running.url);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });
    // Every test starts after all earlier windows have ended.
    beforeEach(() => clock.advance(10 * MINUTE));

    const cases = [
      { route: agentLogin, known: () => 'alice', right: () => PASSWORD, other: () => 'bob' },
      { route: apiLogin, known: () => 'alice', right: () => PASSWORD, other: () => 'bob' },
      { route: grant, known: () => app.clientId, right: () => app.clientSecret, other: () => 'unknown-client' },
    ];

    for (const { route, known, right, other } of cases) {
      it(`${route.what}: an unknown name and a wrong secret get the same answer`, async () => {
        const wrongSecret = await route.attempt(running.url, known(), 'not it');
        const unknownName = await route.attempt(running.url, 'nobody-here', right());
        assertError(wrongSecret, 401, route.refusal);
        assert.equal(unknownName.status, wrongSecret.status);
        assert.deepEqual(unknownName.body, wrongSecret.body);
      });

      it(`${route.what}: after ${PER_NAME} failures a 429 with Retry-After, for the right secret too, until the window ends`, async () => {
        for (let i = 0; i < PER_NAME; i++)
          assertError(await route.attempt(running.url, known(), `guess ${i}`), 401, route.refusal);
        assert.equal(assertLocked(await route.attempt(running.url, known(), 'guess again'), route.what), 60);
        clock.advance(45_000);
        const locked = await route.attempt(running.url, known(), right());
        assert.equal(assertLocked(locked, `${route.what} with the right secret`), 15);
        assert.equal(
          locked.body.error.message,
          `too many failed ${route === grant ? 'token requests' : 'logins'}: try again in 15 seconds`,
        );
        // Another name is not locked by these failures.
        assert.equal((await route.attempt(running.url, other(), 'not it')).status, 401);
        clock.advance(15_000);
        assert.equal((await route.attempt(running.url, known(), right())).status, 200, 'the window has ended');
      });

      it(`${route.what}: a success clears the name's failures`, async () => {
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < PER_NAME - 1; i++)
            assertError(await route.attempt(running.url, known(), `guess ${i}`), 401, route.refusal);
          assert.equal((await route.attempt(running.url, known(), right())).status, 200, `round ${round}`);
        }
      });

      it(`${route.what}: failures from one address over many names lock the address`, async () => {
        for (let i = 0; i < PER_ADDRESS; i++)
          assertError(await route.attempt(running.url, `made-up-${i}`, 'guess'), 401, route.refusal);
        assertLocked(await route.attempt(running.url, known(), right()), `${route.what} from a locked address`);
        assertLocked(await route.attempt(running.url, 'made-up-new', 'guess'), `${route.what} from a locked address`);
      });
    }

    it('agent login and Public API login guard the same password: their failures add up', async () => {
      for (let i = 0; i < PER_NAME; i++) {
        const route = i % 2 ? agentLogin : apiLogin;
        assertError(await route.attempt(running.url, 'alice', `guess ${i}`), 401, 'invalid-credentials');
      }
      assertLocked(await agentLogin.attempt(running.url, 'alice', PASSWORD), 'agent login');
      assertLocked(await apiLogin.attempt(running.url, 'alice', PASSWORD), 'Public API login');
      // The grant's counts are its own.
      assert.equal((await grant.attempt(running.url, app.clientId, app.clientSecret)).status, 200);
    });

    it('thirty concurrent wrong passwords: exactly the allowed three are checked, the rest refused', async () => {
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => agentLogin.attempt(running.url, 'alice', `guess ${i}`)),
      );
      const statuses = replies.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 401).length, PER_NAME, statuses.join(' '));
      assert.equal(statuses.filter((s) => s === 429).length, 30 - PER_NAME, statuses.join(' '));
      assertLocked(await agentLogin.attempt(running.url, 'alice', PASSWORD), 'after the burst');
    });
  });

  describe(`credential limits survive a restart (${kind})`, () => {
    let store: TestStore;
    let running: Running | undefined;
    const options: AttemptOptions = { limits: { password: LIMITS, 'client-secret': LIMITS } };

    before(async () => {
      store = await freshStore(kind);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('a name locked before the restart is still locked after it', async () => {
      const first = await startApp(store, {}, { attempts: options });
      let app: { clientId: string; clientSecret: string };
      try {
        app = await setUp(first.url);
        for (let i = 0; i < PER_NAME; i++) {
          assert.equal((await agentLogin.attempt(first.url, 'alice', `guess ${i}`)).status, 401);
          assert.equal((await grant.attempt(first.url, app.clientId, `guess ${i}`)).status, 401);
        }
        assertLocked(await agentLogin.attempt(first.url, 'alice', PASSWORD), 'before the restart');
      } finally {
        await first.close();
      }
      running = await startApp(store, {}, { attempts: options });
      assertLocked(await agentLogin.attempt(running.url, 'alice', PASSWORD), 'agent login after the restart');
      assertLocked(await apiLogin.attempt(running.url, 'alice', PASSWORD), 'Public API login after the restart');
      assertLocked(await grant.attempt(running.url, app.clientId, app.clientSecret), 'grant after the restart');
      assert.equal((await agentLogin.attempt(running.url, 'bob', PASSWORD)).status, 200);
    });
  });

  describe(`credential limits behind a proxy (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const clock = manualClock();
    const options: AttemptOptions = { now: clock.now, limits: { password: LIMITS, 'client-secret': LIMITS } };
    const from = (address: string, username: string, password: string) =>
      client(running.url).call(
        'POST',
        `/api/account/${acc}/login?v=1.3`,
        { username, password },
        { headers: { 'x-forwarded-for': address } },
      );

    before(async () => {
      store = await freshStore(kind);
      // The test's requests come from loopback: that is the proxy.
      running = await startApp(store, { trustProxy: 'loopback' }, { attempts: options });
      await setUp(running.url);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });
    beforeEach(() => clock.advance(10 * MINUTE));

    it('with TRUST_PROXY, each client behind the proxy has its own address limit', async () => {
      for (let i = 0; i < PER_ADDRESS; i++)
        assertError(await from('203.0.113.7', `made-up-${i}`, 'guess'), 401, 'invalid-credentials');
      assertLocked(await from('203.0.113.7', 'bob', PASSWORD), 'the guessing client');
      assert.equal((await from('198.51.100.20', 'bob', PASSWORD)).status, 200, 'another client of the same proxy');
    });
  });

  describe(`credential limits without a trusted proxy (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const clock = manualClock();
    const options: AttemptOptions = { now: clock.now, limits: { password: LIMITS, 'client-secret': LIMITS } };

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, {}, { attempts: options });
      await setUp(running.url);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('a client cannot dodge the address limit with a made-up X-Forwarded-For', async () => {
      const forged = (i: number, username: string, password: string) =>
        client(running.url).call(
          'POST',
          `/api/account/${acc}/login?v=1.3`,
          { username, password },
          { headers: { 'x-forwarded-for': `192.0.2.${i}` } },
        );
      for (let i = 0; i < PER_ADDRESS; i++)
        assertError(await forged(i, `made-up-${i}`, 'guess'), 401, 'invalid-credentials');
      assertLocked(await forged(99, 'bob', PASSWORD), 'a new forged address');
    });
  });

  if (kind === 'postgres') {
    describe('credential limits shared by two instances on one PostgreSQL database', () => {
      let store: TestStore;
      let one: Running;
      let two: Running;
      // One clock for both, as synchronized hosts have.
      const clock = manualClock();
      const options: AttemptOptions = { now: clock.now, limits: { password: LIMITS, 'client-secret': LIMITS } };

      before(async () => {
        store = await freshStore('postgres');
        [one, two] = await Promise.all([
          startApp(store, {}, { attempts: options }),
          startApp(store, {}, { attempts: options }),
        ]);
        await setUp(one.url);
      });
      after(async () => {
        await one?.close();
        await two?.close();
        await store?.dispose();
      });
      beforeEach(() => clock.advance(10 * MINUTE));

      it('failures on one instance count on the other', async () => {
        for (let i = 0; i < PER_NAME; i++) {
          const via = i % 2 ? two : one;
          assert.equal((await apiLogin.attempt(via.url, 'alice', `guess ${i}`)).status, 401);
        }
        assertLocked(await apiLogin.attempt(one.url, 'alice', PASSWORD), 'instance one');
        assertLocked(await agentLogin.attempt(two.url, 'alice', PASSWORD), 'instance two');
      });

      it('concurrent failures spread over both instances are counted once each', async () => {
        const replies = await Promise.all(
          Array.from({ length: 30 }, (_, i) => agentLogin.attempt((i % 2 ? two : one).url, `spread-${i}`, 'guess')),
        );
        const statuses = replies.map((r) => r.status);
        // Thirty failures from one address (loopback) against its limit of eight.
        assert.equal(statuses.filter((s) => s === 401).length, PER_ADDRESS, statuses.join(' '));
        assert.equal(statuses.filter((s) => s === 429).length, 30 - PER_ADDRESS, statuses.join(' '));
      });
    });
  }
}
