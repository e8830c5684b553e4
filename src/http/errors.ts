/**
 * The one error shape every route answers with: `{error: {code, message}}`. Domain code throws
 * HttpError; the server's error handler turns it (and Fastify's own errors) into that body.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = 'bad-request') => new HttpError(400, code, message);
export const unauthorized = (message = 'missing or invalid bearer token') =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string) => new HttpError(404, 'not-found', message);
export const conflict = (message: string, code = 'conflict') => new HttpError(409, code, message);

export interface ErrorBody {
  error: { code: string; message: string };
}

export const errorBodySchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;
