import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  conflict,
  forbidden,
  invalid,
  isDomainError,
  notFound,
  rateLimited,
  unauthorized,
  upstreamFailed,
} from '../../src/errors.js';
import { httpAnswerOf } from '../../src/http/errors.js';

describe('DomainError → HTTP', () => {
  it('each kind answers its status with its code and message', () => {
    const cases = [
      [invalid('bad', 'unknown-skill'), 400, 'unknown-skill'],
      [unauthorized(), 401, 'unauthorized'],
      [forbidden('no'), 403, 'forbidden'],
      [notFound('gone'), 404, 'not-found'],
      [conflict('closed', 'conversation-closed'), 409, 'conversation-closed'],
      [rateLimited('wait', 3), 429, 'too-many-attempts'],
      [upstreamFailed('down', 'vendor-unreachable'), 502, 'vendor-unreachable'],
    ] as const;
    for (const [error, status, code] of cases) {
      const answer = httpAnswerOf(error);
      assert.deepEqual([answer.status, answer.code, answer.message], [status, code, error.message]);
    }
    assert.equal(unauthorized().message, 'missing or invalid bearer token');
  });

  it('only a rate-limited refusal carries Retry-After, in whole seconds', () => {
    assert.deepEqual(httpAnswerOf(rateLimited('wait', 40)).headers, { 'retry-after': '40' });
    assert.equal(httpAnswerOf(conflict('x')).headers, undefined);
  });

  it('isDomainError tells domain refusals, and one code, from anything else', () => {
    assert.ok(isDomainError(conflict('closed', 'conversation-closed'), 'conversation-closed'));
    assert.ok(!isDomainError(conflict('taken', 'already-assigned'), 'conversation-closed'));
    assert.ok(!isDomainError(new Error('conversation-closed')));
  });
});
