import { type ErrorKind, IntegrationError } from '../errors.js';
import type { BreakerState } from '../events.js';
import { Engine, standalone } from './engine.js';
import { type Env, emit, environmentOf, noop } from './internal.js';
import { settings } from './options.js';
import type {
  AttemptScope,
  CircuitBreakerOptions,
  Policy,
  PolicyEnvironment,
  PolicyExecuteOptions,
  SharedBreakerState,
  StateStore,
} from './types.js';

/** Failures that say the provider is in trouble. A 404 or a bad request says nothing about its health. */
const TROUBLE: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['unavailable', 'timeout', 'rate_limited', 'internal']);

export function isProviderTrouble(error: IntegrationError): boolean {
  return TROUBLE.has(error.kind);
}

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
type State = typeof CLOSED | typeof OPEN | typeof HALF_OPEN;
const STATE_NAMES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/** Buckets in the sliding window: the failure rate is judged over windowMs with windowMs / BUCKETS resolution. */
const BUCKETS = 10;

export interface CircuitBreakerEnvironment extends PolicyEnvironment {
  /** Share state through this store (e.g. Redis) so an open breaker opens everywhere. */
  store?: StateStore | undefined;
  /** Key under which the state is shared. */
  key?: string | undefined;
}

/**
 * Opens after `failureThreshold` consecutive provider failures, or when the failure rate over a sliding window
 * (fixed buckets in a ring) reaches `failureRateThreshold` with at least `minimumThroughput` calls in it.
 * Open, it rejects at once with kind `circuit_open`; after `recoveryTimeoutMs` it lets at most
 * `halfOpenMaxProbes` calls through at a time: a success closes it, a failure opens it again.
 */
export class Breaker {
  // Set from the validated options in the constructor.
  declare readonly failureThreshold: number;
  declare readonly failureRateThreshold: number;
  declare readonly windowMs: number;
  declare readonly minimumThroughput: number;
  declare readonly recoveryTimeoutMs: number;
  declare readonly halfOpenMaxProbes: number;
  declare readonly syncIntervalMs: number;
  private readonly env: Env;
  private readonly store: StateStore | undefined;
  private readonly key: string;

  private current: State = CLOSED;
  private consecutiveFailures = 0;
  private probes = 0;
  private openUntil = 0;
  private nextSyncAt = 0;

  private readonly bucketMs: number;
  private readonly calls = new Uint32Array(BUCKETS);
  private readonly failures = new Uint32Array(BUCKETS);
  private headEpoch = 0;
  private windowCalls = 0;
  private windowFailures = 0;

  private readonly applyShared = (shared: SharedBreakerState | undefined) => this.adoptShared(shared);

  constructor(options: CircuitBreakerOptions = {}, environment: CircuitBreakerEnvironment = {}) {
    Object.assign(this, settings('circuitBreaker', options));
    this.env = environmentOf(environment);
    this.store = environment.store;
    this.key = environment.key ?? 'breaker';
    this.bucketMs = this.windowMs / BUCKETS;
  }

  get state(): BreakerState {
    if (this.current === OPEN && this.env.clock.now() >= this.openUntil) return 'half_open';
    return STATE_NAMES[this.current]!;
  }

  /**
   * Admits an attempt or throws `circuit_open`. Returns true when the attempt is a half-open probe: its outcome
   * must be reported with `probe` set.
   */
  acquire(now: number): boolean {
    if (this.store !== undefined && now >= this.nextSyncAt) this.sync(now);
    const state = this.current;
    if (state === CLOSED) return false;
    if (state === OPEN) {
      if (now < this.openUntil) throw this.rejection(now);
      this.transition(HALF_OPEN);
    }
    if (this.probes >= this.halfOpenMaxProbes) throw this.rejection(now);
    this.probes++;
    return true;
  }

  /** The attempt reached the provider and succeeded. */
  onSuccess(probe: boolean, now: number): void {
    if (probe) {
      this.probes--;
      if (this.current === HALF_OPEN) this.moveTo(CLOSED);
    } else if (this.current === CLOSED) {
      this.consecutiveFailures = 0;
      this.record(now, 0);
    }
  }

