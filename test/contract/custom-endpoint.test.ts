import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { createContractValidator, locateContract } from '../../src/contract/index.js';

const repo = resolve(import.meta.dirname, '..', '..');
const contractFile = join(repo, 'contracts', 'custom-endpoint-v1.openapi.json');
const contract = createContractValidator();
const lpEvent = { sequence: 3, serverTimestamp: 1_700_000_000_000, event: { type: 'ContentEvent' } };

describe('contract module: locating the published contract', () => {
  it('finds the repository copy from src/ (tsx) and from dist/src/ (after tsc)', () => {
    assert.equal(contract.path, contractFile);
    assert.equal(locateContract(pathToFileURL(join(repo, 'src', 'contract', 'custom-endpoint.ts'))), contractFile);
    assert.equal(
      locateContract(pathToFileURL(join(repo, 'dist', 'src', 'contract', 'custom-endpoint.js'))),
      contractFile,
    );
    assert.throws(() => locateContract(pathToFileURL('/nowhere/at/all/contract.js')), /contract not found/);
  });

  it('reads the contract as published (the file is data, not edited)', () => {
    const document = JSON.parse(readFileSync(contractFile, 'utf8'));
    assert.equal(document.openapi, '3.0.3');
    assert.deepEqual(
      document.components.schemas.ConversationChange.oneOf.map((b: { $ref: string }) => b.$ref.split('/').pop()),
      ['TextChange', 'StateChange', 'StructuredContentChange', 'HostedFileChange'],
    );
    assert.ok(existsSync(contract.path));
  });
});

describe('contract module: PUT body (Conversation)', () => {
  it('accepts sdes and a full context', () => {
    const verdict = contract.validate('Conversation', {
      sdes: { unauthenticatedSdes: { customerInfo: { type: 'ctmrinfo', info: { customerId: 'c-1' } } } },
      context: {
        type: 'MESSAGING',
        skillId: 12,
        engagementId: 1234,
        campaignId: 99,
        visitor: { sharkVisitorId: 'v-1', sharkSessionId: 's-1' },
      },
    });
    assert.deepEqual(verdict, { ok: true, errors: [], deviations: [] });
  });

  it('names each missing or mistyped field: sdes is required even when empty, skillId and engagementId are numbers', () => {
    const verdict = contract.validate('Conversation', { context: { type: 'SMS', skillId: '12' } });
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.errors.sort(), [
      "/ must have required property 'sdes'",
      "/context must have required property 'engagementId'",
      '/context/skillId must be number',
      '/context/type must be equal to one of the allowed values ("MESSAGING", "CHAT")',
    ]);
  });
});

describe('contract module: events body (ConversationChange)', () => {
  it('validates TEXT, RICH_CONTENT and hosted-file against their contract branches, no deviation', () => {
    for (const body of [
      { type: 'TEXT', source: 'CONSUMER', data: { message: 'hi' }, context: { lpEvent } },
      {
        type: 'RICH_CONTENT',
        source: 'CONSUMER',
        data: { content: { type: 'vertical', elements: [] }, context: {} },
        context: { lpEvent },
      },
      { type: 'hosted-file', data: { relativePath: '/files/a.png', fileType: 'PNG' }, context: { lpEvent } },
    ]) {
      assert.deepEqual(
        contract.validate('ConversationChange', body),
        { ok: true, errors: [], deviations: [] },
        body.type,
      );
    }
  });

  it('RICH_CONTENT needs data.context as well as data.content (the contract says so)', () => {
    const verdict = contract.validate('ConversationChange', {
      type: 'RICH_CONTENT',
      source: 'CONSUMER',
      data: { content: { type: 'vertical' } },
      context: { lpEvent },
    });
    assert.deepEqual(verdict.errors, ["/data must have required property 'context'"]);
  });

  it('gives the precise error of the branch the type names, not every oneOf branch', () => {
    assert.deepEqual(
      contract.validate('ConversationChange', { type: 'TEXT', data: { text: 'hi' }, context: { lpEvent } }).errors,
      ["/data must have required property 'message'"],
    );
    assert.deepEqual(
      contract.validate('ConversationChange', { type: 'TEXT', data: { message: 'hi' }, context: {} }).errors,
      ["/context must have required property 'lpEvent'"],
    );
    assert.deepEqual(
      contract.validate('ConversationChange', { type: 'TYPING', data: {}, context: { lpEvent } }).errors,
      [
        '/type must be one of TEXT, CONVERSATION, RICH_CONTENT, hosted-file (contract) or START, CLOSE_CONVERSATION (lifecycle envelope)',
      ],
    );
    assert.equal(contract.validate('ConversationChange', 'TEXT').ok, false);
    // Names from the wire are looked up as data, never as object properties.
    assert.match(
      contract.validate('ConversationChange', { type: 'constructor', data: {}, context: { lpEvent } }).errors[0],
      /^\/type must be one of/,
    );
  });

  it('START and CLOSE_CONVERSATION pass the documented envelope (ChangeContext), reported as a deviation', () => {
    for (const body of [
      { type: 'START', source: 'CONVERSATION', data: {}, context: { lpEvent: {} } },
      {
        type: 'START',
        source: 'CONVERSATION',
        data: {},
        context: { lpEvent: { ...lpEvent, lastConsumerMessage: 'where is my order?' } },
      },
      { type: 'CLOSE_CONVERSATION', source: 'CONVERSATION', data: {}, context: { lpEvent } },
    ]) {
      const verdict = contract.validate('ConversationChange', body);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.deepEqual(verdict.deviations, [
        `${body.type} is not a ConversationChange of the contract; checked against the common envelope with the contract's ChangeContext`,
      ]);
    }
  });

  it('the envelope still checks: source CONVERSATION, data an object, lpEvent present, lastConsumerMessage a string', () => {
    const verdict = contract.validate('ConversationChange', {
      type: 'START',
      source: 'CONSUMER',
      context: { lpEvent: { lastConsumerMessage: 42 } },
    });
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.errors.sort(), [
      "/ must have required property 'data' [START envelope]",
      '/context/lpEvent/lastConsumerMessage must be string [START envelope]',
      '/source must be equal to one of the allowed values ("CONVERSATION") [START envelope]',
    ]);
    assert.deepEqual(
      contract.validate('ConversationChange', {
        type: 'CLOSE_CONVERSATION',
        source: 'CONVERSATION',
        data: {},
        context: {},
      }).errors,
      ["/context must have required property 'lpEvent' [CLOSE_CONVERSATION envelope]"],
    );
  });
});

