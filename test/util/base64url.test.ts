import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isCanonicalBase64url, isCanonicalCompactJws } from '../../src/util/base64url.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('canonical base64url', () => {
  it('accepts what an encoder writes, for every length of input', () => {
    for (let n = 0; n <= 70; n++) {
      const encoded = randomBytes(n).toString('base64url');
      assert.ok(isCanonicalBase64url(encoded), `${n} bytes: ${encoded}`);
    }
    for (const text of ['', 'AA', 'AAA', 'AAAA', 'QQ', 'QUE', 'QUJD', '-_-_', 'wA']) {
      assert.ok(isCanonicalBase64url(text), text);
    }
  });

  it('refuses padding, the standard alphabet, whitespace and other characters', () => {
    for (const text of [
      'QQ==',
      'QUE=',
      'QQ=',
      '=',
      'QU+D',
      'QU/D',
      'QU D',
      'QUJD\n',
      ' QUJD',
      'QUJ.',
      'QUJ*',
      'QUJÄ',
      'QUJ%3D',
    ]) {
      assert.equal(isCanonicalBase64url(text), false, JSON.stringify(text));
    }
  });

  it('refuses a length that leaves one lone character', () => {
    for (const text of ['A', 'QUJDA', 'QUJDQUJDw']) assert.equal(isCanonicalBase64url(text), false, text);
  });

  it('refuses non-zero unused bits in the last character (another spelling of the same bytes)', () => {
    // 'QQ' is one byte 0x41 with the 4 unused bits zero; 'QR'..'QV' decode to the same byte.
    for (const text of ['QR', 'QS', 'QT', 'QV', 'Qf']) {
      assert.deepEqual(Buffer.from(text, 'base64url'), Buffer.from('A'), 'a lenient decoder reads the same byte');
      assert.equal(isCanonicalBase64url(text), false, text);
    }
    // 'QUE' is two bytes with 2 unused bits zero; 'QUF', 'QUG', 'QUH' decode to them as well.
    for (const text of ['QUF', 'QUG', 'QUH']) {
      assert.deepEqual(Buffer.from(text, 'base64url'), Buffer.from('AA'));
      assert.equal(isCanonicalBase64url(text), false, text);
    }
  });

  it('agrees with "decoding and encoding again gives the same text" on random strings of the alphabet', () => {
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const length = i % 13;
      const text = Array.from({ length }, () => ALPHABET[Math.floor(Math.random() * 64)]).join('');
      const roundTrips = length % 4 !== 1 && Buffer.from(text, 'base64url').toString('base64url') === text;
      assert.equal(isCanonicalBase64url(text), roundTrips, text);
      if (!roundTrips) refused++;
    }
    assert.ok(refused > 0, 'the sample held non-canonical strings');
  });

  it('a compact JWS: exactly three segments, every one canonical', () => {
    const [h, p, s] = ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiJ4In0', randomBytes(32).toString('base64url')];
    assert.ok(isCanonicalCompactJws(`${h}.${p}.${s}`));
    assert.equal(isCanonicalCompactJws(`${h}.${p}`), false);
    assert.equal(isCanonicalCompactJws(`${h}.${p}.${s}.${s}`), false);
    assert.equal(isCanonicalCompactJws(`${h}=.${p}.${s}`), false, 'padded header');
    assert.equal(isCanonicalCompactJws(`${h}.${p}=.${s}`), false, 'padded payload');
    assert.equal(isCanonicalCompactJws(`${h}.${p}.${s}=`), false, 'padded signature');
    // 32 bytes take 43 characters: the last one's 2 low bits are unused; setting one decodes the same.
    const spareBitSet = `${s.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(s.at(-1)!) | 1]}`;
    assert.deepEqual(Buffer.from(spareBitSet, 'base64url'), Buffer.from(s, 'base64url'));
    assert.equal(isCanonicalCompactJws(`${h}.${p}.${spareBitSet}`), false, 'spare bit set');
    assert.equal(
      isCanonicalCompactJws(`${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`),
      !/[-_]/.test(s),
      'standard alphabet',
    );
  });
});
