import { describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/errors.js';
import {
  createCircuitBreaker,
  createMemoryStore,
  createPipeline,
  isProviderTrouble,
  type SharedBreakerState,
  type StateStore,
} from '../../src/policies/index.js';
import { deferred, fail, outcome, recordEvents, source } from './helpers.js';
import { flush, ManualClock } from './manual-clock.js';

function failing(kind: ErrorKind) {
  return async () => {
    throw fail(kind);
  };
}
const ok = async () => 'ok';

describe('circuit breaker', () => {
  it('opens after failureThreshold consecutive provider failures and rejects with circuit_open', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('breaker:state');
    const breaker = createCircuitBreaker({ failureThreshold: 3, recoveryTimeoutMs: 10_000 }, { clock, events, source });
    for (let i = 0; i < 2; i++) await outcome(breaker.execute(failing('unavailable')));
    expect(breaker.state).toBe('closed');
    await outcome(breaker.execute(failing('timeout')));
    expect(breaker.state).toBe('open');
    let called = false;
    const rejected = await outcome(
      breaker.execute(async () => {
        called = true;
      }),
    );
    expect(called).toBe(false);
    expect(rejected.error).toMatchObject({ kind: 'circuit_open', retryable: false, retryAfterMs: 10_000 });
    expect(seen['breaker:state']).toEqual([{ ...source, from: 'closed', to: 'open' }]);
  });

  it('a success resets the consecutive count', async () => {
    const breaker = createCircuitBreaker(
      { failureThreshold: 2, minimumThroughput: 1_000 },
      { clock: new ManualClock() },
    );
    await outcome(breaker.execute(failing('unavailable')));
    await breaker.execute(ok);
    await outcome(breaker.execute(failing('unavailable')));
    expect(breaker.state).toBe('closed');
  });

  it('does not count failures that say nothing about the provider (404, bad request, auth)', async () => {
    const breaker = createCircuitBreaker({ failureThreshold: 2, minimumThroughput: 2 }, { clock: new ManualClock() });
    for (const kind of ['not_found', 'invalid_request', 'auth', 'permission', 'conflict'] as const) {
      for (let i = 0; i < 3; i++) await outcome(breaker.execute(failing(kind)));
    }
    expect(breaker.state).toBe('closed');
    expect(isProviderTrouble(fail('internal'))).toBe(true);
    expect(isProviderTrouble(fail('rate_limited'))).toBe(true);
    expect(isProviderTrouble(fail('not_found'))).toBe(false);
  });

  it('opens on the failure rate over the window once minimumThroughput is reached', async () => {
    const clock = new ManualClock();
    const breaker = createCircuitBreaker(
      { failureThreshold: 100, failureRateThreshold: 0.5, minimumThroughput: 10, windowMs: 10_000 },
      { clock },
    );
    // 4 failures and 5 successes interleaved: rate 4/9, and below the throughput minimum anyway.
    for (let i = 0; i < 9; i++) await outcome(breaker.execute(i % 2 === 0 ? ok : failing('unavailable')));
    expect(breaker.state).toBe('closed');
    await outcome(breaker.execute(failing('unavailable'))); // 5 of 10
    expect(breaker.state).toBe('open');
  });

  it('forgets failures that slid out of the window', async () => {
    const clock = new ManualClock();
    const breaker = createCircuitBreaker(
      { failureThreshold: 100, failureRateThreshold: 0.5, minimumThroughput: 4, windowMs: 10_000 },
      { clock },
    );
    for (let i = 0; i < 3; i++) await outcome(breaker.execute(failing('unavailable')));
    await clock.advance(11_000);
    // The three old failures are gone: 1 failure + 3 successes is 25 %.
    await outcome(breaker.execute(failing('unavailable')));
    for (let i = 0; i < 3; i++) await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
  });

  it('half-opens after recoveryTimeoutMs; a probe success closes it', async () => {
    const clock = new ManualClock();
    const { events, seen } = recordEvents('breaker:state');
    const breaker = createCircuitBreaker({ failureThreshold: 1, recoveryTimeoutMs: 5_000 }, { clock, events, source });
    await outcome(breaker.execute(failing('unavailable')));
    await clock.advance(4_999);
    expect((await outcome(breaker.execute(ok))).error?.kind).toBe('circuit_open');
    await clock.advance(1);
    expect(breaker.state).toBe('half_open');
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(seen['breaker:state'].map((e) => `${e.from}>${e.to}`)).toEqual([
      'closed>open',
      'open>half_open',
      'half_open>closed',
    ]);
  });

  it('a probe failure opens it again for another recoveryTimeoutMs', async () => {
    const clock = new ManualClock();
    const breaker = createCircuitBreaker({ failureThreshold: 1, recoveryTimeoutMs: 5_000 }, { clock });
    await outcome(breaker.execute(failing('unavailable')));
    await clock.advance(5_000);
    await outcome(breaker.execute(failing('timeout')));
    expect(breaker.state).toBe('open');
    await clock.advance(4_000);
    expect((await outcome(breaker.execute(ok))).error?.kind).toBe('circuit_open');
  });

  for (const halfOpenMaxProbes of [1, 3]) {
    it(`lets only ${halfOpenMaxProbes} of many concurrent half-open calls reach the operation`, async () => {
      const clock = new ManualClock();
      const breaker = createCircuitBreaker(
        { failureThreshold: 1, recoveryTimeoutMs: 1_000, halfOpenMaxProbes },
        { clock },
      );
      await outcome(breaker.execute(failing('unavailable')));
      await clock.advance(1_000);
      const gate = deferred<string>();
      let reached = 0;
      const calls = Array.from({ length: 50 }, () =>
        outcome(
          breaker.execute(() => {
            reached++;
            return gate.promise;
          }),
        ),
      );
      await flush();
      expect(reached).toBe(halfOpenMaxProbes);
      gate.resolve('ok');
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.value === 'ok')).toHaveLength(halfOpenMaxProbes);
      expect(results.filter((r) => r.error?.kind === 'circuit_open')).toHaveLength(50 - halfOpenMaxProbes);
      expect(breaker.state).toBe('closed');
    });
  }

  it('a probe the caller cancelled frees its slot without deciding', async () => {
    const clock = new ManualClock();
    const breaker = createCircuitBreaker({ failureThreshold: 1, recoveryTimeoutMs: 1_000 }, { clock });
    await outcome(breaker.execute(failing('unavailable')));
    await clock.advance(1_000);
    const controller = new AbortController();
    const probe = outcome(breaker.execute(() => new Promise(() => {}), { signal: controller.signal }));
    await flush();
    controller.abort();
    expect((await probe).error?.kind).toBe('cancelled');
    expect(breaker.state).toBe('half_open');
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('is seen by every attempt of a retried call, and circuit_open is not retried', async () => {
    const clock = new ManualClock();
    const pipeline = createPipeline({
      clock,
      retry: { maxAttempts: 10, initialDelayMs: 0 },
      circuitBreaker: { failureThreshold: 3, recoveryTimeoutMs: 60_000 },
    });
    let calls = 0;
    const result = await outcome(
      pipeline.execute(
        'things.get',
        async () => {
          calls++;
          throw fail('unavailable');
        },
        { retrySafe: true },
      ),
    );
    expect(calls).toBe(3);
    expect(result.error?.kind).toBe('circuit_open');
    expect(pipeline.breakerState()).toBe('open');
  });

  it('shares an open state through a store, so another process opens too', async () => {
    const clock = new ManualClock();
    const store = createMemoryStore({ clock });
    const options = { failureThreshold: 1, recoveryTimeoutMs: 30_000, syncIntervalMs: 0 };
    const a = createCircuitBreaker(options, { clock, store, key: 't1/acme' });
    const b = createCircuitBreaker(options, { clock, store, key: 't1/acme' });
    const other = createCircuitBreaker(options, { clock, store, key: 't2/acme' });
    await outcome(a.execute(failing('unavailable')));
    expect(a.state).toBe('open');
    const result = await outcome(b.execute(ok));
    expect(result.error?.kind).toBe('circuit_open');
    expect(b.state).toBe('open');
    expect(await other.execute(ok)).toBe('ok');
  });

  it('reads a shared store at most once per syncIntervalMs, and survives a store that fails', async () => {
    const clock = new ManualClock();
    let reads = 0;
    const broken: StateStore = {
      takeToken: () => 0,
      availableTokens: () => 1,
      getBreaker: async (): Promise<SharedBreakerState | undefined> => {
        reads++;
        throw new Error('store down');
      },
      setBreaker: async () => {
        throw new Error('store down');
      },
    };
    const breaker = createCircuitBreaker({ failureThreshold: 1, syncIntervalMs: 1_000 }, { clock, store: broken });
    for (let i = 0; i < 5; i++) await breaker.execute(ok);
    expect(reads).toBe(1);
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(reads).toBe(2);
    await outcome(breaker.execute(failing('unavailable')));
    expect(breaker.state).toBe('open');
  });

  it('rejects bad options naming the field', () => {
    expect(() => createCircuitBreaker({ failureRateThreshold: 2 })).toThrow(/failureRateThreshold/);
    expect(() => createCircuitBreaker({ halfOpenMaxProbes: 0 })).toThrow(/halfOpenMaxProbes/);
  });
});