describe('contract module: events answer (PostEventResponse)', () => {
  const intents = [{ id: 'greeting', description: 'Greeting', confidenceScore: 0.9 }];

  it('accepts every item type, and an empty answer', () => {
    const body = {
      response: [
        { type: 'TEXT', data: { message: 'hi', messageAudience: 'ALL', encodedMetadata: 'eyJhIjoxfQ==' } },
        { type: 'TEXT', data: { message: 'note', messageAudience: 'AGENTS_AND_MANAGERS' } },
        { type: 'STRUCTURED_CONTENT', data: { structuredContent: { type: 'vertical', elements: [] } } },
        { type: 'DELAY', data: { seconds: 2, typing: true } },
        { type: 'ACTION', data: { name: 'CHANGE_TTR', parameters: { ttrType: 'CUSTOM', value: 600 } } },
      ],
      analytics: { intents },
    };
    assert.deepEqual(contract.validate('PostEventResponse', body), { ok: true, errors: [], deviations: [] });
    assert.deepEqual(contract.validate('PostEventResponse', { response: [], analytics: { intents: [] } }), {
      ok: true,
      errors: [],
      deviations: [],
    });
  });

  it('points at the broken item, its field and the rule', () => {
    const verdict = contract.validate('PostEventResponse', {
      response: [
        { type: 'TEXT', data: { message: 'fine' } },
        { type: 'DELAY', data: { seconds: 0 } },
        { type: 'TEXT', data: { message: 'hidden', messageAudience: 'AGENTS' } },
        { type: 'VIDEO', data: {} },
        { type: 'ACTION', data: { name: 'SNOOZE', parameters: {} } },
      ],
      analytics: { intents: [{ id: 'has space', description: 'x', confidenceScore: 1.5 }] },
    });
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.errors.sort(), [
      '/analytics/intents/0/confidenceScore must be <= 1',
      '/analytics/intents/0/id must match pattern "^[^\\s]*$"',
      '/response/1/data/seconds must be >= 1',
      '/response/2/data/messageAudience must be equal to one of the allowed values ("AGENTS_AND_MANAGERS", "ALL")',
      '/response/3/type must be one of TEXT, STRUCTURED_CONTENT, DELAY, ACTION',
      '/response/4/data/name must be equal to one of the allowed values ("TRANSFER", "CLOSE_CONVERSATION", "INVOKE_FUNCTION", "CHANGE_TTR")',
    ]);
    const prototypeNames = contract.validate('PostEventResponse', {
      response: [
        { type: '__proto__', data: {} },
        { type: 'ACTION', data: { name: 'toString', parameters: {} } },
      ],
      analytics: { intents: [] },
    });
    assert.equal(prototypeNames.ok, false);
    assert.equal(prototypeNames.errors[0], '/response/0/type must be one of TEXT, STRUCTURED_CONTENT, DELAY, ACTION');
  });

  it('requires response and analytics', () => {
    assert.deepEqual(contract.validate('PostEventResponse', { response: 'hello' }).errors.sort(), [
      "/ must have required property 'analytics'",
      '/response must be array',
    ]);
  });

  it('applies the contract’s per-action schemas to ACTION items', () => {
    const verdict = contract.validate('PostEventResponse', {
      response: [
        { type: 'ACTION', data: { name: 'INVOKE_FUNCTION', parameters: { lambdaUuid: 'not-a-uuid' } } },
        { type: 'ACTION', data: { name: 'CHANGE_TTR', parameters: { ttrType: 'CUSTOM' } } },
      ],
      analytics: { intents: [] },
    });
    assert.ok(
      verdict.errors.includes(
        "/response/0/data/parameters must have required property 'payload' [contract InvokeFunctionAction]",
      ),
      verdict.errors.join('\n'),
    );
    assert.ok(
      verdict.errors.includes(
        '/response/0/data/parameters/lambdaUuid must match format "uuid" [contract InvokeFunctionAction]',
      ),
    );
    assert.ok(
      verdict.errors.includes(
        "/response/1/data/parameters must have required property 'value' [contract ChangeTTRAction]",
      ),
    );
  });

  it('metadata as a list is the canonical form (contracts/ERRATA.md): no deviation', () => {
    const verdict = contract.validate('PostEventResponse', {
      response: [
        { type: 'TEXT', data: { message: 'with metadata', metadata: [{ type: 'ExternalId', id: 'x-1' }] } },
        { type: 'ACTION', data: { name: 'TRANSFER', parameters: { agentId: 'agent-7' } } },
      ],
      analytics: { intents },
    });
    assert.deepEqual(verdict, { ok: true, errors: [], deviations: [] });
    // A list of anything but objects is outside the contract.
    const numbers = contract.validate('PostEventResponse', {
      response: [{ type: 'TEXT', data: { message: 'm', metadata: [1, 2] } }],
      analytics: { intents },
    });
    assert.equal(numbers.ok, false);
    assert.ok(
      numbers.errors.some((e) => e.startsWith('/response/0/data/metadata')),
      numbers.errors.join('\n'),
    );
  });

  it('accepts the file’s metadata object and skill+agent transfers, each reported as a deviation', () => {
    const verdict = contract.validate('PostEventResponse', {
      response: [
        { type: 'TEXT', data: { message: 'with metadata', metadata: { type: 'ExternalId', id: 'x-1' } } },
        { type: 'ACTION', data: { name: 'TRANSFER', parameters: { skillName: 'human', agentId: 'agent-7' } } },
      ],
      analytics: { intents },
    });
    assert.equal(verdict.ok, true, verdict.errors.join('\n'));
    assert.deepEqual(verdict.deviations, [
      "/response/0/data/metadata is an object; LivePerson's conversation metadata is a list of objects (contracts/ERRATA.md §1), so it is taken as a one-item list",
      "/response/1/data TRANSFER names both skillName and agentId (agent preferred, skill as fallback); the contract's TransferAction admits one or the other",
    ]);
  });
});

