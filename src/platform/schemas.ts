import { anyJson, freeObject } from '../http/schemas.js';
import { AUDIENCES, CONVERSATION_TYPES, TTR_TYPES } from './types.js';

/**
 * The platform's objects (types.ts) as its routes answer them: consumer, agent and admin alike.
 * Response schemas write the answer (fast-json-stringify), so each lists every property the
 * object can have, with its exact type; what the platform keeps without reading it (SDES, rich
 * content, metadata) passes through whole.
 */

export const skillSchema = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' } },
  required: ['id', 'name'],
} as const;

const assigneeSchema = {
  type: ['object', 'null'],
  description: 'Who holds the conversation; null while it waits in its skill’s queue',
  properties: {
    userId: { type: 'string' },
    userType: { type: 'string', enum: ['HUMAN', 'BOT'] },
    botId: { type: 'string', description: 'BOT users: the bot they are' },
  },
  required: ['userId', 'userType'],
} as const;

const ttrSchema = {
  type: 'object',
  properties: {
    ttrType: { type: 'string', enum: [...TTR_TYPES] },
    value: { type: 'integer', description: 'Seconds; CUSTOM only' },
  },
  required: ['ttrType'],
} as const;

const sdesSchema = {
  type: 'object',
  description: 'Engagement attributes, as LivePerson names them',
  properties: {
    authenticatedSdes: freeObject('Attributes from an authenticated source'),
    unauthenticatedSdes: freeObject('Attributes the consumer’s side sent'),
  },
  additionalProperties: true,
} as const;

const visitorSchema = {
  type: 'object',
  description: 'Visitor information as the consumer’s side sent it',
  properties: { sharkVisitorId: { type: 'string' }, sharkSessionId: { type: 'string' } },
  additionalProperties: true,
} as const;

const originatorSchema = {
  type: 'object',
  properties: {
    role: { type: 'string', enum: ['CONSUMER', 'BOT', 'AGENT', 'SYSTEM'] },
    userId: { type: 'string' },
  },
  required: ['role'],
} as const;

/**
 * One entry of the log. Its body is kept as JSON and read back whole, so an entry carries what
 * its writer gave it: the properties below, and any an older version wrote.
 */
export const eventSchema = {
  type: 'object',
  properties: {
    sequence: { type: 'integer' },
    serverTimestamp: { type: 'integer', description: 'Epoch milliseconds' },
    originator: originatorSchema,
    type: { type: 'string', enum: ['TEXT', 'RICH_CONTENT', 'FILE', 'ASSIGN', 'TRANSFER', 'CLOSE', 'TTR', 'SDES'] },
    audience: { type: 'string', enum: [...AUDIENCES] },
    text: { type: 'string' },
    content: anyJson('RICH_CONTENT: the rich content or structured-content template, as sent'),
    file: freeObject('FILE: the file reference, as the consumer sent it'),
    quickReplies: anyJson('Quick replies offered with the text'),
    metadata: anyJson('Metadata sent with the message'),
    encodedMetadata: { type: 'string', description: 'base64' },
    context: anyJson('Context sent with the message (a Public API request’s intent, say)'),
    skill: { ...skillSchema, description: 'TRANSFER: the skill it went to' },
    assignee: assigneeSchema,
    ttr: ttrSchema,
    sdes: { ...sdesSchema, description: 'SDES: the attributes merged in' },
    closeReason: { type: 'string' },
    withoutPcs: { type: 'boolean' },
  },
  required: ['sequence', 'serverTimestamp', 'originator', 'type', 'audience'],
  additionalProperties: true,
} as const;

export const conversationSchema = {
  type: 'object',
  properties: {
    conversationId: { type: 'string' },
    accountId: { type: 'string' },
    type: { type: 'string', enum: [...CONVERSATION_TYPES] },
    status: { type: 'string', enum: ['OPEN', 'CLOSED'] },
    skill: skillSchema,
    assignee: assigneeSchema,
    ttr: ttrSchema,
    sdes: sdesSchema,
    visitor: visitorSchema,
    engagementId: { type: 'integer' },
    campaignId: { type: 'integer' },
    closeReason: { type: 'string' },
    closedWithoutPcs: { type: 'boolean' },
    createdAt: { type: 'integer', description: 'Epoch milliseconds' },
    queuedAt: { type: 'integer', description: 'Epoch milliseconds; absent while someone holds it' },
    lastSequence: { type: 'integer' },
    answeredSequence: { type: 'integer', description: 'The last log entry its holder has answered' },
    pendingAnswer: anyJson('What the holder still has to carry out of an answer (after a DELAY)'),
    holderLoad: { type: 'integer', description: 'Open conversations the holder had when it got this one' },
    test: { type: 'boolean', description: 'Opened by the console’s tester (closed when the tester leaves)' },
  },
  required: [
    'conversationId',
    'accountId',
    'type',
    'status',
    'skill',
    'assignee',
    'ttr',
    'sdes',
    'visitor',
    'createdAt',
    'lastSequence',
    'answeredSequence',
  ],
} as const;

/** A conversation with its whole log, private entries included (agent and admin views). */
export const conversationWithEventsSchema = {
  ...conversationSchema,
  properties: { ...conversationSchema.properties, events: { type: 'array', items: eventSchema } },
  required: [...conversationSchema.required, 'events'],
} as const;

export const queuedConversationSchema = {
  type: 'object',
  properties: {
    conversationId: { type: 'string' },
    skill: skillSchema,
    type: { type: 'string', enum: [...CONVERSATION_TYPES] },
    ttr: ttrSchema,
    queuedAt: { type: 'integer', description: 'Epoch milliseconds' },
    waitingSeconds: { type: 'integer' },
    createdAt: { type: 'integer', description: 'Epoch milliseconds' },
    test: { type: 'boolean', description: 'Opened by the console’s tester' },
  },
  required: ['conversationId', 'skill', 'type', 'ttr', 'queuedAt', 'waitingSeconds', 'createdAt'],
} as const;

/** A user as the admin API lists them (directory.ts User). */
export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    loginName: { type: 'string' },
    userType: { type: 'string', enum: ['HUMAN', 'BOT'] },
    skills: { type: 'array', items: skillSchema },
    maxConversations: { type: ['integer', 'null'], description: 'null: no cap' },
    state: { type: 'string', enum: ['ONLINE', 'OFFLINE'] },
    botId: { type: 'string', description: 'BOT users: the bot they are' },
  },
  required: ['id', 'accountId', 'loginName', 'userType', 'skills', 'maxConversations', 'state'],
} as const;

/** A new entry's place in the log. */
export const sequenceBody = {
  type: 'object',
  properties: { sequence: { type: 'integer' } },
  required: ['sequence'],
} as const;
