import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { PHONE, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import {
  endProblem,
  restoreProblem,
  sendProblem,
  topicProblem,
} from '../../src/web/client/src/pages/chat/chat-errors.js';

/** An error as the console's API client throws it (lib/api.ts: ApiError, status 0 for the network). */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a visitor must never read: the API's codes, statuses and developer words. */
const DEVELOPER_WORDS = /not-found|conversation-closed|HTTP \d|\bskill\b|unknown |store-unavailable|invalid-request/i;

describe('the chat page’s problems in plain words (pure)', () => {
  const errors = [
    new ApiError(404, 'not-found', "unknown skill 'nope'"),
    new ApiError(404, 'not-found', "unknown account 'nobody'"),
    new ApiError(400, 'invalid-request', 'params/skill must match pattern'),
    new ApiError(409, 'conversation-closed', 'conversation is closed'),
    new ApiError(401, 'unauthorized', 'bearer token expired'),
    new ApiError(403, 'forbidden', 'this token belongs to another conversation'),
    new ApiError(413, 'payload-too-large', 'request body exceeds 1048576 bytes'),
    new ApiError(429, 'too-many-attempts', 'slow down'),
    new ApiError(503, 'store-unavailable', 'the store cannot serve right now'),
    new ApiError(0, 'network', 'The server could not be reached. Check that botbridge is running.'),
    new TypeError('x is undefined'),
  ];

  it('never shows a code, a status or the API’s message', () => {
    for (const error of errors) {
      const problems = [
        topicProblem(error, 'nope'),
        restoreProblem(error),
        { title: '', text: sendProblem(error, 'nope', true) },
        { title: '', text: sendProblem(error, 'nope', false) },
        { title: '', text: endProblem(error) },
      ];
      for (const { title, text } of problems) {
        const shown = `${title} ${text}`.replace("'nope'", '');
        assert.doesNotMatch(shown, DEVELOPER_WORDS, `${String(error)} → ${shown}`);
      }
    }
  });

  it('says what to do: check the link, the connection, or try again later', () => {
    const unknown = topicProblem(new ApiError(404, 'not-found', "unknown skill 'nope'"), 'nope');
    assert.deepEqual(unknown, {
      title: 'This chat is not available',
      text: "There is no 'nope' topic here. Check the link you followed, or ask the site that gave it to you.",
      retry: false,
    });
    const offline = topicProblem(new ApiError(0, 'network', 'unreachable'), 'sales');
    assert.equal(offline.retry, true);
    assert.match(offline.text, /Check your internet connection/);
    assert.equal(topicProblem(new ApiError(503, 'store-unavailable', '…'), 'sales').retry, true);
    assert.equal(
      sendProblem(new ApiError(409, 'conversation-closed', 'conversation is closed'), 'sales', false),
      'This conversation has ended. Start a new one to keep chatting.',
    );
    assert.match(sendProblem(new ApiError(404, 'not-found', '…'), 'nope', true), /^This chat is not available\. /);
    assert.match(sendProblem(new ApiError(0, 'network', '…'), 'sales', false), /^Your message was not sent\. /);
  });
});

/**
 * The consumer chat page when something goes wrong, in a real browser against the real server.
 * One store: what this checks is the page's words; the routes behind it are tested on both stores
 * elsewhere.
 */
describe('console: the consumer chat says what went wrong in plain words', () => {
  const acc = 'acme';
  let store: TestStore;
  let running: Running;
  let admin: Client;
  let browser: TestBrowser;
  const shot = (page: Page, name: string) => screenshot(page, `chat-errors-${name}`);

  before(async () => {
    store = await freshStore('sqlite');
    // The demo account too: its skill is what the page used to suggest to every account.
    running = await startApp(store, { demo: true });
    admin = client(running.url, { token: ADMIN_TOKEN });
    assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
    for (const name of ['sales', 'fraud-review'])
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await running?.close();
    await store?.dispose();
  });

  it('a link without a topic asks for one, suggests nothing, and starts the chat on what is typed', async () => {
    const page = await browser.page(PHONE);
    await page.goto(`${running.url}/chat/${acc}`);
    const form = page.getByRole('form', { name: 'Choose a topic' });
    await form.getByText('What would you like to chat about?').waitFor();
    const shown = await page.locator('body').innerText();
    for (const hidden of ['demo-bot', 'skill=', 'sales', 'fraud-review'])
      assert.ok(!shown.includes(hidden), `the page shows ${hidden}: ${shown}`);
    assert.equal(await form.getByRole('button', { name: 'Start chat' }).isDisabled(), true);
    await shot(page, '01-no-topic');

    await form.getByLabel('Topic').fill(' sales ');
    await form.getByRole('button', { name: 'Start chat' }).click();
    await page.getByText('How can we help?').waitFor();
    assert.equal(new URL(page.url()).search, '?skill=sales');
  });

  it('an unknown topic or account: not available, in words, with the API’s reason only under Details', async () => {
    const page = await browser.page(PHONE);
    for (const [account, topic] of [
      [acc, 'nope'],
      ['nobody', 'support'],
    ]) {
      await page.goto(`${running.url}/chat/${account}?skill=${topic}`);
      const alert = page.getByRole('alert');
      await alert.getByText('This chat is not available').waitFor();
      await alert.getByText(`There is no '${topic}' topic here.`, { exact: false }).waitFor();
      const visible = (await alert.innerText()).replace(`'${topic}'`, '');
      assert.doesNotMatch(visible, DEVELOPER_WORDS, visible);
      assert.equal(await alert.getByRole('button', { name: 'Try again' }).count(), 0, 'a wrong link is not retried');
      assert.equal(await page.getByLabel('Message', { exact: true }).count(), 0, 'no box to type into');
      if (topic === 'nope') await shot(page, '02-unknown-topic');
      // Whoever runs the site can still read which part of the link is wrong.
      await alert.getByText('Details for the site’s owner').click();
      const reason = account === acc ? `unknown skill '${topic}'` : `unknown account '${account}'`;
      await alert.getByText(reason, { exact: false }).waitFor();
    }
  });

  it('a network failure asks to check the connection; trying again then works', async () => {
    const page = await browser.page(PHONE);
    await page.route('**/consumer/skills/**', (route) => route.abort('internetdisconnected'));
    await page.goto(`${running.url}/chat/${acc}?skill=sales`);
    const alert = page.getByRole('alert');
    await alert.getByText('Could not reach the chat').waitFor();
    await alert.getByText('Check your internet connection, then try again.').waitFor();
    await shot(page, '03-offline');
    await page.unroute('**/consumer/skills/**');
    await alert.getByRole('button', { name: 'Try again' }).click();
    await page.getByText('How can we help?').waitFor();

    // The first message opens the conversation; the second is lost on the way.
    const box = page.getByLabel('Message', { exact: true });
    await box.fill('Hello');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.msg-consumer .bubble', { hasText: 'Hello' }).waitFor();
    await page.route('**/messages', (route) => route.abort('internetdisconnected'));
    await box.fill('Are you there?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page
      .getByRole('alert')
      .getByText(
        'Your message was not sent. The chat could not be reached. Check your internet connection, then try again.',
      )
      .waitFor();
    assert.equal(await box.inputValue(), 'Are you there?', 'what was typed is kept');
    await shot(page, '04-message-not-sent');
  });

  it('a message to a conversation that ended meanwhile says it ended and offers a new one', async () => {
    const page = await browser.page(PHONE);
    // A stream that never hears of the close (a proxy that dropped it): the send finds out.
    await page.routeWebSocket(/\/stream/, () => undefined);
    await page.goto(`${running.url}/chat/${acc}?skill=sales`);
    const box = page.getByLabel('Message', { exact: true });
    await box.fill('Hello');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'End chat' }).waitFor();
    const stored = await page.evaluate((key) => window.localStorage.getItem(key), `botbridge.chat.${acc}.sales`);
    const { conversationId, consumerToken } = JSON.parse(stored!);
    const closed = await client(running.url, { token: consumerToken }).post(
      `/api/account/${acc}/consumer/conversations/${conversationId}/close`,
    );
    assert.equal(closed.status, 200);

    await box.fill('Still there?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('This conversation has ended.', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Start a new conversation' }).waitFor();
    assert.equal(await page.getByLabel('Message', { exact: true }).count(), 0, 'no box to type into');
    assert.equal(await page.getByText('Still there?').count(), 0, 'the unsent message is not shown as sent');
    await shot(page, '05-ended');
  });
});
