import type { Clock } from '../clock.js';
import type { IntegrationError } from '../errors.js';
import type { BreakerState, EventBus, EventSource } from '../events.js';

export interface RetryOptions {
  /** Total attempts including the first. Default 3. */
  maxAttempts?: number;
  /** Base delay before the first retry. Default 100 ms. */
  initialDelayMs?: number;
  /** Growth of the delay ceiling per attempt. Default 2. */
  backoffMultiplier?: number;
  /** Cap on any single delay. Default 30 000 ms. */
  maxDelayMs?: number;
  /** `full` (default): delay drawn uniformly from [0, ceiling]; `none`: exactly the ceiling. */
  jitter?: 'full' | 'none';
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold?: number;
  /** Failure rate (0..1) over the sliding window that opens the breaker. Default 0.5. */
  failureRateThreshold?: number;
  /** Sliding window length for the failure rate. Default 60 000 ms. */
  windowMs?: number;
  /** Calls the window must hold before the rate is judged. Default 10. */
  minimumThroughput?: number;
  /** How long the breaker stays open before letting probes through. Default 60 000 ms. */
  recoveryTimeoutMs?: number;
  /** Probes allowed at once while half-open. Default 1. */
  halfOpenMaxProbes?: number;
  /** With a shared store: how often (at most) to read the state other processes wrote. Default 1 000 ms. */
  syncIntervalMs?: number;
}

export interface RateLimitOptions {
  requestsPerMinute: number;
  /** Bucket capacity. Default: requestsPerMinute / 60, at least 1. */
  burst?: number;
  /** Longest a call waits for a token before it is rejected as rate_limited. Default: up to the call's deadline. */
  maxWaitMs?: number;
}

export interface BulkheadOptions {
  maxConcurrent: number;
  /** Calls allowed to wait for a slot. Default 0: reject at once when full. */
  maxQueue?: number;
}

/** Token bucket parameters in the units a store works with. */
export interface TokenBucketSpec {
  capacity: number;
  refillPerMs: number;
}

/**
 * Where rate-limit and breaker state lives. The in-memory store is the default; a shared store
 * (e.g. Redis) makes several processes act as one. Methods may answer synchronously: the memory store does,
 * so the hot path never pays for a promise it does not need.
 */
export interface StateStore {
  /** Takes one token from bucket `key`. Returns 0 when taken, else the ms until one will be available. */
  takeToken(key: string, bucket: TokenBucketSpec): number | Promise<number>;
  /** Tokens currently available in bucket `key` (for status output). */
  availableTokens(key: string, bucket: TokenBucketSpec): number | Promise<number>;
  /** Breaker state shared across processes: read it. */
  getBreaker(key: string): SharedBreakerState | undefined | Promise<SharedBreakerState | undefined>;
  /** Breaker state shared across processes: write it, expiring after ttlMs. */
  setBreaker(key: string, state: SharedBreakerState, ttlMs: number): void | Promise<void>;
}

export interface SharedBreakerState {
  state: BreakerState;
  /** Wall-clock ms (Date.now()) when an open breaker may move to half-open; shared stores cannot share a monotonic clock. */
  openUntil: number;
}

/** Everything a pipeline is built from. A `false` or missing policy is left out entirely. */
export interface PipelineOptions {
  retry?: RetryOptions | false | undefined;
  circuitBreaker?: CircuitBreakerOptions | false | undefined;
  rateLimit?: RateLimitOptions | false | undefined;
  /** Per-attempt timeout. */
  timeoutMs?: number | false | undefined;
  bulkhead?: BulkheadOptions | false | undefined;
  /** Called with the final error; its value is returned instead. */
  fallback?: ((error: IntegrationError, operation: string) => unknown) | undefined;
  clock?: Clock | undefined;
  events?: EventBus | undefined;
  source?: EventSource | undefined;
  store?: StateStore | undefined;
  /** Key under which breaker and limiter state is kept (tenant × integration). */
  key?: string | undefined;
}

/** What an operation's function receives for each attempt. */
export interface AttemptScope {
  /** Aborts when the attempt times out, the caller aborts, or the integration closes. Pass it to the SDK. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

export interface ExecuteOptions {
  /** The caller's signal: aborting it stops the call, including a wait between retries. */
  signal?: AbortSignal | undefined;
  /**
   * The signal of whatever owns the call (an integration's lifetime): aborting it stops the call like `signal`.
   * Calls share one listener on it, so passing both costs no combined AbortSignal (`AbortSignal.any`) per call.
   */
  closeSignal?: AbortSignal | undefined;
  /** May the operation be repeated? True when it is idempotent or carries an idempotency key. */
  retrySafe: boolean;
  /** Overrides the pipeline's per-attempt timeout for this call. */
  timeoutMs?: number | undefined;
  /** Turns whatever the function threw into an IntegrationError (the connector's errors.ts). */
  mapError?: ((error: unknown) => IntegrationError) | undefined;
  /**
   * Budget for the whole call (waits, retries and attempts), in ms from the start of `execute`. A retry or a
   * token wait that would end past it is not started: the call fails at once with the error it has.
   */
  totalTimeoutMs?: number | undefined;
}

/** What a policy used on its own is told about its surroundings. Everything is optional. */
export interface PolicyEnvironment {
  clock?: Clock | undefined;
  events?: EventBus | undefined;
  source?: EventSource | undefined;
}

/** Per-call options of a policy used on its own (the pipeline takes {@link ExecuteOptions}). */
export interface PolicyExecuteOptions extends Partial<ExecuteOptions> {
  /** Name used in events and errors. Default `call`. */
  operation?: string | undefined;
}

/** A single policy, usable alone. `retrySafe` defaults to true here: a lone retry policy is meant to retry. */
export interface Policy {
  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T>;
}

export interface Pipeline {
  execute<T>(operation: string, fn: (scope: AttemptScope) => Promise<T>, options: ExecuteOptions): Promise<T>;
  /** Current breaker state, or undefined without a breaker. */
  breakerState(): BreakerState | undefined;
  /** Tokens available now, or undefined without a rate limiter. */
  rateLimitHeadroom(): number | undefined;
}
