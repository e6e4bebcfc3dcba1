/**
 * JSON Schemas of every response. Fastify serialises with them (fields not listed are dropped, so nothing
 * leaks by accident) and @fastify/swagger turns them into the OpenAPI document at /docs/json.
 */

const nullable = (type: string) => ({ type: [type, 'null'] });
const STATUS_ENUM = ['initializing', 'healthy', 'degraded', 'unhealthy', 'disabled'];
const ERROR_KINDS = [
  'auth',
  'permission',
  'not_found',
  'invalid_request',
  'invalid_config',
  'conflict',
  'rate_limited',
  'timeout',
  'unavailable',
  'circuit_open',
  'bulkhead_full',
  'cancelled',
  'internal',
];

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every error the gateway answers with.',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

const healthError = {
  type: ['object', 'null'],
  description: 'Why the last check failed (secrets redacted).',
  required: ['kind', 'message'],
  properties: { kind: { type: 'string', enum: ERROR_KINDS }, message: { type: 'string' } },
} as const;

export const integrationHealthSchema = {
  $id: 'IntegrationHealth',
  type: 'object',
  required: ['name', 'tenant', 'provider', 'displayName', 'category', 'type', 'status', 'enabled'],
  properties: {
    name: { type: 'string', examples: ['payments'] },
    tenant: { type: 'string', examples: ['acme'] },
    provider: { type: 'string', description: 'The connector id.', examples: ['stripe'] },
    displayName: { type: 'string', examples: ['Stripe'] },
    category: { type: 'string', examples: ['payments'] },
    type: { type: 'string', examples: ['external_api'] },
    status: { type: 'string', enum: STATUS_ENUM },
    enabled: { type: 'boolean' },
    checkedAt: { ...nullable('string'), format: 'date-time', description: 'When the last check finished.' },
    latencyMs: { ...nullable('number'), description: 'How long the last check took.' },
    details: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'What the connector reported with its last check (secrets redacted).',
    },
    error: healthError,
  },
} as const;

export const overallHealthSchema = {
  $id: 'OverallHealth',
  type: 'object',
  required: ['status', 'tenant', 'checkedAt', 'counts', 'integrations'],
  properties: {
    status: {
      type: 'string',
      enum: ['healthy', 'degraded', 'unhealthy'],
      description:
        'healthy: every enabled integration is healthy (or none is enabled). unhealthy: every enabled integration is ' +
        'unhealthy. degraded: anything in between (some unhealthy, degraded or still initializing).',
    },
    tenant: { ...nullable('string'), description: 'The tenant in scope; null when the admin sees every tenant.' },
    checkedAt: { type: 'string', format: 'date-time' },
    counts: {
      type: 'object',
      description: 'Integrations in scope by status.',
      required: STATUS_ENUM,
      properties: Object.fromEntries(STATUS_ENUM.map((s) => [s, { type: 'integer' }])),
    },
    integrations: { type: 'array', items: { $ref: 'IntegrationHealth#' } },
  },
} as const;

export const statusEntrySchema = {
  $id: 'IntegrationStatus',
  type: 'object',
  required: ['name', 'tenant', 'provider', 'displayName', 'category', 'type', 'status', 'enabled'],
  properties: {
    name: { type: 'string' },
    tenant: { type: 'string' },
    provider: { type: 'string' },
    displayName: { type: 'string' },
    category: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string', enum: STATUS_ENUM },
    enabled: { type: 'boolean' },
    breaker: {
      type: ['string', 'null'],
      enum: ['closed', 'open', 'half_open', null],
      description: 'Null without a breaker.',
    },
    rateLimitHeadroom: { ...nullable('integer'), description: 'Tokens available now; null without a rate limit.' },
    calls: { type: 'integer' },
    failures: { type: 'integer' },
    successRate: { ...nullable('number'), minimum: 0, maximum: 1, description: 'Null before the first call.' },
    meanLatencyMs: { ...nullable('number'), description: 'Null before the first call.' },
    lastErrorKind: { type: ['string', 'null'], enum: [...ERROR_KINDS, null] },
    lastErrorAt: { ...nullable('string'), format: 'date-time' },
    lastCheck: {
      type: ['object', 'null'],
      required: ['status', 'latencyMs', 'checkedAt'],
      properties: {
        status: { type: 'string', enum: STATUS_ENUM },
        latencyMs: { type: 'number' },
        checkedAt: { type: 'string', format: 'date-time' },
        error: healthError,
      },
    },
    sla: {
      type: ['object', 'null'],
      description: "The tenant's promised service level and whether this integration meets it (null before calls).",
      properties: {
        availability: { type: 'number', description: 'Percent of calls that succeed.' },
        latencyMs: { type: 'number', description: 'Mean call latency.' },
        met: { type: ['boolean', 'null'] },
      },
    },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

const countMap = { type: 'object', additionalProperties: { type: 'integer' } } as const;

const storeStatusSchema = {
  type: 'object',
  description:
    'Where rate limits and breakers live (`server.store`): `memory` (this process) or `redis` (shared by every ' +
    'replica). No address or credentials.',
  required: ['kind', 'status', 'onUnavailable', 'since'],
  properties: {
    kind: { type: 'string', enum: ['memory', 'redis'] },
    status: {
      type: 'string',
      enum: ['connecting', 'up', 'down', 'closed'],
      description: 'down: Redis cannot be reached and this replica follows onUnavailable. Memory is always up.',
    },
    onUnavailable: {
      type: ['string', 'null'],
      enum: ['local', 'reject', null],
      description:
        'While Redis is down: local (each replica limits on its own) or reject (rate-limited calls fail). ' +
        'Null for memory.',
    },
    since: { ...nullable('string'), format: 'date-time', description: 'When the store entered this status.' },
  },
} as const;

export const statusSchema = {
  $id: 'Status',
  type: 'object',
  required: ['generatedAt', 'tenant', 'totals', 'integrations', 'store'],
  properties: {
    generatedAt: { type: 'string', format: 'date-time' },
    tenant: { ...nullable('string'), description: 'The tenant in scope; null when the admin sees every tenant.' },
    totals: {
      type: 'object',
      required: ['total', 'byStatus', 'byCategory', 'byType', 'calls', 'failures', 'successRate', 'meanLatencyMs'],
      properties: {
        total: { type: 'integer' },
        byStatus: countMap,
        byCategory: countMap,
        byType: countMap,
        calls: { type: 'integer' },
        failures: { type: 'integer' },
        successRate: nullable('number'),
        meanLatencyMs: nullable('number'),
      },
    },
    integrations: { type: 'array', items: { $ref: 'IntegrationStatus#' } },
    store: storeStatusSchema,
  },
} as const;

export const probeSchema = {
  $id: 'Probe',
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok', 'ready', 'starting', 'stopping'] } },
} as const;

export const sharedSchemas = [
  errorSchema,
  integrationHealthSchema,
  overallHealthSchema,
  statusEntrySchema,
  statusSchema,
  probeSchema,
];

export const errorRef = { $ref: 'Error#' } as const;
