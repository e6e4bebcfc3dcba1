import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { backoffCeiling, createPipeline, createRetry, RetryPolicy } from '../../src/policies/index.js';
import { fail, outcome, recordEvents, source } from './helpers.js';
import { flush, ManualClock } from './manual-clock.js';

describe('backoff', () => {
  it('draws every delay from [0, min(maxDelay, initial * multiplier^n)]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialDelayMs, backoffMultiplier, maxDelayMs, retry, draw) => {
          const policy = new RetryPolicy({ initialDelayMs, backoffMultiplier, maxDelayMs }, {}, () => draw);
          const delay = policy.backoff(retry);
          const ceiling = Math.min(maxDelayMs, initialDelayMs * backoffMultiplier ** (retry - 1));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it('grows by the multiplier up to the cap without jitter', () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, 100, 2, 1_000));
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    const policy = createRetry({ initialDelayMs: 100, jitter: 'none', maxDelayMs: 1_000 });
    expect(policy.backoff(3)).toBe(400);
  });

  it('waits at least as long as the provider asked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 1, max: 10 }), (retryAfterMs, retry) => {
        const policy = createRetry({ initialDelayMs: 50, maxDelayMs: 1_000 });
        expect(policy.delayFor(retry, fail('rate_limited', { retryAfterMs }))).toBeGreaterThanOrEqual(retryAfterMs);
      }),
    );
  });
});

describe('retry', () => {
  it('never makes more than maxAttempts attempts, and retries only retryable errors', async () => {
    const kinds = ['unavailable', 'timeout', 'rate_limited', 'internal', 'not_found', 'invalid_request'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.constantFrom(...kinds, 'ok' as const), { minLength: 1, maxLength: 10 }),
        async (maxAttempts, script) => {
          const retry = createRetry({ maxAttempts, initialDelayMs: 0 });
          let calls = 0;
          const result = await outcome(
            retry.execute(async () => {
              const step = script[Math.min(calls, script.length - 1)]!;
              calls++;
              if (step === 'ok') return 'ok';
              throw fail(step);
            }),
          );
          expect(calls).toBeLessThanOrEqual(maxAttempts);
          // It stopped for a reason: success, a non-retryable error, or the attempts ran out.
          const last = script[Math.min(calls - 1, script.length - 1)]!;
          if (result.error) {
            expect(result.error.kind).toBe(last);
            if (calls < maxAttempts) expect(result.error.retryable).toBe(false);
          } else {
            expect(last).toBe('ok');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not retry an operation that is not safe to repeat', async () => {
    const pipeline = createPipeline({ retry: { maxAttempts: 5, initialDelayMs: 0 } });
    let calls = 0;
    const result = await outcome(
      pipeline.execute(
        'payments.create',
        async () => {
          calls++;
          throw fail('unavailable');
        },
        { retrySafe: false },
      ),
    );
    expect(calls).toBe(1);
    expect(result.error?.kind).toBe('unavailable');
  });

  it('applies mapError before deciding, so a mapped retryable error is retried', async () => {
    const pipeline = createPipeline({ retry: { maxAttempts: 3, initialDelayMs: 0 } });
    let calls = 0;
    const value = await pipeline.execute(
      'things.get',
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('socket hang up'), { status: 503 });
        return 'ok';
      },
      {
        retrySafe: true,
        mapError: (error) => new IntegrationError('unavailable', (error as Error).message, { status: 503 }),
      },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('waits out Retry-After before the next attempt', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('retry:scheduled');
    const pipeline = createPipeline({ clock, events, source, retry: { maxAttempts: 2, initialDelayMs: 10 } });
    let calls = 0;
    const done = outcome(
      pipeline.execute(
        'things.list',
        async () => {
          calls++;
          if (calls === 1) throw fail('rate_limited', { retryAfterMs: 5_000 });
          return 'ok';
        },
        { retrySafe: true },
      ),
    );
    await clock.advance(4_999);
    expect(calls).toBe(1);
    await clock.advance(1);
    expect(await done).toEqual({ value: 'ok' });
    expect(seen['retry:scheduled']).toMatchObject([{ attempt: 2, delayMs: 5_000, operation: 'things.list' }]);
  });

  it('fails at once with rate_limited when Retry-After would outlast the call budget', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('call:failure', 'retry:scheduled');
    const pipeline = createPipeline({ clock, events, source, retry: { maxAttempts: 5, initialDelayMs: 10 } });
    let calls = 0;
    const done = outcome(
      pipeline.execute(
        'things.list',
        async () => {
          calls++;
          throw fail('rate_limited', { retryAfterMs: 60_000 });
        },
        { retrySafe: true, totalTimeoutMs: 30_000 },
      ),
    );
    await flush();
    // Settled without the clock moving, and nothing left waiting.
    const result = await done;
    expect(result.error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 60_000, operation: 'things.list' });
    expect(calls).toBe(1);
    expect(seen['retry:scheduled']).toEqual([]);
    // No backoff timer: only the attempt deadline's timer, which lapses at the deadline and is not re-armed.
    expect(clock.pending).toBe(1);
    expect(clock.nextAt).toBe(1_000 + 30_000);
    await clock.advance(30_000);
    expect(clock.pending).toBe(0);
    expect(seen['call:failure']).toMatchObject([{ willRetry: false, attempt: 1 }]);
  });

  it('stops promptly with kind cancelled when the caller aborts during a backoff wait', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, retry: { maxAttempts: 5, initialDelayMs: 10_000, jitter: 'none' } });
    const controller = new AbortController();
    let calls = 0;
    const done = outcome(
      pipeline.execute(
        'things.get',
        async () => {
          calls++;
          throw fail('unavailable');
        },
        { retrySafe: true, signal: controller.signal },
      ),
    );
    await flush();
    expect(clock.pending).toBe(1);
    controller.abort();
    const result = await done;
    expect(result.error?.kind).toBe('cancelled');
    expect(calls).toBe(1);
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(calls).toBe(1);
  });

  it('does not retry local rejections: circuit_open and bulkhead_full are not retryable', () => {
    expect(new IntegrationError('circuit_open', 'x').retryable).toBe(false);
    expect(new IntegrationError('bulkhead_full', 'x').retryable).toBe(false);
  });

  it('rejects bad options with a typed error naming the field', () => {
    expect(() => createRetry({ maxAttempts: 0 })).toThrow(/retry\.maxAttempts must be an integer >= 1, got 0/);
    expect(() => createRetry({ backoffMultiplier: -1 })).toThrow(/retry\.backoffMultiplier/);
    try {
      createRetry({ initialDelayMs: Number.NaN });
    } catch (error) {
      expect(error).toMatchObject({ kind: 'invalid_config' });
    }
  });
});
