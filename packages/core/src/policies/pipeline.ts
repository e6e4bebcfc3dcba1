import { systemClock } from '../clock.js';
import { Bulkhead } from './bulkhead.js';
import { Breaker } from './circuit-breaker.js';
import { Engine } from './engine.js';
import { invalid, timeoutSetting } from './options.js';
import { Limiter } from './rate-limiter.js';
import { Retry } from './retry.js';
import { Deadlines } from './timeout.js';
import type { Pipeline, PipelineOptions } from './types.js';

let anonymousPipelines = 0;

/**
 * Composes the configured policies as fallback(bulkhead(retry(breaker(rateLimit(timeout(fn)))))). Options set
 * to `false` or left out are not part of the pipeline at all.
 */
export function createPipeline(options: PipelineOptions = {}): Pipeline {
  const { clock = systemClock, events, source, store, retry, circuitBreaker, rateLimit, bulkhead, fallback } = options;
  const environment = { clock, events, source };
  // Breaker state is shared only through a store the caller gave; without one the bucket is the limiter's own.
  const shared = {
    ...environment,
    store,
    key: options.key ?? (source ? `${source.tenant}/${source.integration}` : `pipeline-${++anonymousPipelines}`),
  };
  if (fallback !== undefined && typeof fallback !== 'function') {
    throw invalid(`fallback must be a function, got ${typeof fallback}`);
  }
  return new Engine(
    environment,
    {
      retry: retry ? new Retry(retry) : undefined,
      breaker: circuitBreaker ? new Breaker(circuitBreaker, shared) : undefined,
      limiter: rateLimit ? new Limiter(rateLimit, shared) : undefined,
      // A pipeline without a timeout still honours a call's own timeoutMs and totalTimeoutMs.
      timeout: new Deadlines(timeoutSetting(options.timeoutMs === false ? undefined : options.timeoutMs), clock),
      bulkhead: bulkhead ? new Bulkhead(bulkhead, environment) : undefined,
      fallback,
    },
    false,
  );
}