  /** The attempt reached the provider and failed with `error`. */
  onFailure(error: IntegrationError, probe: boolean, now: number): void {
    // A cancelled call says nothing about the provider: the caller gave up.
    if (error.kind === 'cancelled') this.release(probe);
    else if (!TROUBLE.has(error.kind)) this.onSuccess(probe, now);
    else if (probe) {
      this.probes--;
      if (this.current === HALF_OPEN) this.moveTo(OPEN);
    } else if (this.current === CLOSED) {
      this.consecutiveFailures++;
      this.record(now, 1);
      if (
        this.consecutiveFailures >= this.failureThreshold ||
        (this.windowCalls >= this.minimumThroughput &&
          this.windowFailures >= this.failureRateThreshold * this.windowCalls)
      ) {
        this.moveTo(OPEN);
      }
    }
  }

  /** The attempt was admitted but never reached the provider (e.g. the rate limiter turned it away). */
  release(probe: boolean): void {
    if (probe) this.probes--;
  }

  private record(now: number, failed: 0 | 1): void {
    const epoch = Math.floor(now / this.bucketMs);
    // Clear the buckets the window moved past since the last call.
    for (let step = Math.min(epoch - this.headEpoch, BUCKETS); step > 0; step--) {
      const index = (epoch - step + 1) % BUCKETS;
      this.windowCalls -= this.calls[index]!;
      this.windowFailures -= this.failures[index]!;
      this.calls[index] = this.failures[index] = 0;
    }
    if (epoch > this.headEpoch) this.headEpoch = epoch;
    const index = this.headEpoch % BUCKETS;
    this.calls[index]!++;
    this.failures[index]! += failed;
    this.windowCalls++;
    this.windowFailures += failed;
  }

  private rejection(now: number): IntegrationError {
    return new IntegrationError('circuit_open', `circuit breaker is ${STATE_NAMES[this.current]}`, {
      retryable: false,
      retryAfterMs: this.current === OPEN ? Math.max(0, Math.ceil(this.openUntil - now)) : undefined,
    });
  }

  /** Opens (for recoveryTimeoutMs) or closes (with a fresh window), and tells other processes through the store. */
  private moveTo(to: typeof OPEN | typeof CLOSED): void {
    const open = to === OPEN;
    if (open) this.openUntil = this.env.clock.now() + this.recoveryTimeoutMs;
    else {
      this.calls.fill(0);
      this.failures.fill(0);
      this.windowCalls = this.windowFailures = this.consecutiveFailures = 0;
    }
    this.transition(to);
    const store = this.store;
    if (store === undefined) return;
    const shared = { state: STATE_NAMES[to]!, openUntil: open ? Date.now() + this.recoveryTimeoutMs : 0 };
    try {
      const written = store.setBreaker(this.key, shared, this.recoveryTimeoutMs);
      // A store outage must not fail calls: the breaker keeps working locally.
      if (written instanceof Promise) written.catch(noop);
    } catch {
      // Same: local state stays authoritative.
    }
  }

  private transition(to: State): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to !== HALF_OPEN) this.probes = 0;
    emit(this.env, 'breaker:state', { from: STATE_NAMES[from]!, to: STATE_NAMES[to]! });
  }

  private sync(now: number): void {
    this.nextSyncAt = now + this.syncIntervalMs;
    try {
      const shared = this.store!.getBreaker(this.key);
      if (shared instanceof Promise) shared.then(this.applyShared, noop);
      else this.adoptShared(shared);
    } catch {
      // A store outage must not fail calls.
    }
  }

  /** Another process opened the breaker: open here too, until the same moment. */
  private adoptShared(shared: SharedBreakerState | undefined): void {
    if (shared?.state !== 'open' || this.current !== CLOSED) return;
    const remaining = shared.openUntil - Date.now();
    if (remaining <= 0) return;
    this.openUntil = this.env.clock.now() + remaining;
    this.transition(OPEN);
  }
}

/** A circuit breaker used on its own. */
export class CircuitBreakerPolicy extends Breaker implements Policy {
  private readonly environment: PolicyEnvironment;
  private engine: Engine | undefined;

  constructor(options?: CircuitBreakerOptions, environment: CircuitBreakerEnvironment = {}) {
    super(options, environment);
    this.environment = environment;
  }

  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T> {
    return standalone((this.engine ??= new Engine(this.environment, { breaker: this }, true)), fn, options);
  }
}

export function createCircuitBreaker(
  options?: CircuitBreakerOptions,
  environment?: CircuitBreakerEnvironment,
): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options, environment);
}
