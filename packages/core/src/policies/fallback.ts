import type { IntegrationError } from '../errors.js';
import { Engine, standalone } from './engine.js';
import { invalid } from './options.js';
import type { AttemptScope, Policy, PolicyEnvironment, PolicyExecuteOptions } from './types.js';

export type FallbackHandler = (error: IntegrationError, operation: string) => unknown;

/**
 * Returns `handler(error, operation)` instead of failing. Not used for a call its caller cancelled: nobody is
 * waiting for a substitute value.
 */
export class FallbackPolicy implements Policy {
  readonly handler: FallbackHandler;
  private readonly environment: PolicyEnvironment;
  private engine: Engine | undefined;

  constructor(handler: FallbackHandler, environment: PolicyEnvironment = {}) {
    if (typeof handler !== 'function') throw invalid(`fallback must be a function, got ${typeof handler}`);
    this.handler = handler;
    this.environment = environment;
  }

  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T> {
    return standalone((this.engine ??= new Engine(this.environment, { fallback: this.handler }, true)), fn, options);
  }
}

export function createFallback(handler: FallbackHandler, environment?: PolicyEnvironment): FallbackPolicy {
  return new FallbackPolicy(handler, environment);
}
