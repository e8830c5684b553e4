import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WrongSecretKey, createSecretBox, isSealed, loadSecretKey, openStored } from '../../src/util/secret-box.js';

describe('secret box', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'botbridge-box-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('opens what it sealed; another key refuses with WrongSecretKey naming SECRET_KEY', () => {
    const box = createSecretBox(randomBytes(32));
    const sealed = box.seal('{"d":"private"}');
    assert.ok(isSealed(sealed));
    assert.ok(!sealed.includes('private'));
    assert.equal(box.open(sealed), '{"d":"private"}');
    assert.throws(
      () => createSecretBox(randomBytes(32)).open(sealed),
      (e: Error) => e instanceof WrongSecretKey && /SECRET_KEY/.test(e.message),
    );
    // Plaintext as the previous version stored it is never taken for sealed.
    assert.equal(isSealed('{"kty":"RSA"}'), false);
    assert.equal(isSealed(randomBytes(32).toString('base64')), false);
  });

  it('openStored seals plaintext by compare-and-set, then opens what the store holds', async () => {
    const box = createSecretBox(randomBytes(32));
    let row: string | undefined = 'plain-secret';
    const writes: string[] = [];
    const store = {
      reread: async () => row,
      sealIfUnchanged: async (plain: string, sealed: string) => {
        writes.push(sealed);
        if (row === plain) row = sealed;
      },
    };
    assert.equal(await openStored(box, 'the thing', row, store), 'plain-secret');
    assert.equal(writes.length, 1);
    assert.ok(isSealed(row!));
    // Sealed already: opened, nothing written.
    assert.equal(await openStored(box, 'the thing', row, store), 'plain-secret');
    assert.equal(writes.length, 1);

    // Another instance with another key sealed it first: this one's write finds the row changed,
    // reads back the other's value, and refuses to go on.
    const other = createSecretBox(randomBytes(32));
    row = 'plain-secret';
    const raced = {
      reread: async () => row,
      sealIfUnchanged: async (plain: string) => {
        row = other.seal(plain);
      },
    };
    await assert.rejects(openStored(box, 'signing key k1 in the store', 'plain-secret', raced), (e: Error) => {
      assert.ok(e instanceof WrongSecretKey);
      assert.match(e.message, /^signing key k1 in the store does not open with this server's SECRET_KEY/);
      return true;
    });
    // Gone: nothing to open.
    assert.equal(await openStored(box, 'x', undefined, store), undefined);
  });

  it('the key file: made 0600 on first use, the same key afterwards, never made when told not to', () => {
    const dir = tempDir();
    assert.throws(() => loadSecretKey(undefined, dir, { create: false }), /SECRET_KEY/);
    assert.deepEqual(readdirSync(dir), []);
    const key = loadSecretKey(undefined, dir);
    assert.equal(key.length, 32);
    assert.equal((statSync(join(dir, 'secret.key')).mode & 0o777).toString(8), '600');
    assert.deepEqual(loadSecretKey(undefined, dir), key);
    assert.deepEqual(loadSecretKey(undefined, dir, { create: false }), key);
    assert.deepEqual(readdirSync(dir), ['secret.key'], 'no temporary file left behind');
    const env = randomBytes(32);
    assert.deepEqual(loadSecretKey(env.toString('base64'), dir), env, 'SECRET_KEY wins over the file');
    assert.throws(() => loadSecretKey(randomBytes(16).toString('base64'), dir), /SECRET_KEY must be 32 bytes/);
    writeFileSync(join(dir, 'secret.key'), 'c2hvcnQ=\n');
    assert.throws(() => loadSecretKey(undefined, dir), /secret\.key must hold 32 bytes/);
  });
});
