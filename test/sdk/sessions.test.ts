import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSessions } from '../../src/sdk/custom-endpoint/sqlite-sessions.js';
import {
  MemorySessions,
  type Session,
  type SessionKey,
  type SessionStore,
} from '../../src/sdk/custom-endpoint/index.js';

interface DialogState {
  step: string;
  answers: string[];
}

const key = (conversationId: string, accountId = 'acme'): SessionKey => ({
  accountId,
  botId: 'bot-1',
  environment: 'draft',
  conversationId,
});

const session = (at: number, state: DialogState = { step: 'start', answers: [] }): Session<DialogState> => ({
  sdes: { unauthenticatedSdes: { customerInfo: { type: 'ctmrinfo', info: { customerId: 'c-1' } } } },
  context: { type: 'MESSAGING', skillId: 7, engagementId: 1234, visitor: { sharkVisitorId: 'v-1' } },
  state,
  createdAt: at,
  updatedAt: at,
});

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-sessions-'));
  dirs.push(dir);
  return join(dir, 'sessions.sqlite');
}

/** What every SessionStore must do; `make` builds one with a clock the test moves. */
function behavesAsASessionStore(
  name: string,
  make: (options: { idleMs: number; now: () => number }) => SessionStore<DialogState> & { close?(): void },
) {
  describe(`${name}: a session store`, () => {
    it('keeps a session by conversation, bot, environment and account', async () => {
      let now = 1_000;
      const store = make({ idleMs: 60_000, now: () => now });
      assert.equal(await store.get(key('c-1')), undefined);
      await store.set(key('c-1'), session(now));
      assert.deepEqual(await store.get(key('c-1')), session(1_000));
      // Another account's conversation of the same id is another conversation.
      assert.equal(await store.get(key('c-1', 'globex')), undefined);
      assert.equal(await store.get({ ...key('c-1'), environment: 'production' }), undefined);
      now += 10;
      await store.set(key('c-1'), { ...session(1_000, { step: 'asked', answers: ['yes'] }), updatedAt: now });
      const updated = await store.get(key('c-1'));
      assert.deepEqual(updated?.state, { step: 'asked', answers: ['yes'] });
      assert.equal(updated?.createdAt, 1_000);
      assert.equal(updated?.updatedAt, 1_010);
      store.close?.();
    });

    it('hands out copies: changing one does not change what is stored', async () => {
      const store = make({ idleMs: 60_000, now: () => 1_000 });
      const original = session(1_000);
      await store.set(key('c-2'), original);
      original.state.answers.push('after set');
      const first = await store.get(key('c-2'));
      first!.state.step = 'changed';
      assert.deepEqual((await store.get(key('c-2')))?.state, { step: 'start', answers: [] });
      store.close?.();
    });

    it('deletes, saying whether there was a session', async () => {
      const store = make({ idleMs: 60_000, now: () => 1_000 });
      await store.set(key('c-3'), session(1_000));
      assert.equal(await store.delete(key('c-3')), true);
      assert.equal(await store.delete(key('c-3')), false);
      assert.equal(await store.get(key('c-3')), undefined);
      store.close?.();
    });

    it('forgets a session idle for longer than idleMs', async () => {
      let now = 1_000;
      const store = make({ idleMs: 60_000, now: () => now });
      await store.set(key('c-4'), session(now));
      now += 60_000;
      assert.ok(await store.get(key('c-4')), 'kept up to idleMs');
      now += 1;
      assert.equal(await store.get(key('c-4')), undefined);
      store.close?.();
    });
  });
}

behavesAsASessionStore('MemorySessions', (options) => new MemorySessions<DialogState>(options));
behavesAsASessionStore('SqliteSessions', (options) => new SqliteSessions<DialogState>(tempFile(), options));

describe('MemorySessions: bounded', () => {
  it('forgets the least recently written session beyond its capacity', async () => {
    const store = new MemorySessions<DialogState>({ capacity: 2, now: () => 10 });
    await store.set(key('a'), session(1));
    await store.set(key('b'), session(2));
    await store.set(key('a'), session(3));
    await store.set(key('c'), session(4));
    assert.equal(store.size, 2);
    assert.equal(await store.get(key('b')), undefined);
    assert.ok(await store.get(key('a')));
    assert.ok(await store.get(key('c')));
  });
});

describe('SqliteSessions: durable', () => {
  it('survives closing and reopening the file: a restarted service keeps its conversations', async () => {
    const file = tempFile();
    const first = new SqliteSessions<DialogState>(file);
    const now = Date.now();
    await first.set(key('kept'), session(now, { step: 'asked', answers: ['blue'] }));
    await first.set(key('dropped'), session(now));
    await first.delete(key('dropped'));
    first.close();

    const reopened = new SqliteSessions<DialogState>(file);
    assert.deepEqual(await reopened.get(key('kept')), session(now, { step: 'asked', answers: ['blue'] }));
    assert.equal(await reopened.get(key('dropped')), undefined);
    reopened.close();
  });

  it('keeps its file readable by its owner only (SDES is personal data)', () => {
    const file = tempFile();
    const store = new SqliteSessions(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    store.close();
  });

  it('sweeps idle sessions when opened and on writes', async () => {
    const file = tempFile();
    let now = 1_000_000;
    const store = new SqliteSessions<DialogState>(file, { idleMs: 1_000, now: () => now });
    await store.set(key('old'), session(now));
    await store.set(key('new'), session(now + 5_000));
    now += 2_000;
    assert.equal(store.sweep(), 1);
    store.close();
    now += 10_000;
    const reopened = new SqliteSessions<DialogState>(file, { idleMs: 1_000, now: () => now });
    assert.equal(await reopened.get(key('new')), undefined);
    assert.equal(reopened.sweep(), 0, 'already swept when opened');
    reopened.close();
  });
});
