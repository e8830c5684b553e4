import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { components } from './generated/custom-endpoint-v1.js';

/**
 * The published Custom Endpoint contract (contracts/custom-endpoint-v1.openapi.json, OpenAPI 3.0)
 * compiled into validators, so the connector's tests and the demo bot check bodies against the
 * very document brands implement, not against a hand-copied schema.
 *
 * What is checked, by name:
 * - `Conversation`: the PUT body `{sdes, context}`, exactly as the contract says (note: `sdes`
 *   is required, so a connector with engagement attributes off still sends `sdes: {}`; `context`
 *   needs `type`, a numeric `skillId` and a numeric `engagementId`).
 * - `ConversationChange`: the POST events body. The contract's schema is a `oneOf` of TextChange
 *   (`TEXT`), StateChange (`CONVERSATION`), StructuredContentChange (`RICH_CONTENT`) and
 *   HostedFileChange (`hosted-file`), validated as-is. Two things follow from the contract:
 *   - `RICH_CONTENT` needs `data.content` (an object) AND `data.context` (any value);
 *   - `START` (welcome event) and `CLOSE_CONVERSATION` (survey bots), which LivePerson's connector
 *     and ours send, match none of the branches. They are checked instead against the common
 *     envelope the branches share, with the contract's own `ChangeContext`:
 *     `{type: "START"|"CLOSE_CONVERSATION", source: "CONVERSATION", data: object,
 *       context: ChangeContext (lpEvent object; lpEvent.lastConsumerMessage a string if present)}`
 *     and the verdict lists that as a deviation, so a test can say precisely what it checked.
 * - `PostEventResponse`: the events answer `{response, analytics}`. The contract's `BotResponse`
 *   only requires an ACTION's `parameters` to be an object; the contract also defines one schema
 *   per action (TransferAction, CloseConversationAction, InvokeFunctionAction, ChangeTTRAction)
 *   that nothing references. Those are applied to each ACTION item too, because a connector has to
 *   reject malformed action bodies and the contract is the only written rule for them.
 * - `BotStatus`, `Environment`: the state and environments answers, as-is.
 * - `TransferAction`, `CloseConversationAction`, `InvokeFunctionAction`, `ChangeTTRAction`: an
 *   ACTION item's `data`, on its own.
 *
 * The errata of the published file (contracts/ERRATA.md) are applied here and nowhere else:
 * - `metadata` of TEXT / STRUCTURED_CONTENT is a list of objects (LivePerson's conversation
 *   metadata, e.g. `[{type: "ExternalId", id}]`): the canonical form, checked as the contract. The
 *   file's own form, an object, is accepted and reported in `deviations` (the connector normalises
 *   it to a one-item list).
 * - TRANSFER with both `skillName` and `agentId` (agent preferred, skill as fallback, as LivePerson
 *   documents and its reference service sends) is accepted and reported in `deviations`; the
 *   file's oneOf admits one or the other.
 * - START / CLOSE_CONVERSATION events, as above, reported in `deviations`.
 */
export type ContractBodyName =
  | 'Conversation'
  | 'ConversationChange'
  | 'PostEventResponse'
  | 'BotStatus'
  | 'Environment'
  | ActionSchemaName;

export type ActionSchemaName =
  | 'TransferAction'
  | 'CloseConversationAction'
  | 'InvokeFunctionAction'
  | 'ChangeTTRAction';

export interface ContractVerdict {
  ok: boolean;
  /** `"<json pointer> <what is wrong>"`, empty when ok. */
  errors: string[];
  /** Where the body passed only by one of the documented deviations above. */
  deviations: string[];
}

export interface ContractValidator {
  validate(name: ContractBodyName, data: unknown): ContractVerdict;
  /** Where the contract was read from. */
  readonly path: string;
}

// ---- The shapes the contract describes, for code that builds or reads these bodies ----------
// Generated from the contract file (src/contract/generated, `npm run contract:types`), with the
// errata applied here and named where they are (contracts/ERRATA.md).

