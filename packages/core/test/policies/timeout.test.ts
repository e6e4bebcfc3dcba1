import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { createPipeline, createTimeout } from '../../src/policies/index.js';
import { deferred, fail, outcome } from './helpers.js';
import { flush, ManualClock } from './manual-clock.js';

describe('timeout', () => {
  it('rejects with kind timeout and aborts the signal the operation was given', async () => {
    const clock = new ManualClock();
    const timeout = createTimeout(100, { clock });
    let signal: AbortSignal | undefined;
    const done = outcome(
      timeout.execute(
        (scope) =>
          new Promise((_, reject) => {
            signal = scope.signal;
            scope.signal.addEventListener('abort', () => reject(new Error('aborted by the SDK')));
          }),
      ),
    );
    await clock.advance(99);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    const result = await done;
    expect(result.error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(signal?.aborted).toBe(true);
    expect(IntegrationError.isInstance(signal?.reason)).toBe(true);
  });

  it('rejects even when the operation ignores its signal', async () => {
    const clock = new ManualClock();
    const timeout = createTimeout(100, { clock });
    const done = outcome(timeout.execute(() => new Promise(() => {})));
    await clock.advance(100);
    expect((await done).error?.kind).toBe('timeout');
  });

  it('a late answer after the timeout is ignored', async () => {
    const clock = new ManualClock();
    const timeout = createTimeout(100, { clock });
    const late = deferred<string>();
    const done = outcome(timeout.execute(() => late.promise));
    await clock.advance(100);
    late.resolve('too late');
    await flush();
    expect((await done).error?.kind).toBe('timeout');
  });

  it('keeps one timer for many attempts in flight, and lets it lapse once idle', async () => {
    const clock = new ManualClock();
    const timeout = createTimeout(1_000, { clock });
    const gates = Array.from({ length: 100 }, () => deferred<number>());
    const calls = gates.map((gate, i) => {
      return timeout.execute(() => gate.promise).then(() => i);
    });
    await clock.advance(10);
    expect(timeout.inFlight).toBe(100);
    expect(clock.pending).toBe(1);
    for (const [i, gate] of gates.entries()) gate.resolve(i);
    await Promise.all(calls);
    expect(timeout.inFlight).toBe(0);
    await clock.advance(1_000);
    expect(clock.pending).toBe(0);
    expect(timeout.armed).toBe(false);
  });

  it('times out attempts in deadline order, including per-call overrides, re-arming for the next', async () => {
    const clock = new ManualClock();
    const timeout = createTimeout(1_000, { clock });
    const order: string[] = [];
    const never = () => new Promise<never>(() => {});
    const track = (name: string, promise: Promise<unknown>) => promise.catch(() => order.push(name));
    const a = track('a', timeout.execute(never));
    await clock.advance(100);
    const b = track('b', timeout.execute(never, { timeoutMs: 300 }));
    const c = track('c', timeout.execute(never, { timeoutMs: 2_000 }));
    const d = track('d', timeout.execute(never));
    await clock.advance(2_500);
    await Promise.all([a, b, c, d]);
    expect(order).toEqual(['b', 'a', 'd', 'c']);
    expect(clock.pending).toBe(0);
  });

  it('a timed-out attempt is retried when the operation is safe to repeat', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, timeoutMs: 100, retry: { maxAttempts: 2, initialDelayMs: 0 } });
    let calls = 0;
    const done = pipeline.execute(
      'things.get',
      (scope) => {
        calls++;
        return scope.attempt === 1 ? new Promise<string>(() => {}) : Promise.resolve('second');
      },
      { retrySafe: true },
    );
    await clock.advance(100);
    expect(await done).toBe('second');
    expect(calls).toBe(2);
  });

  it('a caller abort ends the attempt with kind cancelled even if the operation ignores it', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, timeoutMs: 10_000, retry: { maxAttempts: 3 } });
    const controller = new AbortController();
    const done = outcome(
      pipeline.execute('x', () => new Promise(() => {}), { retrySafe: true, signal: controller.signal }),
    );
    await flush();
    controller.abort(new Error('user went away'));
    const result = await done;
    expect(result.error?.kind).toBe('cancelled');
    expect(result.error?.cause).toBeInstanceOf(Error);
  });

  it('a caller signal that is already aborted fails at once without calling the operation', async () => {
    const pipeline = createPipeline({ timeoutMs: 1_000 });
    let called = false;
    const result = await outcome(
      pipeline.execute(
        'x',
        async () => {
          called = true;
        },
        { retrySafe: true, signal: AbortSignal.abort() },
      ),
    );
    expect(result.error?.kind).toBe('cancelled');
    expect(called).toBe(false);
  });

  it('the signal of an attempt that finished normally is not aborted', async () => {
    const timeout = createTimeout(1_000, { clock: new ManualClock() });
    let signal: AbortSignal | undefined;
    await timeout.execute(async (scope) => {
      signal = scope.signal;
    });
    expect(signal?.aborted).toBe(false);
  });

  it('creates an AbortController only for attempts that read their signal', async () => {
    const Original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      const pipeline = createPipeline({ clock: new ManualClock(), timeoutMs: 1_000 });
      const signal = new Original().signal;
      for (let i = 0; i < 20; i++) await pipeline.execute('x', async () => i, { retrySafe: true, signal });
      expect(created).toBe(0);
      for (let i = 0; i < 20; i++) {
        await pipeline.execute('x', async (scope) => scope.signal.aborted, { retrySafe: true, signal });
      }
      expect(created).toBe(20);
    } finally {
      globalThis.AbortController = Original;
    }
  });

  it('rejects a bad timeout naming it', () => {
    expect(() => createTimeout(0)).toThrow(/timeoutMs must be a number > 0/);
    expect(() => createPipeline({ timeoutMs: -5 })).toThrow(/timeoutMs/);
  });
});

