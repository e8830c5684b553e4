import { randomUUID } from 'node:crypto';

/**
 * A time-ordered UUID (version 7), for rows written in time order: their unique index grows at
 * its right edge instead of touching a random index page per insert.
 */
export function timeOrderedId(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}