type Schemas = components['schemas'];

export type MessageAudience = NonNullable<Schemas['Text']['data']['messageAudience']>;
/** LivePerson conversation metadata: a list, e.g. `[{type: 'ExternalId', id: '...'}]` (erratum §1: the file says an object). */
export type ConversationMetadata = Record<string, unknown>[];
/** A message's data with its `metadata` as the list it is (erratum §1). */
type WithMetadataList<Data extends { metadata?: unknown }> = Omit<Data, 'metadata'> & {
  metadata?: ConversationMetadata;
};

export interface TextItem {
  type: Schemas['Text']['type'];
  data: WithMetadataList<Schemas['Text']['data']>;
}
export interface StructuredContentItem {
  type: Schemas['StructuredContent']['type'];
  data: WithMetadataList<Schemas['StructuredContent']['data']>;
}
export type DelayItem = Schemas['Delay'];
export type StandardTtr = Schemas['ActionParametersStandardTTR']['ttrType'];
export type ActionData =
  | {
      name: Schemas['TransferAction']['name'];
      /** A skill, an agent, or (erratum §2) both: the agent preferred, the skill as the fallback. */
      parameters:
        | Schemas['TransferAction']['parameters']
        | (Schemas['ActionParametersTransferToSkill'] & Schemas['ActionParametersTransferToAgent']);
    }
  | Schemas['CloseConversationAction']
  | Schemas['ChangeTTRAction']
  | Schemas['InvokeFunctionAction'];
export interface ActionItem {
  type: Schemas['Action']['type'];
  data: ActionData;
}
export type BotResponseItem = TextItem | StructuredContentItem | DelayItem | ActionItem;

export type Intent = Schemas['Intent'];
/** The events answer: the contract's PostEventResponse, its items as above. */
export interface PostEventResponseBody {
  response: BotResponseItem[];
  analytics: { intents: Intent[] };
}

/**
 * The contract's ChangeContext: `lpEvent` is LivePerson's raw event. botbridge's connector puts
 * the log entry's `sequence` in it for every event (a retry carries the same one), and
 * `lastConsumerMessage` in a welcome event.
 */
export interface ChangeContext {
  lpEvent: Schemas['ChangeContext']['lpEvent'] & { lastConsumerMessage?: string; sequence?: number };
}
/** What every change of the contract has, as LivePerson's connector sends it (with `source`). */
type Change<Body extends { context: unknown }> = Omit<Body, 'context'> & { source?: string; context: ChangeContext };
/** The contract's TextChange. */
export type TextChangeBody = Change<Schemas['TextChange']>;
/** The contract's StructuredContentChange: it wants a `context` inside `data` too. */
export type StructuredContentChangeBody = Omit<Change<Schemas['StructuredContentChange']>, 'data'> & {
  data: Schemas['StructuredContentChange']['data'] & { context: unknown };
};
/** START and CLOSE_CONVERSATION: no ConversationChange of the contract, its common envelope (erratum §3). */
export interface LifecycleEventBody {
  type: 'START' | 'CLOSE_CONVERSATION';
  source: 'CONVERSATION';
  data: Record<string, unknown>;
  context: ChangeContext;
}
/** The contract's StateChange. */
export type StateChangeBody = Omit<Change<Schemas['StateChange']>, 'data'> & {
  data: Schemas['StateChange']['data'] & { context: unknown };
};
/** The contract's HostedFileChange. */
export type HostedFileChangeBody = Change<Schemas['HostedFileChange']>;
/** The POST events body, `ConversationChange` to the validator. */
export type ConversationEventBody =
  | TextChangeBody
  | StructuredContentChangeBody
  | LifecycleEventBody
  | StateChangeBody
  | HostedFileChangeBody;

