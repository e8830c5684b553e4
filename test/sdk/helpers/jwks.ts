import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { CUSTOM_ENDPOINT_SCOPE } from '../../../src/sdk/custom-endpoint/index.js';

/** A Sentinel signing key as the JWKS publishes it. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface Jwks {
  url: string;
  /** What the JWKS publishes; replace it to rotate. */
  keys: SigningKey[];
  /** How often the JWKS was fetched. */
  fetches: number;
  close(): Promise<void>;
}

/** A JWKS served by a real node:http server on loopback. */
export async function startJwks(keys: SigningKey[]): Promise<Jwks> {
  let server: Server | undefined;
  const jwks: Jwks = {
    url: '',
    keys,
    fetches: 0,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  server = createServer((_request, response) => {
    jwks.fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: jwks.keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwks.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/sentinel/well-known/jwks`;
  return jwks;
}

/** An app token as Sentinel mints it, with whatever the test changes (null: leave the claim out). */
export async function mint(
  key: SigningKey,
  claims: JWTPayload = {},
  options: { expiresIn?: string | number | null; issuer?: string; audience?: string | string[] | null } = {},
): Promise<string> {
  const jwt = new SignJWT({ scope: CUSTOM_ENDPOINT_SCOPE, client_id: 'app-1', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? 'Sentinel')
    .setSubject('app-1')
    .setIssuedAt();
  if (options.audience !== null) jwt.setAudience(options.audience ?? 'acme');
  if (options.expiresIn !== null) jwt.setExpirationTime(options.expiresIn ?? '1h');
  return jwt.sign(key.privateKey);
}
