import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { unauthorized } from '../errors.js';
import type { KeyRing } from './keys.js';
import { SENTINEL_ISSUER, signAppToken, type AppTokens } from './tokens.js';

/** Where the probes' tokens come from: the bot's real app token, and the key Sentinel signs with. */
export interface TokenSource {
  valid(): Promise<string>;
  signingKey(): Promise<{ kid: string; privateKey: CryptoKey }>;
}

/** The running server's Sentinel: the token of the app installation the bot refers to, signed with the current key. */
export function sentinelTokenSource(
  keys: KeyRing,
  apps: AppTokens,
  app: { accountId: string; clientId: string },
): TokenSource {
  return {
    async valid() {
      const granted = await apps.grantTo(app.accountId, app.clientId);
      if (!granted)
        throw unauthorized(
          `the bot's app installation (client id ${app.clientId}) is not installed in this account: pick another before checking the service`,
          'vendor-auth-rejected',
        );
      return granted.token;
    },
    signingKey: () => keys.current(),
  };
}

/**
 * A Sentinel of its own for a check with no server (`botbridge check`): a key made for the run,
 * its JWKS served on loopback at Sentinel's path, and app tokens shaped as Sentinel grants them.
 * The service under check is pointed at `jwksUrl` (or at `baseUrl` as its botbridge URL).
 */
export async function ephemeralSentinel(options: {
  accountId: string;
  clientId: string;
  scope: string;
  port?: number;
  host?: string;
}): Promise<TokenSource & { baseUrl: string; jwksUrl: string; close(): Promise<void> }> {
  const kid = `check-${randomUUID()}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server = createServer((request, response) => {
    const found = request.method === 'GET' && request.url?.split('?')[0] === JWKS_PATH;
    response.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(found ? { keys: [jwk] } : { error: { code: 'not-found', message: 'JWKS only' } }));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const baseUrl = `http://${host}:${(server.address() as { port: number }).port}`;
  return {
    baseUrl,
    jwksUrl: `${baseUrl}${JWKS_PATH}`,
    valid: () => signAppToken({ kid, privateKey }, options),
    signingKey: async () => ({ kid, privateKey }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sentinel's JWKS route on a botbridge server, kept by the ephemeral one so bots need no other setting. */
const JWKS_PATH = '/sentinel/well-known/jwks';

/**
 * Tokens for the conformance check of one bot's service: its real app token, and tokens a
 * service must refuse, each one claim away from the real one (so a refusal tells which check the
 * service makes). Forged ones are signed with Sentinel's own current key: only a claim gives them
 * away. Minted here, sent only to the service under check, never accepted by botbridge.
 */
export class ProbeTokens {
  private stranger?: Promise<{ privateKey: CryptoKey }>;

  constructor(
    private readonly source: TokenSource,
    private readonly app: { accountId: string; clientId: string },
  ) {}

  valid(): Promise<string> {
    return this.source.valid();
  }

  async forged(wrong: 'audience' | 'issuer' | 'scope' | 'expired'): Promise<string> {
    const { kid, privateKey } = await this.source.signingKey();
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
