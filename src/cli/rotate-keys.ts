import { configFromEnv } from '../config.js';
import { openStore } from '../store/index.js';
import { KeyRing } from '../sentinel/keys.js';

/**
 * `npm run rotate-keys`: a new app-token signing key for the store in DATA_DIR / DATABASE_URL.
 * Running servers sign with it from their next token; the old key stays published an hour.
 */
const config = configFromEnv(process.env);
const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
await store.migrate();
const result = await new KeyRing(store).rotate();
process.stdout.write(`new signing key ${result.kid}; retired ${result.retired.join(', ') || 'none'}\n`);
await store.close();
