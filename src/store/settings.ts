import type { Db } from './index.js';
import { isUniqueViolation } from './index.js';

/**
 * Returns the setting, creating it with `create()` when absent. When two instances race on a
 * fresh store, the first insert wins and both read the same value.
 */
export async function settingOrCreate(db: Db, key: string, create: () => string): Promise<string> {
  const found = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  if (found) return found.value;
  try {
    await db.insertInto('settings').values({ key, value: create() }).execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value;
}