/**
 * The contract's ConversationContext; the index signature admits what LivePerson's connector sends
 * beyond it (assignedAgentId, conversationId…), which the contract does not forbid.
 */
export type ConversationContext = Schemas['ConversationContext'] & { [extra: string]: unknown };
export interface ConversationBody {
  sdes: Schemas['Conversation']['sdes'];
  context: ConversationContext;
}

export type BotStatusBody = Schemas['BotStatus'];

// ---- Locating and compiling ---------------------------------------------------------------------

const CONTRACT_FILE = 'contracts/custom-endpoint-v1.openapi.json';

/**
 * The contract file for a module at `moduleUrl`: two levels up from `src/contract/` (tsx), three
 * from `dist/src/contract/` (tsc does not copy JSON it does not import, so the compiled module
 * reads the repository's copy).
 */
export function locateContract(moduleUrl: string | URL = import.meta.url): string {
  const candidates = [`../../${CONTRACT_FILE}`, `../../../${CONTRACT_FILE}`].map((relative) =>
    fileURLToPath(new URL(relative, moduleUrl)),
  );
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`Custom Endpoint contract not found; looked at ${candidates.join(', ')}`);
  return found;
}

const STRICT_ID = 'botbridge:custom-endpoint-v1';
const RECONCILED_ID = 'botbridge:custom-endpoint-v1:reconciled';

const RESPONSE_ITEM_BRANCHES: Record<string, string> = {
  TEXT: 'Text',
  STRUCTURED_CONTENT: 'StructuredContent',
  DELAY: 'Delay',
  ACTION: 'Action',
};
const CHANGE_BRANCHES: Record<string, string> = {
  TEXT: 'TextChange',
  CONVERSATION: 'StateChange',
  RICH_CONTENT: 'StructuredContentChange',
  'hosted-file': 'HostedFileChange',
};
const ACTION_SCHEMAS: Record<string, ActionSchemaName> = {
  TRANSFER: 'TransferAction',
  CLOSE_CONVERSATION: 'CloseConversationAction',
  INVOKE_FUNCTION: 'InvokeFunctionAction',
  CHANGE_TTR: 'ChangeTTRAction',
};
const ENVELOPE_EVENT_TYPES = ['START', 'CLOSE_CONVERSATION'];

type JsonObject = Record<string, unknown>;

