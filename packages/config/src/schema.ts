import { IntegrationType } from '@integrations/core';
import { z } from 'zod';

// Environment references always resolve to strings; numeric settings accept "8080" as well as 8080.
const number = () => z.coerce.number<string | number>({ error: 'expected a number' });
const positiveInt = () => number().pipe(z.number().int().positive());
const nonNegative = () => number().pipe(z.number().nonnegative());
const bool = () => z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const NAME = /^[a-z][a-z0-9_-]*$/;
const name = (what: string) => z.string().regex(NAME, `${what} must be lowercase letters, digits, "_" or "-"`);

const retry = z.strictObject({
  maxAttempts: positiveInt().optional(),
  initialDelayMs: nonNegative().optional(),
  backoffMultiplier: number().pipe(z.number().min(1)).optional(),
  maxDelayMs: nonNegative().optional(),
  jitter: z.enum(['full', 'none']).optional(),
});

const circuitBreaker = z.strictObject({
  failureThreshold: positiveInt().optional(),
  failureRateThreshold: number().pipe(z.number().gt(0).max(1)).optional(),
  windowMs: positiveInt().optional(),
  minimumThroughput: positiveInt().optional(),
  recoveryTimeoutMs: positiveInt().optional(),
  halfOpenMaxProbes: positiveInt().optional(),
  /** With a shared state store (`server.store`): how often, at most, to read what other replicas wrote. */
  syncIntervalMs: nonNegative().optional(),
});

const rateLimit = z.strictObject({
  requestsPerMinute: number().pipe(z.number().positive()),
  burst: positiveInt().optional(),
  maxWaitMs: nonNegative().optional(),
});

const bulkhead = z.strictObject({
  maxConcurrent: positiveInt(),
  maxQueue: nonNegative().optional(),
});

const healthCheck = z.strictObject({
  intervalMs: positiveInt().optional(),
  timeoutMs: positiveInt().optional(),
});

/** Policy settings: on an integration, in `defaults`, or as a tenant's override. `false` turns a policy off. */
const policies = {
  timeoutMs: positiveInt().optional(),
  retry: z.union([retry, z.literal(false)]).optional(),
  circuitBreaker: z.union([circuitBreaker, z.literal(false)]).optional(),
  rateLimit: z.union([rateLimit, z.literal(false)]).optional(),
  bulkhead: z.union([bulkhead, z.literal(false)]).optional(),
};

const integrationTypes = Object.values(IntegrationType) as [string, ...string[]];

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const headerName = () => z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name');

/** The generic HMAC-SHA256 scheme (GitHub, Slack, Shopify style), for providers without a connector verifier. */
const hmac = z
  .strictObject({
    signatureHeader: headerName(),
    timestampHeader: headerName().optional(),
    prefix: z.string().optional(),
    encoding: z.enum(['hex', 'base64']).default('hex'),
    /** What is signed: `{timestamp}` and `{body}` stand for the timestamp header and the raw body. */
    signedPayload: z.string().includes('{body}', { error: 'must contain {body}' }).optional(),
    idField: z.string().min(1).optional(),
    idHeader: headerName().optional(),
    typeField: z.string().min(1).optional(),
    typeHeader: headerName().optional(),
  })
  .superRefine((value, ctx) => {
    if (value.signedPayload?.includes('{timestamp}') && !value.timestampHeader) {
      ctx.addIssue({ code: 'custom', path: ['signedPayload'], message: '{timestamp} needs timestampHeader' });
    }
  });

/** Inbound webhooks for one integration: POST /webhooks/<tenant>/<integration>. */
const webhooks = z
  .strictObject({
    /** `connector`: the connector's own verifier; `hmac-sha256`: the generic scheme described by `hmac`. */
    scheme: z.enum(['connector', 'hmac-sha256']).default('connector'),
    /** Signing secrets (public keys for SendGrid). Several during a rotation; empty entries are dropped. */
    secrets: z
      .array(z.string())
      .transform((list) => list.filter((secret) => secret !== ''))
      .pipe(z.array(z.string()).min(1, 'at least one secret is required (empty entries are ignored)')),
    toleranceSeconds: positiveInt().optional(),
    maxBodyBytes: positiveInt().default(1_048_576),
    hmac: hmac.optional(),
    /** Overrides `server.webhooks.forwardUrl` for this integration's events. */
    forwardUrl: httpUrl().optional(),
  })
  .superRefine((value, ctx) => {
    if (value.scheme === 'hmac-sha256' && !value.hmac) {
      ctx.addIssue({ code: 'custom', path: ['hmac'], message: 'is required with scheme: hmac-sha256' });
    }
    if (value.scheme === 'connector' && value.hmac) {
      ctx.addIssue({ code: 'custom', path: ['hmac'], message: 'is only used with scheme: hmac-sha256' });
    }
  });

