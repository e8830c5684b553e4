import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closedPort } from '../helpers/net.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { runCli } from '../helpers/cli.js';

/**
 * `npx botbridge check <baseUrl>`: the whole conformance check with no botbridge server, as a bot
 * team's CI runs it against a service it just started. The check is its own Sentinel: the service
 * is pointed at the JWKS it serves on a port fixed in advance.
 */
describe('botbridge check (standalone, no server)', () => {
  const children: ChildProcess[] = [];
  const bots: TestBot[] = [];
  after(async () => {
    for (const child of children) child.kill();
    for (const bot of bots) await bot.stop();
  });

  it('the SDK’s example bot, pointed at the check’s JWKS: every check passes, exit 0', async () => {
    const [botPort, jwksPort] = [await closedPort(), await closedPort()];
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/echo-bot.ts'], {
      env: { ...process.env, BOTBRIDGE_URL: `http://127.0.0.1:${jwksPort}`, ACCOUNT_ID: 'ci', PORT: String(botPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => String(chunk).includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`the echo bot exited (${code})`)));
    });
    const args = ['check', `http://127.0.0.1:${botPort}`, '--bot-id', 'echo', '--account', 'ci'];
    const table = await runCli([...args, '--jwks-port', String(jwksPort)]);
    assert.equal(table.code, 0, `${table.stdout}\n${table.stderr}`);
    assert.match(table.stdout, /\n18 passed, 0 failed, 0 warnings\n$/);
    assert.match(table.stderr, new RegExp(`its JWKS: http://127\\.0\\.0\\.1:${jwksPort}/sentinel/well-known/jwks`));
    const json = await runCli([...args, '--jwks-port', String(jwksPort), '--json']);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.checks.length, 18);
    assert.equal(report.failed, 0);
  });

  it('a service that breaks rules: exit 1; every spot of an answer with two findings is named', async () => {
    const lax = await new TestBot().start();
    bots.push(lax);
    lax.onEvent = () =>
      reply(text('fine'), { type: 'DELAY', data: { seconds: 0 } }, { type: 'DELAY', data: { seconds: -1 } });
    const json = await runCli(['check', lax.url, '--bot-id', 'lax', '--json']);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout);
    const textCheck = report.checks.find((c: { id: string }) => c.id === 'text');
    assert.equal(textCheck.code, 'common-invalid-delay-body');
    assert.deepEqual(textCheck.pointers, ['/response/1/data/seconds', '/response/2/data/seconds']);
    assert.equal(textCheck.pointer, '/response/1/data/seconds');
    const table = await runCli(['check', lax.url, '--bot-id', 'lax']);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /at \/response\/1\/data\/seconds, \/response\/2\/data\/seconds/);
    // It accepts any token: the auth probes fail, and their advice is printed once.
    assert.equal(table.stdout.match(/fix: Verify every request’s bearer/g)?.length, 1);
  });

  it('a wrong environments answer is explained for what it is', async () => {
    const odd = await new TestBot().start();
    bots.push(odd);
    odd.onEnvironments = () => ({ json: { environments: ['draft'] } });
    const report = JSON.parse((await runCli(['check', odd.url, '--bot-id', 'odd', '--json'])).stdout);
    const environments = report.checks.find((c: { id: string }) => c.id === 'environments');
    assert.equal(environments.code, 'invalid-environments');
    assert.match(environments.explanation, /must be a JSON array of the names of the bot’s environments/);
    assert.match(environments.fix, /\["draft", "production"\]/);
    assert.doesNotMatch(environments.fix, /HTML/);
  });

  it('what cannot run says why and exits 2', async () => {
    const missing = await runCli(['check']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing <baseUrl>; missing --bot-id/);
    const notUrl = await runCli(['check', 'example.org', '--bot-id', 'b']);
    assert.equal(notUrl.code, 2);
    assert.match(notUrl.stderr, /<baseUrl> must be an http\(s\) URL, got 'example.org'/);
    const badType = await runCli(['check', 'http://127.0.0.1:1', '--bot-id', 'b', '--conversation-type', 'SMS']);
    assert.equal(badType.code, 2);
    assert.match(badType.stderr, /--conversation-type must be MESSAGING or CHAT/);
  });
});