export function createContractValidator(options: { path?: string } = {}): ContractValidator {
  const path = options.path ?? locateContract();
  const document = JSON.parse(readFileSync(path, 'utf8')) as {
    components: {
      schemas: Record<string, JsonObject>;
      responses: Record<string, { content: Record<string, { schema: JsonObject }> }>;
    };
  };
  const schemas = document.components.schemas;
  const postEventResponse = document.components.responses.PostEventResponse.content['application/json'].schema;

  // OpenAPI 3.0 schemas are JSON Schema with extras Ajv does not know (x-*, `example`); strict
  // mode would refuse them, and the contract's own slip (`minItems` on an object) with them.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // "strict": the contract as corrected by its errata, what a bot should send; "reconciled":
  // also what the connector accepts beyond it, each such acceptance reported as a deviation.
  const corrected = withMetadata(schemas, METADATA_LIST);
  ajv.addSchema({
    $id: STRICT_ID,
    definitions: { ...withRefsTo(STRICT_ID, corrected), PostEventResponse: withRefsTo(STRICT_ID, postEventResponse) },
  });
  const reconciled = withMetadata(schemas, { anyOf: [METADATA_LIST, { type: 'object' }] });
  ajv.addSchema({
    $id: RECONCILED_ID,
    definitions: {
      ...withRefsTo(RECONCILED_ID, reconciled),
      PostEventResponse: withRefsTo(RECONCILED_ID, postEventResponse),
      LifecycleEvent: lifecycleEnvelope(RECONCILED_ID),
    },
  });
  const compiled = new Map<string, ValidateFunction>();
  const strict = (name: string) => compile(ajv, compiled, `${STRICT_ID}#/definitions/${name}`);
  const lenient = (name: string) => compile(ajv, compiled, `${RECONCILED_ID}#/definitions/${name}`);

  function validateAction(data: unknown, at: string, verdict: ContractVerdict, schema?: ActionSchemaName): void {
    const name = schema ?? lookup(ACTION_SCHEMAS, (data as JsonObject | null)?.name);
    if (!name) return; // the name enum itself is the contract's Action schema's business
    const check = strict(name);
    if (check(data)) return;
    if (name === 'TransferAction' && isSkillAndAgentTransfer(data)) {
      verdict.deviations.push(
        `${at || '/'} TRANSFER names both skillName and agentId (agent preferred, skill as fallback); the contract's TransferAction admits one or the other`,
      );
      return;
    }
    verdict.errors.push(...describe(check.errors, at, `contract ${name}`));
  }

  function validateResponse(data: unknown, verdict: ContractVerdict): void {
    const whole = lenient('PostEventResponse');
    const items = isObject(data) && Array.isArray(data.response) ? (data.response as unknown[]) : undefined;
    if (!whole(data)) {
      // Ajv reports every failed oneOf branch; an item's `type` says which branch was meant, so
      // errors inside items come from that branch alone.
      const outsideItems = (whole.errors ?? []).filter((e) => !(items && /^\/response\/\d+/.test(e.instancePath)));
      verdict.errors.push(...describe(outsideItems, ''));
      items?.forEach((item, index) => {
        const branch = lookup(RESPONSE_ITEM_BRANCHES, (item as JsonObject | null)?.type);
        const at = `/response/${index}`;
        if (!branch) {
          verdict.errors.push(`${at}/type must be one of ${Object.keys(RESPONSE_ITEM_BRANCHES).join(', ')}`);
          return;
        }
        const check = lenient(branch);
        if (!check(item)) verdict.errors.push(...describe(check.errors, at));
      });
    }
    items?.forEach((item, index) => {
      if (!isObject(item) || !isObject(item.data)) return;
      if ((item.type === 'TEXT' || item.type === 'STRUCTURED_CONTENT') && isObject(item.data.metadata)) {
        verdict.deviations.push(
          `/response/${index}/data/metadata is an object; LivePerson's conversation metadata is a list of objects (contracts/ERRATA.md §1), so it is taken as a one-item list`,
        );
      }
      if (item.type === 'ACTION') validateAction(item.data, `/response/${index}/data`, verdict);
    });
    if (verdict.errors.length === 0 && !strict('PostEventResponse')(data) && verdict.deviations.length === 0) {
      // Cannot happen unless the reconciliation grew beyond what is listed above; never pass silently.
      verdict.errors.push(...describe(strict('PostEventResponse').errors, ''));
    }
  }

  function validateChange(data: unknown, verdict: ContractVerdict): void {
    const type = isObject(data) ? data.type : undefined;
    if (typeof type === 'string' && ENVELOPE_EVENT_TYPES.includes(type)) {
      const check = lenient('LifecycleEvent');
      if (check(data)) {
        verdict.deviations.push(
          `${type} is not a ConversationChange of the contract; checked against the common envelope with the contract's ChangeContext`,
        );
      } else {
        verdict.errors.push(...describe(check.errors, '', `${type} envelope`));
      }
      return;
    }
    const whole = strict('ConversationChange');
    if (whole(data)) return;
    const branch = lookup(CHANGE_BRANCHES, type);
    if (!isObject(data)) {
      verdict.errors.push(...describe(whole.errors, ''));
    } else if (!branch) {
      verdict.errors.push(
        `/type must be one of ${Object.keys(CHANGE_BRANCHES).join(', ')} (contract) or ${ENVELOPE_EVENT_TYPES.join(', ')} (lifecycle envelope)`,
      );
    } else {
      const check = strict(branch);
      verdict.errors.push(...(check(data) ? describe(whole.errors, '') : describe(check.errors, '')));
    }
  }

  return {
    path,
    validate(name, data) {
      const verdict: ContractVerdict = { ok: false, errors: [], deviations: [] };
      switch (name) {
        case 'PostEventResponse':
          validateResponse(data, verdict);
          break;
        case 'ConversationChange':
          validateChange(data, verdict);
          break;
        case 'TransferAction':
        case 'CloseConversationAction':
        case 'InvokeFunctionAction':
        case 'ChangeTTRAction':
          validateAction(data, '', verdict, name);
          break;
        case 'Conversation':
        case 'BotStatus':
        case 'Environment': {
          const check = strict(name);
          if (!check(data)) verdict.errors.push(...describe(check.errors, ''));
          break;
        }
        default:
          throw new Error(`no contract schema named '${String(name)}'`);
      }
      verdict.ok = verdict.errors.length === 0;
      return verdict;
    },
  };
}

