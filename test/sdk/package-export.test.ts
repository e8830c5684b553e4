import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
// Resolved by the typecheck through the same `exports` (its `types` condition): a bot author's import.
import type { PostEventResponseBody } from 'botbridge/custom-endpoint';

/**
 * Bot authors import the SDK as `botbridge/custom-endpoint` (package.json `exports`): built, by
 * the package's own name, as another package would, and with its types at the path `types` names.
 */
describe('the SDK as a package export', () => {
  it('botbridge/custom-endpoint resolves to the built SDK, with its public names', () => {
    // The server's build (what `npm start` runs first) builds the SDK too.
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    const names = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const sdk = await import('botbridge/custom-endpoint'); console.log(JSON.stringify(Object.keys(sdk).sort()));",
        ],
        { encoding: 'utf8' },
      ),
    ) as string[];
    for (const name of [
      'answer',
      'apiDomainFor',
      'changeTtr',
      'closeConversation',
      'createCustomEndpointService',
      'createPublicApiClient',
      'createRequestListener',
      'createTokenVerifier',
      'customEndpointPlugin',
      'delay',
      'invokeFunction',
      'MemorySessions',
      'privateText',
      'PublicApiBadRequestError',
      'PublicApiError',
      'PublicApiNotFoundError',
      'quickReplies',
      'SqliteSessions',
      'structuredContent',
      'text',
      'transfer',
    ])
      assert.ok(names.includes(name), `${name} is exported (got ${names.join(', ')})`);
    assert.ok(existsSync('src/sdk/custom-endpoint/index.ts'), 'the types entry exists');
    const typed: PostEventResponseBody = {
      response: [{ type: 'TEXT', data: { message: 'typed by the export' } }],
      analytics: { intents: [] },
    };
    assert.equal(typed.response.length, 1);
  });
});
