import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { CustomEndpointResponse, CustomEndpointService } from './service.js';

export interface RequestListenerOptions {
  /** Where the service is mounted, e.g. `/bot`: the Custom Endpoint base URL is `<server>/bot`. Default the root. */
  basePath?: string;
}

/**
 * The service as a `node:http` request listener: `createServer(createRequestListener(service))`.
 * Reads at most the service's body limit (a larger body is answered 413 and the connection
 * closed, the rest never buffered), then hands the call to `service.handle`.
 */
export function createRequestListener(
  service: CustomEndpointService,
  options: RequestListenerOptions = {},
): RequestListener {
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base && !base.startsWith('/'))
    throw new TypeError(`createRequestListener: basePath must start with '/', got '${base}'`);
  return (request, response) => {
    respond(service, base, request, response).catch((error: unknown) => {
      // Only a write to a connection that already went away can fail here.
      response.destroy(error instanceof Error ? error : undefined);
    });
  };
}

async function respond(
  service: CustomEndpointService,
  base: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = request.url ?? '/';
  const rest = url.slice(base.length);
  if (!url.startsWith(base) || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?'))) {
    const path = url.split('?')[0];
    return send(response, {
      status: 404,
      body: { error: { code: 'not-found', message: `no route ${request.method} ${path}` } },
    });
  }
  const body = await readBody(request, service.bodyLimit);
  if (body === 'too-large') {
    return send(
      response,
      {
        status: 413,
        body: {
          error: {
            code: 'payload-too-large',
            message: `the body is larger than ${service.bodyLimit} bytes, the most this service takes`,
          },
        },
      },
      // The rest of the body is not read: the connection cannot carry another request.
      { connection: 'close' },
    );
  }
  const answer = await service.handle({
    method: request.method ?? 'GET',
    path: rest || '/',
    headers: request.headers,
    ...(body.byteLength ? { body } : {}),
  });
  send(response, answer);
}

/** The body, or 'too-large' as soon as it passes `limit` (a declared length over it: before reading any). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) {
        request.off('data', onData);
        request.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks, bytes)));
    request.once('error', reject);
  });
}

function send(response: ServerResponse, answer: CustomEndpointResponse, extra: Record<string, string> = {}): void {
  const payload = answer.body === undefined ? undefined : JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    ...answer.headers,
    ...extra,
    ...(payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': String(payload === undefined ? 0 : Buffer.byteLength(payload)),
  });
  response.end(payload);
}
