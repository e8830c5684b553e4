import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { signHs256, verifyHs256 } from '../../src/sentinel/session-jwt.js';

/** Session tokens signed and checked with node:crypto's HMAC: the same JWTs jose makes and takes. */
describe('session tokens as HS256 JWTs (pure)', () => {
  const raw = randomBytes(32);
  const secret = createSecretKey(raw);
  const now = Math.floor(Date.now() / 1000);
  const claims = { acc: 'acme', knd: 'consumer', sub: 'u1', iss: 'botbridge', iat: now, exp: now + 60 };
  const check = (token: string, at = now) => verifyHs256(token, secret, { issuer: 'botbridge', nowSeconds: at });
  const segments = (token: string) => token.split('.');
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  /** A token with this header and payload, correctly signed: only the checks after the signature can refuse it. */
  const signedAs = (header: Record<string, unknown>, payload: unknown) => {
    const signed = `${b64(header)}.${b64(payload)}`;
    return `${signed}.${createHmac('sha256', raw).update(signed).digest('base64url')}`;
  };

  it('jose verifies what it signs, and it verifies what jose signs (tokens issued before the switch)', async () => {
    const ours = signHs256(claims, secret);
    const { payload } = await jwtVerify(ours, raw, { issuer: 'botbridge', algorithms: ['HS256'] });
    assert.equal(payload.sub, 'u1');
    const joses = await new SignJWT({ acc: 'acme', knd: 'consumer' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('u1')
      .setIssuer('botbridge')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(raw);
    const checked = check(joses);
    assert.ok('payload' in checked, JSON.stringify(checked));
    assert.deepEqual(checked.payload, claims);
  });

  it('refuses another key, a changed payload and a respelled signature', () => {
    const token = signHs256(claims, secret);
    assert.deepEqual(verifyHs256(token, createSecretKey(randomBytes(32)), { issuer: 'botbridge', nowSeconds: now }), {
      reason: 'invalid',
    });
    const [header, , signature] = segments(token);
    assert.deepEqual(check(`${header}.${b64({ ...claims, acc: 'other' })}.${signature}`), { reason: 'invalid' });
    assert.deepEqual(check(`${token}=`), { reason: 'invalid' });
    assert.deepEqual(check(`${header}.${segments(token)[1]}`), { reason: 'invalid' });
  });

  it('takes HS256 alone, and no critical extension', () => {
    assert.deepEqual(check(signedAs({ alg: 'none' }, claims)), { reason: 'invalid' });
    assert.deepEqual(check(signedAs({ alg: 'HS512' }, claims)), { reason: 'invalid' });
    assert.deepEqual(check(signedAs({ alg: 'HS256', crit: ['b64'], b64: false }, claims)), { reason: 'invalid' });
    assert.ok('payload' in check(signedAs({ alg: 'HS256' }, claims)));
  });

  it('wants our issuer, a numeric expiry in the future, numeric times', () => {
    assert.deepEqual(check(signedAs({ alg: 'HS256' }, { ...claims, iss: 'someone' })), { reason: 'invalid' });
    assert.deepEqual(check(signedAs({ alg: 'HS256' }, { ...claims, exp: undefined })), { reason: 'invalid' });
    assert.deepEqual(check(signedAs({ alg: 'HS256' }, { ...claims, exp: String(now + 60) })), {
      reason: 'invalid',
    });
    assert.deepEqual(check(signedAs({ alg: 'HS256' }, { ...claims, iat: 'yesterday' })), { reason: 'invalid' });
    assert.deepEqual(check(signedAs({ alg: 'HS256' }, { ...claims, nbf: now + 30 })), { reason: 'invalid' });
    assert.deepEqual(check(signedAs({ alg: 'HS256' }, [claims])), { reason: 'invalid' });
    const token = signHs256(claims, secret);
    assert.ok('payload' in check(token, now + 59));
    assert.deepEqual(check(token, now + 60), { reason: 'expired' });
  });
});
