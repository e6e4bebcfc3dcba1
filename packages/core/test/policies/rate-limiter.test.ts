import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMemoryStore,
  createPipeline,
  createRateLimiter,
  type StateStore,
  TokenBucket,
} from '../../src/policies/index.js';
import { fail, outcome, recordEvents, source } from './helpers.js';
import { flush, ManualClock } from './manual-clock.js';

describe('token bucket', () => {
  it('never admits more than burst + rate * t over any interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.001, max: 2, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 150 }),
        (burst, refillPerMs, gaps) => {
          const spec = { capacity: burst, refillPerMs };
          const bucket = new TokenBucket(burst, 0);
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            // Several takes at the same instant, as concurrent calls would.
            for (let i = 0; i < 3; i++) if (bucket.take(spec, now) === 0) admitted.push(now);
          }
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length; j++) {
              const count = j - i + 1;
              const span = admitted[j]! - admitted[i]!;
              expect(count).toBeLessThanOrEqual(burst + refillPerMs * span + 1e-9);
            }
          }
        },
      ),
    );
  });

  it('reports the wait until the next token, and that wait is enough', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.double({ min: 0.0001, max: 1, noNaN: true }), (burst, rate) => {
        const spec = { capacity: burst, refillPerMs: rate };
        const bucket = new TokenBucket(burst, 0);
        for (let i = 0; i < burst; i++) expect(bucket.take(spec, 0)).toBe(0);
        const wait = bucket.take(spec, 0);
        expect(wait).toBeGreaterThan(0);
        expect(bucket.take(spec, wait)).toBe(0);
      }),
    );
  });

  it('memory store: buckets are per key and refill with time', async () => {
    const clock = new ManualClock();
    const store = createMemoryStore({ clock });
    const spec = { capacity: 2, refillPerMs: 1 / 1_000 };
    expect(store.takeToken('a', spec)).toBe(0);
    expect(store.takeToken('a', spec)).toBe(0);
    expect(store.takeToken('a', spec)).toBe(1_000);
    expect(store.takeToken('b', spec)).toBe(0);
    await clock.advance(500);
    expect(store.availableTokens('a', spec)).toBe(0.5);
    await clock.advance(500);
    expect(store.takeToken('a', spec)).toBe(0);
  });
});

describe('rate limiter', () => {
  it('waits for a token when the wait fits in maxWaitMs', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('rate:limited');
    const limiter = createRateLimiter({ requestsPerMinute: 60, burst: 1, maxWaitMs: 2_000 }, { clock, events, source });
    expect(await limiter.execute(async () => 1)).toBe(1);
    let ran = false;
    const second = limiter.execute(async () => {
      ran = true;
      return 2;
    });
    await flush();
    expect(ran).toBe(false);
    await clock.advance(1_000);
    expect(await second).toBe(2);
    expect(seen['rate:limited']).toEqual([{ ...source, operation: 'call', waitMs: 1_000, rejected: false }]);
  });

  it('rejects with rate_limited and retryAfterMs when the wait is longer than maxWaitMs', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('rate:limited');
    const limiter = createRateLimiter({ requestsPerMinute: 6, burst: 1, maxWaitMs: 1_000 }, { clock, events });
    await limiter.execute(async () => 1);
    const result = await outcome(limiter.execute(async () => 2, { operation: 'things.list' }));
    expect(result.error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 10_000, operation: 'things.list' });
    expect(result.error?.retryable).toBe(false);
    expect(seen['rate:limited']).toMatchObject([{ rejected: true, waitMs: 10_000 }]);
    expect(clock.pending).toBe(0);
  });

  it("waits no longer than the call's budget", async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, rateLimit: { requestsPerMinute: 6, burst: 1 } });
    await pipeline.execute('a', async () => 1, { retrySafe: true });
    const result = await outcome(pipeline.execute('a', async () => 2, { retrySafe: true, totalTimeoutMs: 5_000 }));
    expect(result.error?.kind).toBe('rate_limited');
    // With no budget and no maxWaitMs it waits as long as it takes.
    const patient = pipeline.execute('a', async () => 3, { retrySafe: true });
    await clock.advance(10_000);
    expect(await patient).toBe(3);
  });

  it('a caller abort stops a token wait with kind cancelled', async () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter({ requestsPerMinute: 1, burst: 1 }, { clock });
    await limiter.execute(async () => 1);
    const controller = new AbortController();
    const waiting = outcome(limiter.execute(async () => 2, { signal: controller.signal }));
    await flush();
    controller.abort();
    expect((await waiting).error?.kind).toBe('cancelled');
    expect(clock.pending).toBe(0);
  });

  it('each attempt of a retried call takes a token', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({
      clock,
      retry: { maxAttempts: 3, initialDelayMs: 0 },
      rateLimit: { requestsPerMinute: 60, burst: 10 },
    });
    await outcome(
      pipeline.execute(
        'a',
        async () => {
          throw fail('unavailable');
        },
        { retrySafe: true },
      ),
    );
    expect(pipeline.rateLimitHeadroom()).toBe(7);
  });

  it('works through an asynchronous store', async () => {
    const clock = new ManualClock();
    const memory = createMemoryStore({ clock });
    let takes = 0;
    const remote: StateStore = {
      takeToken: async (key, spec) => {
        takes++;
        return memory.takeToken(key, spec);
      },
      availableTokens: async (key, spec) => memory.availableTokens(key, spec),
      getBreaker: async () => undefined,
      setBreaker: async () => {},
    };
    const pipeline = createPipeline({ clock, store: remote, key: 'k', rateLimit: { requestsPerMinute: 60, burst: 1 } });
    expect(await pipeline.execute('a', async () => 1, { retrySafe: true })).toBe(1);
    const second = pipeline.execute('a', async () => 2, { retrySafe: true });
    await clock.advance(1_000);
    expect(await second).toBe(2);
    expect(takes).toBe(3);
    // A remote store's headroom arrives later: the pipeline reports the last value it heard.
    expect(pipeline.rateLimitHeadroom()).toBeUndefined();
    await flush();
    expect(pipeline.rateLimitHeadroom()).toBe(0);
  });

  it('pipelines given one store and key share one bucket', async () => {
    const clock = new ManualClock();
    const store = createMemoryStore({ clock });
    const rateLimit = { requestsPerMinute: 60, burst: 2, maxWaitMs: 0 };
    const a = createPipeline({ clock, store, key: 't1/acme', rateLimit });
    const b = createPipeline({ clock, store, key: 't1/acme', rateLimit });
    await a.execute('x', async () => 1, { retrySafe: true });
    await b.execute('x', async () => 1, { retrySafe: true });
    expect((await outcome(a.execute('x', async () => 1, { retrySafe: true }))).error?.kind).toBe('rate_limited');
  });

  it('rejects bad options naming the field', () => {
    expect(() => createRateLimiter({ requestsPerMinute: 0 })).toThrow(/rateLimit\.requestsPerMinute/);
    expect(() => createRateLimiter({ requestsPerMinute: 60, burst: 0.5 })).toThrow(/rateLimit\.burst/);
    expect(() => createRateLimiter({} as never)).toThrow(/requestsPerMinute is required/);
  });
});