describe('abort listeners', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('1,000 concurrent calls sharing one caller signal add one listener and raise no warning', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, timeoutMs: 5_000, retry: { maxAttempts: 2, initialDelayMs: 10 } });
    const controller = new AbortController();
    const gate = deferred<void>();
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      pipeline.execute(
        'x',
        async (scope) => {
          // Half the operations read their signal (and so get a controller); half never do.
          if (i % 2 === 0) scope.signal.addEventListener('abort', () => {});
          await gate.promise;
          if (scope.attempt === 1 && i % 3 === 0) throw fail('unavailable');
          return i;
        },
        { retrySafe: true, signal: controller.signal },
      ),
    );
    await flush();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    gate.resolve();
    await clock.advance(20);
    const results = await Promise.all(calls);
    expect(results).toHaveLength(1_000);
    await flush();
    // The pipeline parks its one listener on the signal it used last, so sequential calls do not churn it...
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    // ...and releases it as soon as it empties a hub for another signal.
    const other = new AbortController();
    await pipeline.execute('x', async () => 1, { retrySafe: true, signal: other.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('a signal per call leaves no listener behind on earlier signals', async () => {
    const pipeline = createPipeline({ clock: new ManualClock(), timeoutMs: 1_000 });
    const signals = Array.from({ length: 50 }, () => new AbortController().signal);
    for (const signal of signals) await pipeline.execute('x', async () => 1, { retrySafe: true, signal });
    const counts = signals.map((signal) => getEventListeners(signal, 'abort').length);
    expect(counts.slice(0, -1).every((count) => count === 0)).toBe(true);
    expect(counts.at(-1)).toBe(1);
  });

  it('a parked listener does no harm when its signal aborts later', async () => {
    const pipeline = createPipeline({ clock: new ManualClock(), timeoutMs: 1_000 });
    const controller = new AbortController();
    await pipeline.execute('x', async () => 1, { retrySafe: true, signal: controller.signal });
    controller.abort();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const result = await outcome(pipeline.execute('x', async () => 1, { retrySafe: true, signal: controller.signal }));
    expect(result.error?.kind).toBe('cancelled');
  });

  it('aborting that shared signal cancels all 1,000 calls', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({ clock, timeoutMs: 5_000 });
    const controller = new AbortController();
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      outcome(
        pipeline.execute(`op${i % 2}`, () => new Promise(() => {}), { retrySafe: true, signal: controller.signal }),
      ),
    );
    await flush();
    controller.abort();
    const results = await Promise.all(calls);
    expect(results.every((r) => r.error?.kind === 'cancelled')).toBe(true);
    // Each call gets its own error, naming its own operation.
    expect(results.every((r, i) => r.error?.operation === `op${i % 2}`)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await flush();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
