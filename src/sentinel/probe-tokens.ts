import { randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt, generateKeyPair, type CryptoKey } from 'jose';
import { unauthorized } from '../errors.js';
import type { KeyRing } from './keys.js';
import { SENTINEL_ISSUER, type AppTokens } from './tokens.js';

/**
 * Tokens for the conformance check of one bot's service: its real app token, and tokens a
 * service must refuse, each one claim away from the real one (so a refusal tells which check the
 * service makes). Forged ones are signed with Sentinel's own current key: only a claim gives them
 * away. Minted here, sent only to the service under check, never accepted by botbridge.
 */
export class ProbeTokens {
  private stranger?: Promise<{ privateKey: CryptoKey }>;

  constructor(
    private readonly keys: KeyRing,
    private readonly apps: AppTokens,
    private readonly app: { accountId: string; clientId: string; clientSecret: string },
  ) {}

  async valid(): Promise<string> {
    const granted = await this.apps.grant(this.app.accountId, this.app.clientId, this.app.clientSecret);
    if (!granted)
      throw unauthorized(
        `the bot's app credentials (client id ${this.app.clientId}) get no token from Sentinel: fix them before checking the service`,
        'vendor-auth-rejected',
      );
    return granted.token;
  }

  async forged(wrong: 'audience' | 'issuer' | 'scope' | 'expired'): Promise<string> {
    const { kid, privateKey } = await this.keys.current();
    return this.signed(wrong, { alg: 'RS256', kid, typ: 'JWT' }, privateKey);
  }

  async unknownKey(): Promise<string> {
    this.stranger ??= generateKeyPair('RS256');
    const { privateKey } = await this.stranger;
    return this.signed(undefined, { alg: 'RS256', kid: `conformance-unknown-${randomUUID()}`, typ: 'JWT' }, privateKey);
  }

  async unsigned(): Promise<string> {
    const claims = decodeJwt(await this.valid());
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
  }

  private async signed(
    wrong: 'audience' | 'issuer' | 'scope' | 'expired' | undefined,
    header: { alg: 'RS256'; kid: string; typ: 'JWT' },
    key: CryptoKey,
  ): Promise<string> {
    const claims = decodeJwt(await this.valid());
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      scope: wrong === 'scope' ? 'conformance.not-a-custom-endpoint-scope' : claims.scope,
      client_id: claims.client_id,
    })
      .setProtectedHeader(header)
      .setIssuer(wrong === 'issuer' ? 'NotSentinel' : SENTINEL_ISSUER)
      .setAudience(wrong === 'audience' ? `conformance-other-account-${randomUUID().slice(0, 8)}` : this.app.accountId)
      .setSubject(this.app.clientId)
      .setIssuedAt(wrong === 'expired' ? now - 7200 : now)
      .setExpirationTime(wrong === 'expired' ? now - 3600 : now + 300)
      .sign(key);
  }
}
