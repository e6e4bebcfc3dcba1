import { describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { EventBus, type EventName, type IntegrationEvents } from '../../src/events.js';
import { createPipeline } from '../../src/policies/index.js';
import { fail, outcome, recordEvents, source } from './helpers.js';
import { flush, ManualClock } from './manual-clock.js';

describe('createPipeline', () => {
  it('runs an operation through every policy and returns its value', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({
      clock,
      source,
      retry: { maxAttempts: 3 },
      circuitBreaker: { failureThreshold: 3 },
      rateLimit: { requestsPerMinute: 600, burst: 5 },
      timeoutMs: 1_000,
      bulkhead: { maxConcurrent: 2 },
    });
    const result = await pipeline.execute('things.get', async ({ attempt }) => `ok ${attempt}`, { retrySafe: true });
    expect(result).toBe('ok 1');
    expect(pipeline.breakerState()).toBe('closed');
    expect(pipeline.rateLimitHeadroom()).toBe(4);
  });

  it('retries a retryable failure, emits events, and fills in where the error happened', async () => {
    const clock = new ManualClock();
    const events = new EventBus();
    const seen: string[] = [];
    events.on('call:start', (e) => seen.push(`start ${e.attempt}`));
    events.on('call:failure', (e) => seen.push(`failure ${e.attempt} ${e.error.kind} retry=${e.willRetry}`));
    events.on('retry:scheduled', (e) => seen.push(`retry ${e.attempt} in ${e.delayMs}`));
    events.on('call:success', (e) => seen.push(`success ${e.attempt}`));
    const pipeline = createPipeline({
      clock,
      events,
      source,
      retry: { maxAttempts: 3, initialDelayMs: 100, jitter: 'none' },
    });
    let calls = 0;
    const done = pipeline.execute(
      'things.list',
      async () => {
        calls++;
        if (calls === 1) throw new IntegrationError('unavailable', '503');
        return calls;
      },
      { retrySafe: true },
    );
    await flush();
    expect(calls).toBe(1);
    await clock.advance(100);
    await expect(done).resolves.toBe(2);
    expect(seen).toEqual(['start 1', 'failure 1 unavailable retry=true', 'retry 2 in 100', 'start 2', 'success 2']);
  });

  it('maps foreign errors with mapError and locates them', async () => {
    const pipeline = createPipeline({ source, retry: { maxAttempts: 2, initialDelayMs: 0 } });
    const error = await pipeline
      .execute(
        'things.create',
        async () => {
          throw new Error('boom');
        },
        { retrySafe: true, mapError: (e) => new IntegrationError('invalid_request', String(e)) },
      )
      .catch((e: unknown) => e);
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'invalid_request',
      operation: 'things.create',
      provider: 'acme',
      integration: 'acme_main',
      tenant: 't1',
    });
  });

  it('times out an attempt that ignores its signal', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, timeoutMs: 50 });
    let signal: AbortSignal | undefined;
    const done = pipeline
      .execute(
        'slow',
        (scope) => {
          signal = scope.signal;
          return new Promise<never>(() => {});
        },
        { retrySafe: false },
      )
      .catch((e: unknown) => e);
    await clock.advance(50);
    expect(await done).toMatchObject({ kind: 'timeout', operation: 'slow' });
    expect(signal?.aborted).toBe(true);
  });
});

class CountingBus extends EventBus {
  emitted = 0;
  override emit<E extends EventName>(name: E, event: IntegrationEvents[E]): void {
    this.emitted++;
    super.emit(name, event);
  }
}

