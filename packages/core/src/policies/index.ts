export { BulkheadPolicy, createBulkhead } from './bulkhead.js';
export type { CircuitBreakerEnvironment } from './circuit-breaker.js';
export { CircuitBreakerPolicy, createCircuitBreaker, isProviderTrouble } from './circuit-breaker.js';
export { createFallback, type FallbackHandler, FallbackPolicy } from './fallback.js';
export { createPipeline } from './pipeline.js';
export {
  createMemoryStore,
  createRateLimiter,
  MemoryStore,
  type RateLimiterEnvironment,
  RateLimiterPolicy,
  TokenBucket,
} from './rate-limiter.js';
export { backoffCeiling, createRetry, RetryPolicy } from './retry.js';
export { createTimeout, TimeoutPolicy } from './timeout.js';
export type * from './types.js';
