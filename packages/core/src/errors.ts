/**
 * One error hierarchy for every connector. Every failure a caller sees is an IntegrationError with a `kind`
 * (what went wrong, provider-independent), a `retryable` flag, and where it happened.
 */

export type ErrorKind =
  | 'auth'
  | 'permission'
  | 'not_found'
  | 'invalid_request'
  | 'invalid_config'
  | 'conflict'
  | 'rate_limited'
  | 'timeout'
  | 'unavailable'
  | 'circuit_open'
  | 'bulkhead_full'
  | 'cancelled'
  | 'internal';

/** Kinds that a retry may fix. A breaker or bulkhead rejection is local: retrying it only adds load. */
const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['rate_limited', 'timeout', 'unavailable']);

export function isRetryableKind(kind: ErrorKind): boolean {
  return RETRYABLE_KINDS.has(kind);
}

export interface IntegrationErrorOptions {
  /** Overrides the kind's default retryability (e.g. a 409 the provider says is safe to repeat). */
  retryable?: boolean;
  provider?: string;
  operation?: string;
  tenant?: string;
  integration?: string;
  /** HTTP status the provider answered with, when there was one. */
  status?: number;
  /** The provider's own error code (e.g. Stripe's `card_declined`). */
  code?: string;
  /** How long the provider asked us to wait (rate_limited). */
  retryAfterMs?: number;
  cause?: unknown;
}

// Symbol.for: the marker survives two copies of core in one app (e.g. a connector bundling its own).
const MARKER = Symbol.for('@integrations/core.IntegrationError');

/** What `toJSON` writes, besides name, kind, message and cause. */
const FIELDS = [
  'retryable',
  'provider',
  'integration',
  'operation',
  'tenant',
  'status',
  'code',
  'retryAfterMs',
] as const;

export class IntegrationError extends Error {
  // `declare`: set in the constructor, so no class-field boilerplate is emitted for them.
  declare readonly kind: ErrorKind;
  declare readonly retryable: boolean;
  declare provider: string | undefined;
  declare operation: string | undefined;
  declare tenant: string | undefined;
  declare integration: string | undefined;
  declare readonly status: number | undefined;
  declare readonly code: string | undefined;
  declare readonly retryAfterMs: number | undefined;

  constructor(kind: ErrorKind, message: string, options: IntegrationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // `rate_limited` → `RateLimitedError`.
    this.name = `${kind.replace(/(?:^|_)(.)/g, (_, c: string) => c.toUpperCase())}Error`;
    this.kind = kind;
    this.retryable = options.retryable ?? isRetryableKind(kind);
    this.provider = options.provider;
    this.operation = options.operation;
    this.tenant = options.tenant;
    this.integration = options.integration;
    this.status = options.status;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for an IntegrationError from any copy of this package. */
  static isInstance(error: unknown): error is IntegrationError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }

  /** A plain, log-safe shape. The cause is reduced to its name and message (already redacted by the pipeline). */
  toJSON(): SerializedIntegrationError {
    const { cause, name, kind, message } = this;
    const json: Record<string, unknown> = { name, kind, message };
    for (const key of FIELDS) json[key] = this[key];
    json.cause = cause instanceof Error ? { name: cause.name, message: cause.message } : undefined;
    return json as unknown as SerializedIntegrationError;
  }
}

export interface SerializedIntegrationError {
  name: string;
  kind: ErrorKind;
  message: string;
  retryable: boolean;
  provider: string | undefined;
  integration: string | undefined;
  operation: string | undefined;
  tenant: string | undefined;
  status: number | undefined;
  code: string | undefined;
  retryAfterMs: number | undefined;
  cause: { name: string; message: string } | undefined;
}

/** One issue found while validating a connector's config. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `credentials.clientId`. Empty for the config as a whole. */
  path: string;
  message: string;
}

/** Raised when a connector's config does not match its schema. Names every field that is wrong. */
export class InvalidConfigError extends IntegrationError {
  declare readonly issues: readonly ConfigIssue[];

  constructor(provider: string, issues: readonly ConfigIssue[], options: IntegrationErrorOptions = {}) {
    const list = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    super('invalid_config', `invalid ${provider} config: ${list}`, { ...options, provider, retryable: false });
    this.issues = issues;
  }
}

/**
 * The provider-independent kind for an HTTP status. Connectors whose SDKs expose a status use this so that
 * 401 means the same thing everywhere.
 */
export function kindFromStatus(status: number): ErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'unavailable';
  if (status >= 400) return 'invalid_request';
  return 'internal';
}

/** Node's socket-level error codes that mean "the provider could not be reached or dropped us". */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  // axios (under the Twilio and SendGrid SDKs) reports its own request timeout with this code.
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The kind for a low-level error (no HTTP status): aborts, socket failures, timeouts. Looks through `cause`
 * chains because fetch wraps the socket error (`TypeError: fetch failed` → cause `ECONNRESET`).
 */
export function kindFromNetworkError(error: unknown): ErrorKind | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError') return 'timeout';
    if (e.name === 'AbortError' || e.code === 'ERR_CANCELED' || e.code === 'ABORT_ERR') return 'cancelled';
    if (typeof e.code === 'string') {
      if (TIMEOUT_CODES.has(e.code)) return 'timeout';
      if (NETWORK_CODES.has(e.code)) return 'unavailable';
    }
    current = e.cause;
  }
  return undefined;
}