describe('pipeline composition', () => {
  it('emits nothing when nobody listens', async () => {
    const events = new CountingBus();
    const pipeline = createPipeline({
      events,
      source,
      retry: { maxAttempts: 2, initialDelayMs: 0 },
      circuitBreaker: { failureThreshold: 1 },
      rateLimit: { requestsPerMinute: 60, burst: 1, maxWaitMs: 0 },
      bulkhead: { maxConcurrent: 1 },
    });
    await pipeline.execute('a', async () => 1, { retrySafe: true });
    await outcome(pipeline.execute('a', async () => 1, { retrySafe: true }));
    expect(events.emitted).toBe(0);
  });

  it('reports durations and attempts on the clock it was given', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('call:failure', 'call:success');
    const pipeline = createPipeline({
      clock,
      events,
      source,
      timeoutMs: 500,
      retry: { maxAttempts: 2, initialDelayMs: 0 },
    });
    const done = pipeline.execute(
      'things.get',
      async (scope) => {
        if (scope.attempt === 1) return new Promise<never>(() => {});
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 40));
        return 'ok';
      },
      { retrySafe: true },
    );
    await clock.advance(600);
    expect(await done).toBe('ok');
    expect(seen['call:failure']).toMatchObject([
      { ...source, operation: 'things.get', attempt: 1, durationMs: 500, willRetry: true, error: { kind: 'timeout' } },
    ]);
    expect(seen['call:success']).toEqual([{ ...source, operation: 'things.get', attempt: 2, durationMs: 40 }]);
  });

  it('a local rate-limit rejection does not count against the breaker, and frees a half-open probe', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({
      clock,
      circuitBreaker: { failureThreshold: 1, recoveryTimeoutMs: 1_000 },
      rateLimit: { requestsPerMinute: 6, burst: 1, maxWaitMs: 0 },
    });
    await pipeline.execute('a', async () => 1, { retrySafe: true });
    for (let i = 0; i < 3; i++) {
      expect((await outcome(pipeline.execute('a', async () => 1, { retrySafe: true }))).error?.kind).toBe(
        'rate_limited',
      );
    }
    expect(pipeline.breakerState()).toBe('closed');
    // Open the breaker, let it half-open, and have the limiter turn the probe away.
    await clock.advance(10_000);
    await outcome(pipeline.execute('a', async () => Promise.reject(fail('unavailable')), { retrySafe: true }));
    expect(pipeline.breakerState()).toBe('open');
    await clock.advance(1_000);
    expect((await outcome(pipeline.execute('a', async () => 1, { retrySafe: true }))).error?.kind).toBe('rate_limited');
    await clock.advance(10_000);
    expect(await pipeline.execute('a', async () => 'probe', { retrySafe: true })).toBe('probe');
    expect(pipeline.breakerState()).toBe('closed');
  });

  it('maps what the operation threw: mapError first, then network codes, then internal', async () => {
    const pipeline = createPipeline({});
    const reset = await outcome(
      pipeline.execute(
        'a',
        async () => {
          throw new TypeError('fetch failed', { cause: Object.assign(new Error('read'), { code: 'ECONNRESET' }) });
        },
        { retrySafe: true },
      ),
    );
    expect(reset.error).toMatchObject({ kind: 'unavailable', retryable: true, operation: 'a' });
    const odd = await outcome(
      pipeline.execute(
        'a',
        () => {
          throw 'a string';
        },
        {
          retrySafe: true,
          mapError: () => {
            throw new Error('mapper bug');
          },
        },
      ),
    );
    expect(odd.error).toMatchObject({ kind: 'internal', message: 'a string' });
  });

  it('an IntegrationError keeps where it already says it happened', async () => {
    const pipeline = createPipeline({ source });
    const error = new IntegrationError('not_found', 'no such thing', { operation: 'inner.op', tenant: 'other' });
    const result = await outcome(pipeline.execute('outer.op', async () => Promise.reject(error), { retrySafe: true }));
    expect(result.error).toBe(error);
    expect(result.error).toMatchObject({ operation: 'inner.op', tenant: 'other', provider: 'acme' });
  });

  it('the whole call budget caps attempt timeouts and stops retries', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, timeoutMs: 1_000, retry: { maxAttempts: 10, initialDelayMs: 0 } });
    let calls = 0;
    const done = outcome(
      pipeline.execute(
        'a',
        () => {
          calls++;
          return new Promise<never>(() => {});
        },
        { retrySafe: true, totalTimeoutMs: 2_500 },
      ),
    );
    await clock.advance(3_000);
    expect((await done).error?.kind).toBe('timeout');
    expect(calls).toBe(3);
  });

  it('reports no breaker or limiter when none is configured', () => {
    const pipeline = createPipeline({ retry: false, circuitBreaker: false, rateLimit: false, timeoutMs: false });
    expect(pipeline.breakerState()).toBeUndefined();
    expect(pipeline.rateLimitHeadroom()).toBeUndefined();
  });

  it('rejects a bad configuration with a typed error naming the field', () => {
    const bad = (options: Parameters<typeof createPipeline>[0], field: RegExp) => {
      let thrown: unknown;
      try {
        createPipeline(options);
      } catch (error) {
        thrown = error;
      }
      expect(IntegrationError.isInstance(thrown)).toBe(true);
      expect(thrown).toMatchObject({ kind: 'invalid_config', message: expect.stringMatching(field) });
    };
    bad({ retry: { maxAttempts: 1.5 } }, /retry\.maxAttempts/);
    bad({ circuitBreaker: { windowMs: 0 } }, /circuitBreaker\.windowMs/);
    bad({ rateLimit: { requestsPerMinute: -1 } }, /rateLimit\.requestsPerMinute/);
    bad({ bulkhead: { maxConcurrent: 0 } }, /bulkhead\.maxConcurrent/);
    bad({ timeoutMs: Number.NaN }, /timeoutMs/);
    bad({ fallback: 'value' as never }, /fallback/);
  });
});
