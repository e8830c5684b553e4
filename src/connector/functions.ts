import { request, type Dispatcher } from 'undici';
import type { Directory } from '../platform/directory.js';
import { readBounded } from '../util/bounded-body.js';

const FUNCTION_ANSWER_KEPT = 10_000;

export interface FunctionResult {
  ok: boolean;
  status?: number;
  error?: string;
  body?: string;
}

/**
 * Calls a registered function (INVOKE_FUNCTION, the escalation error hook): POST of the payload
 * as JSON to its URL, bounded by a timeout. Never throws: the caller decides what failure means.
 */
export async function invokeFunction(
  deps: { directory: Directory; dispatcher: Dispatcher; timeoutMs: number },
  accountId: string,
  lambdaUuid: string,
  payload: unknown,
): Promise<FunctionResult> {
  const fn = await deps.directory.findFunction(accountId, lambdaUuid);
  if (!fn) return { ok: false, error: `no function '${lambdaUuid}' is registered in account '${accountId}'` };
  try {
    const res = await request(fn.url, {
      method: 'POST',
      dispatcher: deps.dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    // Only the start of the answer is kept for the log; the rest is not worth reading.
    const read = await readBounded(res.body, FUNCTION_ANSWER_KEPT);
    const body = 'text' in read ? read.text : `(more than ${FUNCTION_ANSWER_KEPT} bytes)`;
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode, body };
    return { ok: false, status: res.statusCode, body, error: `function answered HTTP ${res.statusCode}` };
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    const timedOut = e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT';
    return {
      ok: false,
      error: timedOut
        ? `function did not answer within ${deps.timeoutMs} ms`
        : `function unreachable: ${e.code ?? e.message}`,
    };
  }
}
