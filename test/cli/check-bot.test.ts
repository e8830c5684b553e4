import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { TestBot } from '../helpers/test-bot.js';
import { createBot } from '../helpers/connector.js';
import { runCli } from '../helpers/cli.js';

/** `npx botbridge check-bot`, run as a bot author's CI would: a real process against a real server. */
describe('botbridge check-bot (the CLI)', () => {
  const acc = 'cli-co';
  let store: TestStore;
  let running: Running;
  let lax: TestBot;
  const botIds: Record<string, string> = {};

  const checkBot = (bot: string, ...extra: string[]) =>
    runCli([
      'check-bot',
      '--server',
      running.url,
      '--admin-token',
      ADMIN_TOKEN,
      '--account',
      acc,
      '--bot',
      bot,
      ...extra,
    ]);

  before(async () => {
    store = await freshStore('sqlite');
    running = await startApp(store);
    // A service that answers everything, tokens or not.
    lax = await new TestBot().start();
    const admin = client(running.url, { token: ADMIN_TOKEN });
    assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
    assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'bot' })).status, 201);
    const app = (
      await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'bot', scope: 'thirdpartybots.customendpoint.bot' })
    ).body;
    for (const [name, baseUrl, botId] of [
      ['demo', `${running.url}/demo-bot`, 'demo-bot'],
      ['lax', lax.url, 'lax'],
    ])
      botIds[name] = await createBot(admin, acc, app, baseUrl, { name, vendor: { botId } });
  });
  after(async () => {
    await running?.close();
    await store?.dispose();
    await lax?.stop();
  });

  it('a conforming service: exit 0; the table for people, the report as JSON for CI', async () => {
    const table = await checkBot(botIds.demo);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^PASS {2}Environments/m);
    assert.match(table.stdout, /\n\d+ passed, 0 failed, 0 warnings\n$/);
    const json = await checkBot(botIds.demo, '--json');
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.failed, 0);
    assert.ok(report.checks.length >= 18);
  });

  it('a service that accepts any token: exit 1, the failures first with their code, explanation and fix', async () => {
    const table = await checkBot(botIds.lax);
    assert.equal(table.code, 1);
    const [first] = table.stdout.split('\n');
    assert.match(first, /^FAIL /);
    assert.match(table.stdout, /^FAIL {2}Refuses another account’s token +\d+ ms {2}auth-not-enforced$/m);
    // Seven probes fail for one reason: the advice is printed once, the others point to it.
    assert.equal(table.stdout.match(/fix: Verify every request’s bearer/g)?.length, 1, table.stdout);
    assert.match(
      table.stdout,
      /\(as for “Refuses a call without a token” above\)|\(as for “Refuses another account’s token” above\)/,
    );
    const report = JSON.parse((await checkBot(botIds.lax, '--json')).stdout);
    assert.ok(report.failed >= 7, `${report.failed} failed`);
  });

  it('the bot by its name, the admin token from BOTBRIDGE_ADMIN_TOKEN (out of ps and shell history)', async () => {
    const byName = await runCli(['check-bot', '--server', running.url, '--account', acc, '--bot', 'demo'], {
      BOTBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /\n\d+ passed, 0 failed, 0 warnings\n$/);
    const unknown = await runCli(['check-bot', '--server', running.url, '--account', acc, '--bot', 'nobody'], {
      BOTBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no bot 'nobody' in account 'cli-co' \(by id or name; it has 'demo', 'lax'\)/);
  });

  it('--help for the program and each command: the usage on stdout, exit 0', async () => {
    for (const args of [['--help'], ['help'], ['check-bot', '--help'], ['check', '--help'], ['check', '-h']]) {
      const help = await runCli(args);
      assert.equal(help.code, 0, `${args.join(' ')}: ${help.stderr}`);
      assert.match(help.stdout, /^usage: botbridge/, args.join(' '));
    }
  });

  it('what cannot run says why and exits 2: usage, a wrong admin token, an unknown bot, no server', async () => {
    const usage = await runCli(['check-bot', '--server', running.url]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing --admin-token \(or BOTBRIDGE_ADMIN_TOKEN\), --account, --bot/);
    assert.equal((await runCli(['nonsense'])).code, 2);
    const token = await runCli([
      'check-bot',
      '--server',
      running.url,
      '--admin-token',
      'wrong',
      '--account',
      acc,
      '--bot',
      botIds.demo,
    ]);
    assert.equal(token.code, 2);
    assert.match(token.stderr, /could not be run: .*\(unauthorized\)/);
    const unknown = await checkBot('no-such-bot');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /not-found/);
    const nowhere = await runCli([
      'check-bot',
      '--server',
      'http://127.0.0.1:1',
      '--admin-token',
      'x',
      '--account',
      acc,
      '--bot',
      'b',
    ]);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /could not reach/);
  });
});