const integration = z.strictObject({
  connector: z.string().min(1),
  enabled: bool().default(true),
  type: z.enum(integrationTypes).optional(),
  config: z.record(z.string(), z.unknown()).default({}),
  healthCheck: healthCheck.optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  webhooks: webhooks.optional(),
  ...policies,
});

const sla = z.strictObject({
  availability: number().pipe(z.number().gt(0).max(100)).optional(),
  latencyMs: positiveInt().optional(),
});

const tenant = z.strictObject({
  displayName: z.string().optional(),
  apiKeys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).default([]),
  /** Which integrations this tenant gets. Default: all of them. */
  integrations: z.array(name('an integration name')).optional(),
  features: z.array(z.string()).default([]),
  sla: sla.optional(),
  ...policies,
});

const store = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('memory') }),
  z.strictObject({
    kind: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
    keyPrefix: z.string().optional(),
    onUnavailable: z.enum(['local', 'reject']).default('local'),
  }),
]);

/** Where webhook events are kept between their acknowledgement and their delivery: it must survive a crash. */
const webhookStore = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('postgres'),
    url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL'),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lowercase SQL identifier')
      .default('integrations_webhooks'),
    maxConnections: positiveInt().default(10),
  }),
]);

const webhookDelivery = z.strictObject({
  maxAttempts: positiveInt().default(10),
  initialDelayMs: nonNegative().default(1000),
  backoffMultiplier: number().pipe(z.number().min(1)).default(2),
  maxDelayMs: nonNegative().default(900_000),
  jitter: z.enum(['full', 'none']).default('full'),
  /** Per handler call (and per forward request). */
  timeoutMs: positiveInt().default(10_000),
  concurrency: positiveInt().default(4),
  pollIntervalMs: positiveInt().default(1000),
});

const serverWebhooks = z.strictObject({
  store: webhookStore,
  /** The gateway's public base URL, for schemes that sign the URL (Twilio) when it runs behind a proxy. */
  publicUrl: httpUrl().optional(),
  /** Every verified event is POSTed here as JSON, unless its integration names its own. */
  forwardUrl: httpUrl().optional(),
  delivery: webhookDelivery.prefault({}),
  /** How long delivered events are kept, and so how long a replayed event id is recognised. */
  retentionDays: positiveInt().default(30),
});

const server = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: number().pipe(z.number().int().min(0).max(65535)).default(8080),
  adminApiKey: z.string().min(16, 'adminApiKey must be at least 16 characters').optional(),
  store: store.default({ kind: 'memory' }),
  webhooks: serverWebhooks.optional(),
});

const defaults = z.strictObject({ healthCheck: healthCheck.optional(), ...policies });

/** One complete configuration: what the file means once an environment's section is merged over the base. */
export const resolvedSchema = z.strictObject({
  server: server.default({ host: '127.0.0.1', port: 8080, store: { kind: 'memory' } }),
  defaults: defaults.default({}),
  integrations: z.record(name('an integration name'), integration).default({}),
  tenants: z.record(name('a tenant id'), tenant).default({}),
});

/**
 * The file's shape before merging: the base sections plus `environments`, each a partial copy of the base.
 * Checked first so an unknown key inside an environment section is reported where it was written.
 */
const loose = z.record(z.string(), z.unknown());
const partialSection = z.strictObject({
  server: loose.optional(),
  defaults: loose.optional(),
  integrations: z.record(z.string(), loose).optional(),
  tenants: z.record(z.string(), loose).optional(),
});
export const fileSchema = partialSection.extend({
  environments: z.record(name('an environment name'), partialSection.nullable()).optional(),
});

export type ResolvedFile = z.output<typeof resolvedSchema>;
export type RetrySettings = z.output<typeof retry>;
export type IntegrationSettings = z.output<typeof integration>;
export type TenantSettings = z.output<typeof tenant>;
export type ServerSettings = z.output<typeof server>;
export type StoreSettings = z.output<typeof store>;
export type WebhookSettings = z.output<typeof webhooks>;
export type HmacWebhookSettings = z.output<typeof hmac>;
export type ServerWebhookSettings = z.output<typeof serverWebhooks>;
export type WebhookDeliverySettings = z.output<typeof webhookDelivery>;
