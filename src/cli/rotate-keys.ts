import { configFromEnv } from '../config.js';
import { openStore } from '../store/index.js';
import { KeyRing } from '../sentinel/keys.js';
import { createSecretBox, loadSecretKey } from '../util/secret-box.js';

/**
 * `npm run rotate-keys`: a new app-token signing key for the store in DATA_DIR / DATABASE_URL.
 * Running servers sign with it from their next token; the old key stays published an hour.
 *
 * No migrations here: the server owns the schema, including the tables of its parts (connector,
 * Public API) this script does not know. Migrating with the base set alone is refused by the
 * migrator ("previously executed migration ... is missing") on any store a server has run on.
 */
const config = configFromEnv(process.env);
const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
try {
  const tables = await store.db.introspection.getTables();
  if (!tables.some((t) => t.name === 'signing_keys')) {
    process.stderr.write('no botbridge store here (no signing keys): start the server on it once, then rotate\n');
    process.exitCode = 1;
  } else {
    // The servers' key: a new signing key sealed with any other would stop them signing.
    const keys = new KeyRing(
      store,
      createSecretBox(loadSecretKey(config.secretKey, config.dataDir, { create: false })),
    );
    // Refuses, naming SECRET_KEY, when the stored keys do not open with it.
    await keys.sealAtRest();
    const result = await keys.rotate();
    process.stdout.write(`new signing key ${result.kid}; retired ${result.retired.join(', ') || 'none'}\n`);
  }
} finally {
  await store.close();
}
