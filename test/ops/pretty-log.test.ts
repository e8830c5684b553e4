import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prettyLine } from '../../src/ops/pretty-log.js';
import { configFromEnv } from '../../src/config.js';

describe('logs for a person at a terminal', () => {
  const at = Date.UTC(2026, 11, 3, 12, 4, 5);

  it('one short line per entry: time, level, message, then the fields', () => {
    const line = prettyLine(
      JSON.stringify({ level: 40, time: at, pid: 1, hostname: 'h', msg: 'bot paused', botId: 'b-1', tries: 3 }),
    );
    assert.equal(line, '12:04:05 WARN  bot paused  botId=b-1 tries=3\n');
  });

  it('an error shows its stack under the line; long and spaced values stay readable', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 50,
        time: at,
        msg: 'failed',
        reason: 'two words',
        body: 'x'.repeat(300),
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)' },
      }),
    );
    const [first, ...rest] = line.trimEnd().split('\n');
    assert.match(first, /^12:04:05 ERROR failed {2}reason="two words" body=x{200}…$/);
    assert.deepEqual(rest, ['    Error: boom', '        at f (a.js:1:1)']);
  });

  it('a line that is not JSON passes through as it is', () => {
    assert.equal(prettyLine('not json'), 'not json\n');
  });

  it('pretty on a terminal, JSON otherwise, unless LOG_FORMAT says which', () => {
    const host = { hostname: 'h', pid: 1 };
    assert.equal(configFromEnv({}, { ...host, tty: true }).logFormat, 'pretty');
    assert.equal(configFromEnv({}, { ...host, tty: false }).logFormat, 'json');
    assert.equal(configFromEnv({ LOG_FORMAT: 'json' }, { ...host, tty: true }).logFormat, 'json');
    assert.throws(() => configFromEnv({ LOG_FORMAT: 'yaml' }, host), /LOG_FORMAT must be json or pretty/);
  });
});