describe('contract module: state, environments and single actions', () => {
  it('BotStatus and Environment as published', () => {
    assert.equal(contract.validate('BotStatus', { state: 'online', version: '1.0.0' }).ok, true);
    assert.deepEqual(contract.validate('BotStatus', { state: 'sleeping' }).errors.sort(), [
      "/ must have required property 'version'",
      '/state must be equal to one of the allowed values ("online", "offline", "error", "maintenance")',
    ]);
    assert.equal(contract.validate('Environment', ['draft', 'production']).ok, true);
    assert.deepEqual(contract.validate('Environment', { draft: true }).errors, ['/ must be array']);
  });

  it('each action schema on its own', () => {
    assert.equal(
      contract.validate('TransferAction', { name: 'TRANSFER', parameters: { skillName: 'human' } }).ok,
      true,
    );
    assert.equal(contract.validate('TransferAction', { name: 'TRANSFER', parameters: { skill: 'human' } }).ok, false);
    assert.equal(
      contract.validate('CloseConversationAction', { name: 'CLOSE_CONVERSATION', parameters: { withoutPcs: true } }).ok,
      true,
    );
    assert.equal(contract.validate('CloseConversationAction', { name: 'CLOSE_CONVERSATION' }).ok, false);
    assert.equal(
      contract.validate('InvokeFunctionAction', {
        name: 'INVOKE_FUNCTION',
        parameters: { lambdaUuid: '0b9e8f3a-5b7c-4d2e-9f1a-2c3d4e5f6a7b', payload: {} },
      }).ok,
      true,
    );
    assert.equal(
      contract.validate('ChangeTTRAction', { name: 'CHANGE_TTR', parameters: { ttrType: 'URGENT' } }).ok,
      true,
    );
    assert.equal(
      contract.validate('ChangeTTRAction', { name: 'CHANGE_TTR', parameters: { ttrType: 'URGENT', value: 5 } }).ok,
      false,
    );
  });
});
