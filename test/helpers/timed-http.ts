/** An answer read whole: the status, the headers, the body parsed as JSON when it is JSON. */
export interface TimedReply {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * fetch with a deadline, for tests where a server may hang (a frozen instance, a database
 * gone): throws on a refused connection, a reset or the timeout, as fetch does (the timeout as a
 * `TimeoutError`, a socket's failure in `cause.code`), so a caller can tell them apart.
 */
export async function timedCall(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; timeoutMs: number },
): Promise<TimedReply> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = raw ? JSON.parse(raw) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body };
}
