import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretBox {
  seal(plain: string): string;
  /** The plaintext; throws WrongSecretKey when the value was sealed with another key (or altered). */
  open(sealed: string): string;
}

const VERSION = 'v1';

/** Where the key comes from, for messages that tell the operator what to fix. */
const KEY_SOURCE = 'SECRET_KEY (or, when it is unset, DATA_DIR/secret.key)';

export class WrongSecretKey extends Error {
  constructor(what: string) {
    super(
      `${what} does not open with this server's ${KEY_SOURCE}: it was sealed with another key. ` +
        'Start with the key the store was written with; every instance on one store needs the same SECRET_KEY.',
    );
    this.name = 'WrongSecretKey';
  }
}

/**
 * AES-256-GCM for secrets at rest (bot client secrets, signing keys, the session-token secret).
 * The key never sits in the database: it comes from SECRET_KEY (base64, 32 bytes; give every
 * instance the same one) or a key file made on first start in the data dir.
 */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(
        '.',
      );
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== VERSION || !iv || !tag || data === undefined) throw new Error('unreadable sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      try {
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new WrongSecretKey('a sealed secret');
      }
    },
  };
}

/**
 * Whether a stored value is sealed. Values an earlier version stored in plaintext (a JWK's JSON,
 * a base64 secret) can never start like this: neither JSON nor base64 has a `.` there.
 */
export function isSealed(stored: string): boolean {
  return stored.startsWith(`${VERSION}.`);
}

/**
 * The plaintext of a secret kept in the store (`stored`, as just read), sealing it in place when
 * an earlier version left it in plaintext. `sealIfUnchanged` must write only while the stored
 * value is still that plaintext (compare-and-set), so instances starting together on one store
 * seal it once between them; each then reads back (`reread`) what was stored and opens it, which
 * also stops an instance whose key differs from the one that won. Undefined when the row is gone.
 */
export async function openStored(
  box: SecretBox,
  what: string,
  stored: string | undefined,
  store: {
    reread: () => Promise<string | undefined>;
    sealIfUnchanged: (plain: string, sealed: string) => Promise<void>;
  },
): Promise<string | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (stored === undefined) return undefined;
    if (isSealed(stored)) {
      try {
        return box.open(stored);
      } catch (error) {
        throw error instanceof WrongSecretKey ? new WrongSecretKey(what) : error;
      }
    }
    await store.sealIfUnchanged(stored, box.seal(stored));
    stored = await store.reread();
  }
  throw new Error(`${what} keeps being stored in plaintext: is a server of an earlier version writing it?`);
}

/**
 * SECRET_KEY when given; else the key file in the data dir, made on first start unless `create`
 * is false (a command that must use the server's key, never make its own).
 */
export function loadSecretKey(
  secretKeyEnv: string | undefined,
  dataDir: string,
  options: { create?: boolean } = {},
): Buffer {
  if (secretKeyEnv) {
    const key = Buffer.from(secretKeyEnv, 'base64');
    if (key.length !== 32) throw new Error('SECRET_KEY must be 32 bytes, base64-encoded');
    return key;
  }
  const file = join(dataDir, 'secret.key');
  if (!existsSync(file)) {
    if (options.create === false)
      throw new Error(`no secret key: set SECRET_KEY or DATA_DIR (${file} does not exist) to the server's`);
    createKeyFile(file);
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} must hold 32 bytes, base64-encoded`);
  return key;
}

/**
 * Written whole under a temporary name, then linked into place, which fails when the file is
 * already there: two processes starting at once on one data dir both end up with the one key
 * that was linked first, and nobody reads a half-written file.
 */
function createKeyFile(file: string): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
}
