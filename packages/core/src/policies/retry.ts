import type { IntegrationError } from '../errors.js';
import { Engine, standalone } from './engine.js';
import { invalid, settings } from './options.js';
import type { AttemptScope, Policy, PolicyEnvironment, PolicyExecuteOptions, RetryOptions } from './types.js';

/**
 * The ceiling of the delay before retry number `retry` (1 for the first retry):
 * min(maxDelayMs, initialDelayMs * backoffMultiplier^(retry - 1)).
 */
export function backoffCeiling(retry: number, initialDelayMs: number, multiplier: number, maxDelayMs: number): number {
  return Math.min(initialDelayMs * multiplier ** (retry - 1), maxDelayMs);
}

/**
 * Exponential backoff with full jitter, waiting at least as long as the provider asked (Retry-After).
 * Only errors marked `retryable` are retried, and never an operation the caller says is not safe to repeat.
 */
export class Retry {
  declare readonly maxAttempts: number;
  declare readonly initialDelayMs: number;
  declare readonly backoffMultiplier: number;
  declare readonly maxDelayMs: number;
  readonly jitter: 'full' | 'none';
  private readonly random: () => number;

  constructor(options: RetryOptions = {}, random: () => number = Math.random) {
    Object.assign(this, settings('retry', options));
    const jitter = options.jitter ?? 'full';
    if (jitter !== 'full' && jitter !== 'none') throw invalid(`retry.jitter must be 'full' or 'none', got ${jitter}`);
    this.jitter = jitter;
    this.random = random;
  }

  /** The backoff before retry number `retry`, before any Retry-After is taken into account. */
  backoff(retry: number): number {
    const ceiling = backoffCeiling(retry, this.initialDelayMs, this.backoffMultiplier, this.maxDelayMs);
    return this.jitter === 'full' ? this.random() * ceiling : ceiling;
  }

  /** How long to wait before retry number `retry` after `error`: the backoff, or longer if the provider asked. */
  delayFor(retry: number, error: IntegrationError): number {
    const backoff = this.backoff(retry);
    const asked = error.retryAfterMs;
    return asked !== undefined && asked > backoff ? asked : backoff;
  }
}

/** A retry policy used on its own. `random` draws the jitter (tests pass a fixed one). */
export class RetryPolicy extends Retry implements Policy {
  private readonly environment: PolicyEnvironment;
  private engine: Engine | undefined;

  constructor(options?: RetryOptions, environment: PolicyEnvironment = {}, random?: () => number) {
    super(options, random);
    this.environment = environment;
  }

  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T> {
    return standalone((this.engine ??= new Engine(this.environment, { retry: this }, true)), fn, options);
  }
}

export function createRetry(options?: RetryOptions, environment?: PolicyEnvironment): RetryPolicy {
  return new RetryPolicy(options, environment);
}
