import type { Readable } from 'node:stream';

/** What was read of a body: its text, or that it was longer than allowed. */
export type BoundedBody = { text: string; bytes: number } | { tooLarge: true; bytes: number };

/**
 * Reads a response body as UTF-8, stopping as soon as it passes `limit` bytes (the rest is
 * never buffered: the stream is destroyed, which closes that connection). A declared length
 * over the limit is refused before anything is read.
 */
export async function readBounded(body: Readable, limit: number, declaredLength?: number): Promise<BoundedBody> {
  if (declaredLength !== undefined && declaredLength > limit) {
    discard(body);
    return { tooLarge: true, bytes: declaredLength };
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    if (bytes > limit) {
      discard(body);
      return { tooLarge: true, bytes };
    }
    chunks.push(chunk as Buffer);
  }
  return { text: Buffer.concat(chunks, bytes).toString('utf8'), bytes };
}

/**
 * Destroys the stream, swallowing the 'error' that follows: undici's body reports a destroy
 * before its end as "Request aborted", which, with nobody listening, would crash the process.
 */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
