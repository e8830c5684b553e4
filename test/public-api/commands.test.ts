import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLoginVersion, parseTtl } from '../../src/contract/public-api.js';

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
    for (const bad of [undefined, '1.30', '1', '', ['1.3', '1.3']])
      assert.equal(checkLoginVersion(bad).ok, false, `v=${JSON.stringify(bad)}`);
  });
});
