import { type Clock, systemClock } from '../clock.js';
import { Engine, standalone } from './engine.js';
import { settings } from './options.js';
import type {
  AttemptScope,
  Policy,
  PolicyEnvironment,
  PolicyExecuteOptions,
  RateLimitOptions,
  SharedBreakerState,
  StateStore,
  TokenBucketSpec,
} from './types.js';

const EPSILON = 1e-9;

/** One token bucket: plain arithmetic, refilled on read. */
export class TokenBucket {
  tokens: number;
  private last: number;

  constructor(capacity: number, now: number) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Takes a token at monotonic time `now`: 0 when taken, else the ms until one will be there. */
  take(spec: TokenBucketSpec, now: number): number {
    const tokens = this.available(spec, now);
    this.last = Math.max(now, this.last);
    // The epsilon absorbs float error, so waiting exactly the reported time always yields a token.
    if (tokens >= 1 - EPSILON) {
      this.tokens = tokens > 1 ? tokens - 1 : 0;
      return 0;
    }
    this.tokens = tokens;
    return (1 - tokens) / spec.refillPerMs;
  }

  available(spec: TokenBucketSpec, now: number): number {
    const elapsed = now - this.last;
    const tokens = elapsed > 0 ? this.tokens + elapsed * spec.refillPerMs : this.tokens;
    return Math.min(tokens, spec.capacity);
  }
}

export interface RateLimiterEnvironment extends PolicyEnvironment {
  /** Where the bucket lives. Default: a bucket of its own, in memory. */
  store?: StateStore | undefined;
  /** The bucket's key in the store. */
  key?: string | undefined;
}

/**
 * A token bucket of `burst` tokens refilled at requestsPerMinute / 60 000 per ms. An attempt takes one token;
 * with none left it waits up to min(maxWaitMs, the call's deadline), or is rejected with kind `rate_limited`.
 */
export class Limiter {
  readonly spec: TokenBucketSpec;
  readonly maxWaitMs: number;
  readonly key: string;
  readonly store: StateStore | undefined;
  private readonly clock: Clock;
  /** Set when the bucket is in memory on our clock: the hot path then does arithmetic only. */
  private readonly local: TokenBucket | undefined;

  constructor(options: RateLimitOptions, environment: RateLimiterEnvironment = {}) {
    const { requestsPerMinute, burst, maxWaitMs } = settings('rateLimit', options);
    this.spec = { capacity: burst || Math.max(1, requestsPerMinute! / 60), refillPerMs: requestsPerMinute! / 60_000 };
    this.maxWaitMs = maxWaitMs!;
    const clock = (this.clock = environment.clock ?? systemClock);
    const store: (StateStore & Partial<Pick<MemoryStore, 'clock' | 'bucket'>>) | undefined = (this.store =
      environment.store);
    this.key = environment.key ?? 'rate';
    // A memory store on our clock hands out its bucket (so pipelines given one store still share it).
    this.local =
      store === undefined
        ? new TokenBucket(this.spec.capacity, clock.now())
        : store.clock === clock
          ? store.bucket?.(this.key, this.spec)
          : undefined;
  }

  /** Takes a token: 0 when taken, else the ms until one will be available. `now` is this policy's clock. */
  take(now: number): number | Promise<number> {
    const local = this.local;
    return local !== undefined ? local.take(this.spec, now) : this.store!.takeToken(this.key, this.spec);
  }

  /** Tokens available now (for status output). */
  headroom(): number | Promise<number> {
    const local = this.local;
    if (local !== undefined) return local.available(this.spec, this.clock.now());
    return this.store!.availableTokens(this.key, this.spec);
  }
}

interface StoredBreaker {
  state: SharedBreakerState;
  expiresAt: number;
}

/**
 * The in-process StateStore: synchronous, so the hot path never waits on a promise. Shared by every pipeline
 * that is given it, which makes pipelines with the same key share one bucket and one breaker state.
 */
export class MemoryStore implements StateStore {
  readonly clock: Clock;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly breakers = new Map<string, StoredBreaker>();

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  /** The bucket behind `key`, created full. Callers on this store's clock may keep and use it directly. */
  bucket(key: string, spec: TokenBucketSpec): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(spec.capacity, this.clock.now());
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  takeToken(key: string, bucket: TokenBucketSpec): number {
    return this.bucket(key, bucket).take(bucket, this.clock.now());
  }

  availableTokens(key: string, bucket: TokenBucketSpec): number {
    return this.bucket(key, bucket).available(bucket, this.clock.now());
  }

  getBreaker(key: string): SharedBreakerState | undefined {
    const stored = this.breakers.get(key);
    if (stored === undefined) return undefined;
    if (this.clock.now() >= stored.expiresAt) {
      this.breakers.delete(key);
      return undefined;
    }
    return stored.state;
  }

  setBreaker(key: string, state: SharedBreakerState, ttlMs: number): void {
    this.breakers.set(key, { state: { ...state }, expiresAt: this.clock.now() + ttlMs });
  }
}

export function createMemoryStore(options: { clock?: Clock | undefined } = {}): MemoryStore {
  return new MemoryStore(options.clock);
}

/** A rate limiter used on its own. Without a store it keeps its bucket in a memory store of its own. */
export class RateLimiterPolicy extends Limiter implements Policy {
  declare readonly store: StateStore;
  private readonly environment: PolicyEnvironment;
  private engine: Engine | undefined;

  constructor(options: RateLimitOptions, environment: RateLimiterEnvironment = {}) {
    super(options, { ...environment, store: environment.store ?? new MemoryStore(environment.clock) });
    this.environment = environment;
  }

  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T> {
    return standalone((this.engine ??= new Engine(this.environment, { limiter: this }, true)), fn, options);
  }
}

export function createRateLimiter(options: RateLimitOptions, environment?: RateLimiterEnvironment): RateLimiterPolicy {
  return new RateLimiterPolicy(options, environment);
}
