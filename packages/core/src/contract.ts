import { type ConfigIssue, type IntegrationError, InvalidConfigError } from './errors.js';
import type { HealthStatus } from './events.js';
import type {
  AttemptScope,
  BulkheadOptions,
  CircuitBreakerOptions,
  RateLimitOptions,
  RetryOptions,
} from './policies/types.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** The version of this contract. A connector states which one it implements; a new major adds `v2` beside it. */
export const SPECIFICATION_VERSION = 'v1';
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

export const IntegrationType = {
  ExternalApi: 'external_api',
  CloudService: 'cloud_service',
  Communication: 'communication',
  Authentication: 'authentication',
  DataPipeline: 'data_pipeline',
  Monitoring: 'monitoring',
  Messaging: 'messaging',
  Storage: 'storage',
} as const;
export type IntegrationType = (typeof IntegrationType)[keyof typeof IntegrationType];

export const IntegrationStatus = {
  Initializing: 'initializing',
  Healthy: 'healthy',
  Degraded: 'degraded',
  Unhealthy: 'unhealthy',
  Disabled: 'disabled',
} as const satisfies Record<string, HealthStatus>;
export type IntegrationStatus = HealthStatus;

export interface OperationMeta {
  /**
   * Safe to repeat with the same effect. Non-idempotent operations are retried only when the call carries
   * an idempotency key.
   */
  idempotent: boolean;
  description?: string;
}

/** What a connector's healthCheck may report beyond "it answered". */
export interface HealthDetails {
  /** Report degraded instead of healthy (e.g. the provider answered but a quota is nearly spent). */
  degraded?: boolean;
  [key: string]: unknown;
}

export interface HealthReport {
  status: HealthStatus;
  latencyMs: number;
  /** ISO timestamp. */
  checkedAt: string;
  details: HealthDetails;
  error?: { kind: IntegrationError['kind']; message: string } | undefined;
}

export interface CallOptions {
  /** The caller's signal: aborting it cancels the call, including waits between retries. */
  signal?: AbortSignal | undefined;
  /** Makes a non-idempotent operation safe to retry; the connector sends it to the provider. */
  idempotencyKey?: string | undefined;
  /** Overrides the integration's per-attempt timeout. */
  timeoutMs?: number | undefined;
  /**
   * Budget for the whole call in ms (attempts, retries, waits for a token or a Retry-After). A wait that would end
   * past it is not started: the call fails at once with the error it has.
   */
  totalTimeoutMs?: number | undefined;
}

export interface CallScope extends AttemptScope {
  readonly idempotencyKey: string | undefined;
}

/** A log sink. Messages and fields pass through the integration's redactor before they reach it. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What core hands a connector's `create`. Everything resilience-related happens behind `call`. */
export interface ConnectorContext {
  readonly provider: string;
  readonly integration: string;
  readonly tenant: string;
  /** `@integrations/<id>/<version>` plus core's version: send it as (part of) the user agent. */
  readonly userAgent: string;
  /** Aborted when the integration closes. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * Runs one operation through the integration's pipeline (bulkhead, rate limit, breaker, retry, timeout),
   * with events and error mapping. `operation` must be a key of the definition's `operations`.
   */
  call<T>(operation: string, fn: (scope: CallScope) => Promise<T>, options?: CallOptions): Promise<T>;
  /** Registers a secret learned at run time (an access token) so it is redacted like configured secrets. */
  addSecret(value: string): void;
}

/** What `create` returns: the operations, plus a health check, close, and the raw SDK client. */
export interface ConnectorInstance<TClient = unknown> {
  /** The provider SDK's own client: the escape hatch for anything the connector does not wrap. */
  readonly client: TClient;
  /** Throws (an IntegrationError, ideally) when the provider cannot be reached or rejects our credentials. */
  healthCheck(scope: { signal: AbortSignal }): Promise<HealthDetails | undefined>;
  /** Releases sockets and timers. Core calls it at most once. */
  close?(): Promise<void> | void;
}

/** An inbound webhook as the gateway received it: the raw body, never a re-serialised one (signatures cover bytes). */
export interface WebhookRequest {
  /** The full URL the provider posted to (Twilio signs it). */
  url: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Uint8Array;
}

/** A webhook whose signature checked out. */
export interface VerifiedWebhook {
  /** The provider's event id: the dedupe key. */
  id: string;
  type: string;
  /** ISO timestamp the provider gives for the event, when it gives one. */
  occurredAt?: string | undefined;
  payload: unknown;
}

