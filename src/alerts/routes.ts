import type { FastifyPluginAsync } from 'fastify';
import type {} from '../operators/guard.js';
import { NO_NUL, accountParams, anyJson, errorResponses, noContent } from '../http/schemas.js';
import { checkDestinationUrl, type Alerts } from './alerts.js';
import { ALERT_FORMATS, ALERT_STATES, type AlertFormat } from './types.js';
import { DEFAULT_MIN_COUNT, DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES, RULE_KINDS, type RuleInput } from './rules.js';
import type { AlertWatch } from './watch.js';

export interface AlertRoutesDeps {
  alerts: Alerts;
  watch: AlertWatch;
  /** That the account exists (not-found otherwise): the platform's directory. */
  requireAccount(accountId: string): Promise<unknown>;
}

const tags = ['alerts'];
const security = [{ bearer: [] }];

const destinationParams = {
  type: 'object',
  properties: { acc: accountParams.properties.acc, id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['acc', 'id'],
} as const;

const destinationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    name: { type: 'string' },
    url: {
      type: 'string',
      description: 'Scheme and host only (`https://hooks.slack.com/…`): the rest of a webhook URL is its secret',
    },
    format: { type: 'string', enum: [...ALERT_FORMATS] },
    createdAt: { type: 'integer', description: 'Epoch milliseconds' },
  },
  required: ['id', 'accountId', 'name', 'url', 'format', 'createdAt'],
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    eventId: { type: 'string', description: 'The event: one per change, sent to each destination' },
    destinationId: { type: 'string' },
    kind: {
      type: 'string',
      description: '`bot-status`, `test`, or a rule’s kind (`error-rate`, `escalation-rate`, `public-api-backlog`)',
    },
    state: { type: 'string', enum: [...ALERT_STATES] },
    attempts: { type: 'integer' },
    lastError: { type: 'string', description: 'The last attempt’s failure (`HTTP 500`, `ECONNREFUSED`...)' },
    createdAt: { type: 'integer' },
    nextAttemptAt: { type: 'integer', description: 'Pending: when it is tried next' },
    deliveredAt: { type: 'integer' },
    event: anyJson('What the alert says: the `json` format’s body'),
  },
  required: ['id', 'eventId', 'destinationId', 'kind', 'state', 'attempts', 'createdAt', 'event'],
} as const;

const ruleProperties = {
  kind: {
    type: 'string',
    enum: [...RULE_KINDS],
    description:
      '`error-rate`: the share of a bot’s exchanges that went wrong (partial, escalated on an error, failed); `escalation-rate`: the share of a bot’s started conversations escalated; `public-api-backlog`: the account’s Public API jobs waiting for their turn',
  },
  threshold: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 1_000_000,
    description: 'Rates: a percentage (0–100]; a backlog: a number of jobs. The rule fires at or above it',
  },
  windowMinutes: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_WINDOW_MINUTES,
    description: `Rates: the last minutes counted (the minute under way and whole minutes before it; default ${DEFAULT_WINDOW_MINUTES})`,
  },
  minCount: {
    type: 'integer',
    minimum: 1,
    maximum: 1_000_000,
    description: `Rates: below this many exchanges (error rate) or started conversations (escalation rate) in the window, the rate says nothing and the rule does not fire (default ${DEFAULT_MIN_COUNT})`,
  },
  botId: {
    type: 'string',
    minLength: 1,
    maxLength: 64,
    description: 'Rates: the one bot watched; none watches each bot',
  },
} as const;

const ruleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    ...ruleProperties,
    createdAt: { type: 'integer' },
    firing: {
      type: 'array',
      description: 'What the rule fires for now: each bot (or `` for the account) with when it began and its value',
      items: {
        type: 'object',
        properties: {
          subject: { type: 'string' },
          botName: { type: 'string' },
          since: { type: 'integer' },
          value: { type: ['number', 'null'] },
        },
        required: ['subject', 'since', 'value'],
      },
    },
  },
  required: ['id', 'accountId', 'kind', 'threshold', 'windowMinutes', 'minCount', 'createdAt', 'firing'],
} as const;

