import { describe, expect, it } from 'vitest';
import { createFallback, createPipeline } from '../../src/policies/index.js';
import { fail, outcome, source } from './helpers.js';

describe('fallback', () => {
  it('returns the fallback value after the final failure, given the error and operation', async () => {
    const seen: string[] = [];
    const pipeline = createPipeline({
      source,
      retry: { maxAttempts: 2, initialDelayMs: 0 },
      fallback: (error, operation) => {
        seen.push(`${operation}: ${error.kind} (${error.tenant})`);
        return 'cached';
      },
    });
    let calls = 0;
    const value = await pipeline.execute(
      'things.get',
      async () => {
        calls++;
        throw fail('unavailable');
      },
      { retrySafe: true },
    );
    expect(value).toBe('cached');
    expect(calls).toBe(2);
    expect(seen).toEqual(['things.get: unavailable (t1)']);
  });

  it('covers local rejections too (an open breaker)', async () => {
    const pipeline = createPipeline({ circuitBreaker: { failureThreshold: 1 }, fallback: (error) => error.kind });
    await pipeline.execute('x', async () => Promise.reject(fail('unavailable')), { retrySafe: true });
    expect(await pipeline.execute('x', async () => 'live', { retrySafe: true })).toBe('circuit_open');
  });

  it('may be async, and its own failure reaches the caller', async () => {
    const fallback = createFallback(async () => 'later');
    expect(await fallback.execute(async () => Promise.reject(fail('timeout')))).toBe('later');
    const broken = createFallback(() => {
      throw new Error('no cache either');
    });
    expect((await outcome(broken.execute(async () => Promise.reject(fail('timeout'))))).error?.message).toBe(
      'no cache either',
    );
  });

  it('is not used for a call its caller cancelled', async () => {
    const fallback = createFallback(() => 'substitute');
    const result = await outcome(fallback.execute(async () => 'live', { signal: AbortSignal.abort() }));
    expect(result.error?.kind).toBe('cancelled');
  });
});
