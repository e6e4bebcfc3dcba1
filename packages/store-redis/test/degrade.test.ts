import { IntegrationError, InvalidConfigError, type TokenBucketSpec } from '@integrations/core';
import { createPipeline } from '@integrations/core/policies';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore, type StoreStateChange } from '../src/index.js';
import { freePort } from './helpers/redis.js';

/** Nothing listens on a port the OS just handed out and took back: every connection is refused. */
async function closedPortUrl(auth = ''): Promise<string> {
  return `redis://${auth}127.0.0.1:${await freePort()}`;
}

const spec: TokenBucketSpec = { capacity: 2, refillPerMs: 1e-12 };
const stores: RedisStore[] = [];

function track(store: RedisStore): { store: RedisStore; changes: StoreStateChange[] } {
  const changes: StoreStateChange[] = [];
  store.onStateChange((change) => changes.push(change));
  stores.push(store);
  return { store, changes };
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

describe('with Redis unreachable', () => {
  it('"local": answers from an in-process bucket, synchronously, and says Redis is unavailable', async () => {
    const changes: StoreStateChange[] = [];
    const store = createRedisStore({
      url: await closedPortUrl(),
      onUnavailable: 'local',
      onStateChange: (change) => changes.push(change),
    });
    stores.push(store);
    expect(await store.ready()).toBe(false);
    expect(store.status).toMatchObject({ state: 'down', mode: 'local', pushing: false });
    expect(store.status.reason).toMatch(/ECONNREFUSED/);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ type: 'store:unavailable', mode: 'local' });

    // The memory store's own arithmetic: no promise, no wait.
    expect(store.takeToken('acme/crm', spec)).toBe(0);
    expect(store.takeToken('acme/crm', spec)).toBe(0);
    expect(store.takeToken('acme/crm', spec)).toBeGreaterThan(0);
    expect(store.availableTokens('acme/crm', spec)).toBeLessThan(1);
    // Buckets stay per key.
    expect(store.takeToken('acme/other', spec)).toBe(0);

    store.setBreaker('acme/crm', { state: 'open', openUntil: Date.now() + 1_000 }, 1_000);
    expect(store.getBreaker('acme/crm')).toMatchObject({ state: 'open' });
  });

  it('"local": a pipeline keeps limiting calls on its own', async () => {
    const { store } = track(createRedisStore({ url: await closedPortUrl(), onUnavailable: 'local' }));
    await store.ready();
    const pipeline = createPipeline({
      rateLimit: { requestsPerMinute: 1, burst: 2, maxWaitMs: 0 },
      retry: false,
      store,
      key: 'acme/crm',
    });
    let reached = 0;
    const call = () =>
      pipeline.execute(
        'op',
        async () => {
          reached++;
          return 'ok';
        },
        { retrySafe: true },
      );
    expect(await call()).toBe('ok');
    expect(await call()).toBe('ok');
    await expect(call()).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(reached).toBe(2);
  });

  it('"reject": takes no token (rate_limited, code store_unavailable) while breakers keep working locally', async () => {
    const { store, changes } = track(createRedisStore({ url: await closedPortUrl(), onUnavailable: 'reject' }));
    expect(await store.ready()).toBe(false);
    expect(changes.map((c) => c.type)).toEqual(['store:unavailable']);

    let thrown: unknown;
    try {
      store.takeToken('acme/crm', spec);
    } catch (error) {
      thrown = error;
    }
    expect(IntegrationError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ kind: 'rate_limited', code: 'store_unavailable', retryable: false });
    expect((thrown as Error).message).toMatch(/onUnavailable is "reject"/);
    expect(store.availableTokens('acme/crm', spec)).toBe(0);

    store.setBreaker('acme/crm', { state: 'open', openUntil: Date.now() + 1_000 }, 1_000);
    expect(store.getBreaker('acme/crm')).toMatchObject({ state: 'open' });
  });

  it('"reject": a pipeline turns every call away with rate_limited before it reaches the provider', async () => {
    const { store } = track(createRedisStore({ url: await closedPortUrl(), onUnavailable: 'reject' }));
    await store.ready();
    const pipeline = createPipeline({
      rateLimit: { requestsPerMinute: 600, burst: 10 },
      circuitBreaker: { failureThreshold: 1 },
      retry: { maxAttempts: 3, initialDelayMs: 1 },
      store,
      key: 'acme/crm',
    });
    let reached = 0;
    const call = () =>
      pipeline.execute(
        'op',
        async () => {
          reached++;
          return 'ok';
        },
        { retrySafe: true },
      );
    await expect(call()).rejects.toMatchObject({ kind: 'rate_limited', code: 'store_unavailable' });
    await expect(call()).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(reached).toBe(0);
    // The store's refusal says nothing about the provider: the breaker stays closed.
    expect(pipeline.breakerState()).toBe('closed');
  });

  it('never puts the password of the Redis URL in reasons, status or errors', async () => {
    const password = 'hunter2-very-secret';
    const { store, changes } = track(
      createRedisStore({ url: await closedPortUrl(`:${password}@`), onUnavailable: 'reject' }),
    );
    await store.ready();
    let message = '';
    try {
      store.takeToken('acme/crm', spec);
    } catch (error) {
      message = (error as Error).message;
    }
    const seen = JSON.stringify({ changes, status: store.status, message });
    expect(seen).not.toContain(password);
    expect(seen).toContain('ECONNREFUSED');

    let invalid: unknown;
    try {
      createRedisStore({ url: `http://:${password}@127.0.0.1:1` });
    } catch (error) {
      invalid = error;
    }
    expect(invalid).toBeInstanceOf(InvalidConfigError);
    expect(
      JSON.stringify({ message: (invalid as Error).message, issues: (invalid as InvalidConfigError).issues }),
    ).not.toContain(password);
  });
});

describe('options', () => {
  const issuesOf = (options: Parameters<typeof createRedisStore>[0]) => {
    try {
      createRedisStore(options);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      return (error as InvalidConfigError).issues;
    }
    throw new Error('expected an InvalidConfigError');
  };

  it('names each option that is wrong', () => {
    expect(issuesOf({})).toEqual([{ path: 'url', message: 'is required (or pass an ioredis client as client)' }]);
    expect(issuesOf({ url: 'http://127.0.0.1:6379' })).toEqual([
      { path: 'url', message: 'must be a redis:// or rediss:// URL' },
    ]);
    expect(
      issuesOf({
        url: 'redis://127.0.0.1:1',
        keyPrefix: 'app{1}:',
        onUnavailable: 'queue' as 'local',
        commandTimeoutMs: 0,
        connectTimeoutMs: Number.NaN,
      }).map((issue) => issue.path),
    ).toEqual(['keyPrefix', 'onUnavailable', 'commandTimeoutMs', 'connectTimeoutMs']);
    expect(issuesOf({ client: {} as never }).map((issue) => issue.path)).toEqual(['client']);
  });
});