export interface WebhookVerifyOptions {
  /** Accepted signing secrets (or public keys): more than one during a rotation's overlap window. */
  secrets: readonly string[];
  /** Oldest signed timestamp accepted, for schemes that sign one. */
  toleranceMs?: number | undefined;
  /** Wall-clock ms, for tests. */
  now?: number | undefined;
}

/**
 * A connector's webhook check. Failures throw IntegrationError: kind 'auth' (code `webhook_signature_invalid`
 * or `webhook_timestamp_expired`) for a bad or stale signature, 'invalid_request' (code `webhook_malformed`)
 * for a request that cannot be parsed.
 */
export interface WebhookVerifier {
  /** Where the provider puts the signature, for docs and error messages. */
  readonly signatureHeader: string;
  verify(request: WebhookRequest, options: WebhookVerifyOptions): VerifiedWebhook | Promise<VerifiedWebhook>;
}

export interface ConnectorDefinition<
  TSchema extends StandardSchemaV1 = StandardSchemaV1,
  TInstance extends ConnectorInstance = ConnectorInstance,
> {
  readonly specificationVersion: SpecificationVersion;
  /** Permanent, lowercase, kebab-case: `aws-s3`. */
  readonly id: string;
  readonly displayName: string;
  readonly type: IntegrationType;
  /** Catalog grouping: `music`, `storage`, `payments`, `messaging`, `email`, `analytics`, ... */
  readonly category: string;
  /** The connector package's version. */
  readonly version: string;
  readonly config: TSchema;
  /** Config key paths (dotted) whose values are secrets: redacted from errors, logs, events and status. */
  readonly secrets: readonly string[];
  /** Every operation the connector exposes. Names are permanent once released. */
  readonly operations: Readonly<Record<string, OperationMeta>>;
  /** How the provider signs webhooks, when it sends any. */
  readonly webhooks?: WebhookVerifier | undefined;
  /** Maps anything the SDK throws to core's taxonomy. Lives in the connector's errors.ts. */
  mapError(error: unknown): IntegrationError;
  create(config: StandardSchemaV1.InferOutput<TSchema>, ctx: ConnectorContext): TInstance | Promise<TInstance>;
}

export type ConnectorConfigInput<D extends ConnectorDefinition> = StandardSchemaV1.InferInput<D['config']>;
export type ConnectorInstanceOf<D extends ConnectorDefinition> = Awaited<ReturnType<D['create']>>;

const DEFINITION = Symbol.for('@integrations/core.ConnectorDefinition');

/** Declares a connector. Checks the declaration once, at import time, so mistakes surface in the author's tests. */
export function defineConnector<TSchema extends StandardSchemaV1, TInstance extends ConnectorInstance>(
  definition: Omit<ConnectorDefinition<TSchema, TInstance>, 'specificationVersion' | 'secrets'> & {
    specificationVersion?: SpecificationVersion;
    /** Defaults to the secret fields of a schema built with core's `configSchema`. */
    secrets?: readonly string[];
  },
): ConnectorDefinition<TSchema, TInstance> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(definition.id)) {
    throw new TypeError(`connector id "${definition.id}" must be lowercase kebab-case`);
  }
  if (Object.keys(definition.operations).length === 0) {
    throw new TypeError(`connector "${definition.id}" declares no operations`);
  }
  const schemaSecrets = (definition.config as { secrets?: unknown }).secrets;
  const secrets = definition.secrets ?? (Array.isArray(schemaSecrets) ? (schemaSecrets as string[]) : []);
  const full = {
    ...definition,
    secrets,
    specificationVersion: definition.specificationVersion ?? SPECIFICATION_VERSION,
  };
  Object.defineProperty(full, DEFINITION, { value: true });
  return Object.freeze(full) as ConnectorDefinition<TSchema, TInstance>;
}

export function isConnectorDefinition(value: unknown): value is ConnectorDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFINITION] === true;
}

function issuePath(issue: StandardSchemaV1.Issue): string {
  if (!issue.path) return '';
  return issue.path.map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
}

/** Validates raw config against the connector's schema; every failing field is named in the error. */
export async function validateConfig<TSchema extends StandardSchemaV1>(
  definition: Pick<ConnectorDefinition<TSchema>, 'id' | 'config'>,
  input: unknown,
): Promise<StandardSchemaV1.InferOutput<TSchema>> {
  const result = await definition.config['~standard'].validate(input);
  if (result.issues) {
    const issues: ConfigIssue[] = result.issues.map((issue) => ({ path: issuePath(issue), message: issue.message }));
    throw new InvalidConfigError(definition.id, issues);
  }
  return result.value as StandardSchemaV1.InferOutput<TSchema>;
}

export type { BulkheadOptions, CircuitBreakerOptions, RateLimitOptions, RetryOptions };