type Acc = { Params: { acc: string } };
type Destination = { Params: { acc: string; id: string } };

/** An account's alert destinations, its alerts, and a test alert on demand. */
export const alertsAdmin: FastifyPluginAsync<AlertRoutesDeps> = async (server, { alerts, watch, requireAccount }) => {
  server.get<Acc>(
    '/accounts/:acc/alerts/destinations',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'The account’s alert destinations (webhooks)',
        params: accountParams,
        response: { 200: { type: 'array', items: destinationSchema }, ...errorResponses },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return alerts.destinations(request.params.acc);
    },
  );

  server.post<Acc & { Body: { name: string; url: string; format: AlertFormat } }>(
    '/accounts/:acc/alerts/destinations',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Add an alert destination: a webhook told when a bot goes into an interruption and back',
        description:
          '`slack` sends `{text}` (a Slack incoming webhook), `teams` a MessageCard (a Teams incoming webhook), `json` the event itself. The URL is kept, never logged, and shown by scheme and host only.',
        params: accountParams,
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100, pattern: NO_NUL },
            url: { type: 'string', minLength: 8, maxLength: 2000, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$' },
            format: { type: 'string', enum: [...ALERT_FORMATS] },
          },
          required: ['name', 'url', 'format'],
          additionalProperties: false,
        },
        response: { 201: destinationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await requireAccount(request.params.acc);
      checkDestinationUrl(request.body.url);
      return reply.status(201).send(await alerts.addDestination(request.params.acc, request.body));
    },
  );

  server.delete<Destination>(
    '/accounts/:acc/alerts/destinations/:id',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Remove an alert destination (what it still owed is given up)',
        params: destinationParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await requireAccount(request.params.acc);
      await alerts.removeDestination(request.params.acc, request.params.id);
      return reply.status(204).send();
    },
  );

  server.post<Destination>(
    '/accounts/:acc/alerts/destinations/:id/test',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Send a test alert to the destination now, and say how it went',
        params: destinationParams,
        response: {
          200: {
            type: 'object',
            properties: {
              ok: { type: 'boolean' },
              status: { type: 'integer', description: 'The webhook’s HTTP status, when it answered' },
              error: { type: 'string' },
              durationMs: { type: 'integer' },
            },
            required: ['ok', 'durationMs'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return alerts.test(request.params.acc, request.params.id);
    },
  );

  server.get<Acc & { Querystring: { limit: number } }>(
    '/accounts/:acc/alerts/events',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary:
          'The account’s recent alerts, newest first: one per event and destination, pending, delivered or failed',
        params: accountParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
          additionalProperties: false,
        },
        response: { 200: { type: 'array', items: deliverySchema }, ...errorResponses },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return alerts.events(request.params.acc, request.query.limit);
    },
  );

  server.get<Acc>(
    '/accounts/:acc/alerts/rules',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'The account’s alert rules, each with what it fires for now',
        params: accountParams,
        response: { 200: { type: 'array', items: ruleSchema }, ...errorResponses },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return watch.rules(request.params.acc);
    },
  );

  server.post<Acc & { Body: RuleInput }>(
    '/accounts/:acc/alerts/rules',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Add an alert rule: a bot’s error or escalation rate, or the Public API backlog, over a threshold',
        description:
          'Checked by every instance every 30 s; a condition that begins sends one alert (`state: firing`) to each destination, one that ends another (`resolved`), once across a cluster.',
        params: accountParams,
        body: {
          type: 'object',
          properties: ruleProperties,
          required: ['kind', 'threshold'],
          additionalProperties: false,
        },
        response: { 201: ruleSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await requireAccount(request.params.acc);
      return reply.status(201).send(await watch.addRule(request.params.acc, request.body));
    },
  );

  server.delete<Destination>(
    '/accounts/:acc/alerts/rules/:id',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Remove an alert rule (a condition it fires for ends without an alert)',
        params: destinationParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await requireAccount(request.params.acc);
      await watch.removeRule(request.params.acc, request.params.id);
      return reply.status(204).send();
    },
  );
};
