import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { CustomEndpointClient } from '../../src/connector/vendor-client.js';
import { TestBot } from '../helpers/test-bot.js';

/**
 * Guarantee 1's "an instance that lost its lease sends nothing", at the last moment it can be
 * kept: the check a call carries runs again as undici writes the request, after every await of
 * the call (its token, a free connection), so a driver frozen in between and thawed after its
 * lease moved on writes nothing. The check refusing there ends the call: no retry, nothing sent.
 */
describe('a call’s lease check runs again as the request is written', () => {
  let bot: TestBot;
  let dispatcher: Agent;
  const client = () =>
    new CustomEndpointClient(
      'acme',
      {
        type: 'CUSTOM_ENDPOINT',
        baseUrl: bot.url,
        clientId: 'app',
        botId: 'bot-1',
        environment: 'draft',
        timeoutSeconds: 5,
      },
      {
        dispatcher,
        tokens: { grantTo: async () => ({ token: 'a.b.c', expiresIn: 3600 }) },
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
        maxResponseBytes: 1 << 20,
      },
    );
  const body = { type: 'TEXT', source: 'CONSUMER', data: { message: 'hi' }, context: {} } as never;

  before(async () => {
    bot = await new TestBot().start();
    dispatcher = new Agent();
  });
  after(async () => {
    await dispatcher.close();
    await bot.stop();
  });

  it('passes twice per attempt when it holds: before the attempt and as the request is written', async () => {
    let checks = 0;
    const sent = bot.events().length;
    await client().postEvent('conv-1', body, () => {
      checks++;
    });
    assert.equal(checks, 2);
    assert.equal(bot.events().length, sent + 1);
  });

  it('refusing as the request is written stops it: nothing reaches the bot, the refusal is the call’s error, no retry', async () => {
    const lost = new Error('lease lost');
    let checks = 0;
    const sent = bot.received.length;
    await assert.rejects(
      client().postEvent('conv-2', body, () => {
        // Held when the attempt starts, gone by the time the request is written.
        if (++checks > 1) throw lost;
      }),
      (error) => error === lost,
    );
    assert.equal(checks, 2, 'no retry after the refusal');
    assert.equal(bot.received.length, sent, 'nothing reached the bot');
  });
});