function compile(ajv: Ajv, cache: Map<string, ValidateFunction>, ref: string): ValidateFunction {
  let validate = cache.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    cache.set(ref, validate);
  }
  return validate;
}

/** A deep copy whose `#/components/schemas/X` references point into the document `id`. */
function withRefsTo<T>(id: string, schema: T): T {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) =>
      key === '$ref' && typeof value === 'string'
        ? value.replace('#/components/schemas/', `${id}#/definitions/`)
        : value,
    ),
  ) as T;
}

/** LivePerson's conversation metadata: a list of objects (contracts/ERRATA.md §1). */
const METADATA_LIST = { type: 'array', items: { type: 'object' } };

/** The contract's schemas with TEXT's and STRUCTURED_CONTENT's `metadata` replaced (see the module comment). */
function withMetadata(schemas: Record<string, JsonObject>, metadata: JsonObject): Record<string, JsonObject> {
  const copy = JSON.parse(JSON.stringify(schemas)) as Record<
    string,
    JsonObject & { properties: { data: { properties: JsonObject } } }
  >;
  copy.Text.properties.data.properties.metadata = metadata;
  copy.StructuredContent.properties.data.properties.metadata = metadata;
  return copy;
}

/** START / CLOSE_CONVERSATION: the envelope every contract change has, plus `source`. */
function lifecycleEnvelope(id: string): JsonObject {
  return {
    type: 'object',
    required: ['type', 'source', 'data', 'context'],
    properties: {
      type: { type: 'string', enum: ENVELOPE_EVENT_TYPES },
      source: { type: 'string', enum: ['CONVERSATION'] },
      data: { type: 'object' },
      context: {
        allOf: [
          { $ref: `${id}#/definitions/ChangeContext` },
          { properties: { lpEvent: { properties: { lastConsumerMessage: { type: 'string' } } } } },
        ],
      },
    },
  };
}

function isSkillAndAgentTransfer(data: unknown): boolean {
  if (!isObject(data) || data.name !== 'TRANSFER' || !isObject(data.parameters)) return false;
  const { skillName, agentId, ...rest } = data.parameters;
  return typeof skillName === 'string' && typeof agentId === 'string' && Object.keys(rest).length === 0;
}

/** A table entry for a value from the wire: own keys only, so "constructor" is not a type. */
function lookup<T>(table: Record<string, T>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(errors: ErrorObject[] | null | undefined, prefix: string, source?: string): string[] {
  const lines = (errors ?? []).map((error) => {
    const at = `${prefix}${error.instancePath}` || '/';
    const params = error.params as Record<string, unknown>;
    let detail = error.message ?? 'is invalid';
    if (error.keyword === 'enum')
      detail += ` (${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})`;
    if (error.keyword === 'additionalProperties') detail += ` ('${String(params.additionalProperty)}')`;
    return `${at} ${detail}${source ? ` [${source}]` : ''}`;
  });
  return [...new Set(lines)];
}
