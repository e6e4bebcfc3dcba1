import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBulkhead, createPipeline } from '../../src/policies/index.js';
import { deferred, fail, outcome, recordEvents, source } from './helpers.js';
import { flush, ManualClock } from './manual-clock.js';

describe('bulkhead', () => {
  it('never runs more than maxConcurrent calls at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        async (maxConcurrent, maxQueue, durations) => {
          const clock = new ManualClock();
          const bulkhead = createBulkhead({ maxConcurrent, maxQueue }, { clock });
          let running = 0;
          let peak = 0;
          const results = durations.map((ms) =>
            outcome(
              bulkhead.execute(async () => {
                running++;
                peak = Math.max(peak, running);
                await new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
                running--;
                return ms;
              }),
            ),
          );
          await clock.advance(50 * durations.length);
          const settled = await Promise.all(results);
          expect(peak).toBeLessThanOrEqual(maxConcurrent);
          const ran = settled.filter((r) => r.value !== undefined).length;
          const rejected = settled.filter((r) => r.error?.kind === 'bulkhead_full').length;
          expect(ran + rejected).toBe(durations.length);
          expect(ran).toBe(Math.min(durations.length, maxConcurrent + maxQueue));
          expect(bulkhead.active).toBe(0);
          expect(bulkhead.queued).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects with bulkhead_full when the queue is full, and says so in an event', async () => {
    const { events, seen } = recordEvents('bulkhead:rejected');
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 }, { events, source });
    const gate = deferred<string>();
    const first = bulkhead.execute(() => gate.promise);
    const second = bulkhead.execute(async () => 'second');
    const third = await outcome(bulkhead.execute(async () => 'third', { operation: 'things.get' }));
    expect(third.error).toMatchObject({ kind: 'bulkhead_full', retryable: false, operation: 'things.get' });
    expect(seen['bulkhead:rejected']).toEqual([{ ...source, operation: 'things.get', active: 1, queued: 1 }]);
    gate.resolve('first');
    expect(await first).toBe('first');
    expect(await second).toBe('second');
  });

  it('a queued call leaves the queue when its signal aborts', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const gate = deferred<string>();
    const first = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const queued = outcome(
      bulkhead.execute(
        async () => {
          ran = true;
        },
        { signal: controller.signal },
      ),
    );
    const after = bulkhead.execute(async () => 'after');
    await flush();
    expect(bulkhead.queued).toBe(2);
    controller.abort();
    expect((await queued).error?.kind).toBe('cancelled');
    expect(bulkhead.queued).toBe(1);
    gate.resolve('first');
    await first;
    expect(await after).toBe('after');
    expect(ran).toBe(false);
    expect(bulkhead.active).toBe(0);
  });

  it('holds the slot across retries and frees it at the end', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({
      clock,
      bulkhead: { maxConcurrent: 1 },
      retry: { maxAttempts: 2, initialDelayMs: 100, jitter: 'none' },
    });
    let calls = 0;
    const first = pipeline.execute(
      'x',
      async () => {
        calls++;
        if (calls === 1) throw fail('unavailable');
        return 'ok';
      },
      { retrySafe: true },
    );
    await flush();
    // During the backoff the slot is still held.
    expect((await outcome(pipeline.execute('y', async () => 1, { retrySafe: true }))).error?.kind).toBe(
      'bulkhead_full',
    );
    await clock.advance(100);
    expect(await first).toBe('ok');
    expect(await pipeline.execute('y', async () => 1, { retrySafe: true })).toBe(1);
  });

  it('rejects bad options naming the field', () => {
    expect(() => createBulkhead({ maxConcurrent: 0 })).toThrow(/bulkhead\.maxConcurrent/);
    expect(() => createBulkhead({ maxConcurrent: 1, maxQueue: -1 })).toThrow(/bulkhead\.maxQueue/);
  });
});
