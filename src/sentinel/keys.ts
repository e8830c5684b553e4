import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';
import type { Store } from '../store/index.js';
import { isUniqueViolation } from '../store/index.js';
import { openStored, type SecretBox } from '../util/secret-box.js';

/** App tokens live an hour; a retired key stays published this long so none of its tokens orphan. */
export const APP_TOKEN_TTL_SECONDS = 3600;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * The RS256 signing keys, kept in the store so every instance (and every restart) signs and
 * verifies with the same keys. The newest key signs; retired keys stay in the JWKS until the
 * last token they signed has expired, then they are pruned. Private halves are sealed with the
 * secret box: whoever reads the store (a backup, a local user of the SQLite file) cannot sign.
 */
export class KeyRing {
  private cached?: { kid: string; key: SigningKey };

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  /** The key that signs now, created on first use of an empty store. */
  async current(): Promise<SigningKey> {
    const row = await this.newest();
    if (!row) {
      await this.insertKey();
      return this.current();
    }
    if (this.cached?.kid !== row.kid) {
      const privateJwk = await this.openPrivateJwk(row.kid, row.private_jwk);
      // Pruned between the two reads: the next newest signs.
      if (privateJwk === undefined) return this.current();
      const privateKey = (await importJWK(JSON.parse(privateJwk) as JWK, 'RS256')) as CryptoKey;
      this.cached = { kid: row.kid, key: { kid: row.kid, privateKey } };
    }
    return this.cached.key;
  }

  /**
   * Seals the private keys an earlier version stored in plaintext, retired ones too, and opens
   * every stored one: a store sealed with another SECRET_KEY fails here, at start, with the reason.
   */
  async sealAtRest(): Promise<void> {
    const rows = await this.store.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    for (const row of rows) await this.openPrivateJwk(row.kid, row.private_jwk);
  }

  private openPrivateJwk(kid: string, stored: string): Promise<string | undefined> {
    const db = this.store.db;
    return openStored(this.box, `signing key ${kid} in the store`, stored, {
      reread: async () =>
        (await db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', kid).executeTakeFirst())
          ?.private_jwk,
      sealIfUnchanged: async (plain, sealed) => {
        await db
          .updateTable('signing_keys')
          .set({ private_jwk: sealed })
          .where('kid', '=', kid)
          .where('private_jwk', '=', plain)
          .execute();
      },
    });
  }

  /**
   * Makes a new signing key and retires the previous one. Tokens signed by the previous key keep
   * verifying: its public half stays in the JWKS for one token lifetime.
   */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const now = Date.now();
    // Key generation (slow) happens outside the transaction; retiring and inserting happen in
    // one, so a token grant in between never sees "no active key" and mints one of its own.
    const fresh = await newKeyRow(this.box);
    const retired = await this.store.db.transaction().execute(async (tx) => {
      const rows = await tx
        .updateTable('signing_keys')
        .set({ retired_at: now })
        .where('retired_at', 'is', null)
        .returning('kid')
        .execute();
      await tx.insertInto('signing_keys').values(fresh).execute();
      return rows;
    });
    const kid = fresh.kid;
    await this.prune();
    return { kid, retired: retired.map((r) => r.kid) };
  }

  /** Public keys for the JWKS, the signing key first (clients that take `keys[0]` stay right). */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.current();
    await this.prune();
    const rows = await this.store.db
      .selectFrom('signing_keys')
      .select(['public_jwk', 'retired_at', 'created_at', 'kid'])
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .execute();
    rows.sort((a, b) => Number(a.retired_at !== null) - Number(b.retired_at !== null) || b.created_at - a.created_at);
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
  }

  private async prune(): Promise<void> {
    const cutoff = Date.now() - APP_TOKEN_TTL_SECONDS * 1000 - 60_000;
    await this.store.db.deleteFrom('signing_keys').where('retired_at', '<', cutoff).execute();
  }

  private newest() {
    return (
      this.store.db
        .selectFrom('signing_keys')
        .select(['kid', 'private_jwk'])
        .where('retired_at', 'is', null)
        // Replicas starting together on an empty store may each create a first key; the kid breaks
        // a same-millisecond tie so every instance signs with the same one (the one JWKS lists first).
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .executeTakeFirst()
    );
  }

  private async insertKey(): Promise<string> {
    const row = await newKeyRow(this.box);
    try {
      await this.store.db.insertInto('signing_keys').values(row).execute();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    return row.kid;
  }
}

async function newKeyRow(box: SecretBox) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
  return {
    kid,
    private_jwk: box.seal(JSON.stringify(privateJwk)),
    public_jwk: JSON.stringify(publicJwk),
    created_at: Date.now(),
    retired_at: null,
  };
}
