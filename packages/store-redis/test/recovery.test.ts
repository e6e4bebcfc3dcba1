import type { SharedBreakerState, TokenBucketSpec } from '@integrations/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore, type StoreStateChange } from '../src/index.js';
import { eventually, freePort, isPortOpen, OwnRedisServer, requireRedisServerBinary } from './helpers/redis.js';

const available = requireRedisServerBinary();
const NO_REFILL = 1e-12;

describe.skipIf(!available)('outage and recovery on a Redis of our own', () => {
  let server: OwnRedisServer;
  const changes = new Map<string, StoreStateChange[]>();
  const stores: Record<'local' | 'alsoLocal' | 'reject', RedisStore> = {} as never;
  const types = (name: string) => (changes.get(name) ?? []).map((c) => c.type);

  beforeAll(async () => {
    server = new OwnRedisServer(await freePort());
    await server.start();
    for (const [name, mode] of [
      ['local', 'local'],
      ['alsoLocal', 'local'],
      ['reject', 'reject'],
    ] as const) {
      const list: StoreStateChange[] = [];
      changes.set(name, list);
      stores[name] = createRedisStore({
        url: server.url,
        keyPrefix: 'outage:',
        onUnavailable: mode,
        commandTimeoutMs: 200,
        onStateChange: (change) => list.push(change),
      });
    }
    for (const store of Object.values(stores)) expect(await store.ready()).toBe(true);
    await eventually('every store subscribed', () => Object.values(stores).every((s) => s.status.pushing));
  });

  afterAll(async () => {
    await Promise.all(Object.values(stores).map((store) => store.close()));
    await server?.dispose();
  });

  it('shares one bucket, degrades per mode when Redis stops, and shares again once it is back', async () => {
    const { local, alsoLocal, reject } = stores;
    const spec: TokenBucketSpec = { capacity: 3, refillPerMs: NO_REFILL };
    expect(await local.takeToken('acme/crm', spec)).toBe(0);
    expect(await alsoLocal.takeToken('acme/crm', spec)).toBe(0);
    expect(await reject.takeToken('acme/crm', spec)).toBe(0);
    expect(await local.takeToken('acme/crm', spec)).toBeGreaterThan(0);

    await server.stop();
    await eventually('every store noticed', () =>
      ['local', 'alsoLocal', 'reject'].every((name) => types(name).includes('store:unavailable')),
    );
    for (const name of ['local', 'alsoLocal', 'reject']) {
      expect(changes.get(name)?.[0]).toMatchObject({ type: 'store:unavailable' });
    }

    // Each "local" store now has a full bucket of its own; the "reject" store turns calls away.
    for (const store of [local, alsoLocal]) {
      expect(store.status.state).toBe('down');
      expect([0, 1, 2, 3].map(() => store.takeToken('acme/crm', spec))).toEqual([0, 0, 0, expect.any(Number)]);
    }
    expect(() => reject.takeToken('acme/crm', spec)).toThrow(expect.objectContaining({ kind: 'rate_limited' }));
    local.setBreaker('acme/crm', { state: 'open', openUntil: Date.now() + 5_000 }, 5_000);
    expect(local.getBreaker('acme/crm')).toMatchObject({ state: 'open' });
    expect(alsoLocal.getBreaker('acme/crm')).toBeUndefined();

    await server.start();
    await eventually(
      'every store recovered',
      () => ['local', 'alsoLocal', 'reject'].every((name) => types(name).includes('store:recovered')),
      15_000,
    );
    for (const name of ['local', 'alsoLocal', 'reject']) {
      expect(types(name)).toEqual(['store:unavailable', 'store:recovered']);
      const recovered = changes.get(name)?.[1];
      expect(recovered?.type === 'store:recovered' && recovered.downMs).toBeGreaterThan(0);
    }

    // The restarted Redis is empty: one fresh shared bucket again, and the "reject" store takes tokens again.
    const after: TokenBucketSpec = { capacity: 2, refillPerMs: NO_REFILL };
    expect(await reject.takeToken('acme/after', after)).toBe(0);
    expect(await local.takeToken('acme/after', after)).toBe(0);
    expect(await alsoLocal.takeToken('acme/after', after)).toBeGreaterThan(0);

    // Breaker announcements flow again once the subscriptions are back.
    await eventually('subscriptions restored', () => Object.values(stores).every((s) => s.status.pushing));
    expect(await alsoLocal.getBreaker('acme/after')).toBeUndefined();
    const open: SharedBreakerState = { state: 'open', openUntil: Date.now() + 10_000 };
    await local.setBreaker('acme/after', open, 10_000);
    await eventually('the other store sees the breaker', () => {
      const seen = alsoLocal.getBreaker('acme/after');
      return !(seen instanceof Promise) && seen?.state === 'open';
    });
  });

  it('treats a stalled Redis (connection open, no answers) as unavailable and notices when it answers again', async () => {
    const { local, reject } = stores;
    const before = { local: types('local').length, reject: types('reject').length };
    const spec: TokenBucketSpec = { capacity: 5, refillPerMs: NO_REFILL };
    server.pause();
    try {
      // The command times out after 200 ms and the call is answered by the fallback; a PING that times out too
      // then makes the whole store fall back.
      expect(await local.takeToken('acme/stall', spec)).toBe(0);
      await expect(reject.takeToken('acme/stall', spec)).rejects.toMatchObject({
        kind: 'rate_limited',
        code: 'store_unavailable',
      });
      await eventually('both stores fell back', () => local.status.state === 'down' && reject.status.state === 'down');
      expect(local.status.reason).toBe('Command timed out');
      // Answered at once now, without waiting for Redis.
      expect(local.takeToken('acme/stall', spec)).toBe(0);
      expect(() => reject.takeToken('acme/stall', spec)).toThrow(expect.objectContaining({ kind: 'rate_limited' }));
      expect(await isPortOpen(server.port)).toBe(true);
    } finally {
      server.resume();
    }
    await eventually('both stores recovered from the stall', () =>
      (['local', 'reject'] as const).every((name) => types(name).slice(before[name]).includes('store:recovered')),
    );
    expect(types('local').slice(before.local)).toEqual(['store:unavailable', 'store:recovered']);
    expect(await reject.takeToken('acme/stall', spec)).toBe(0);
  });

  it('answers one late reply by the fallback without calling Redis unavailable', async () => {
    const changes: StoreStateChange[] = [];
    const store = createRedisStore({
      url: server.url,
      keyPrefix: 'outage:',
      onUnavailable: 'reject',
      commandTimeoutMs: 300,
      onStateChange: (change) => changes.push(change),
    });
    try {
      expect(await store.ready()).toBe(true);
      const spec: TokenBucketSpec = { capacity: 5, refillPerMs: NO_REFILL };
      server.pause();
      try {
        await expect(store.takeToken('acme/late', spec)).rejects.toMatchObject({ code: 'store_unavailable' });
      } finally {
        // Back before the confirming PING (sent when the command timed out) times out itself.
        server.resume();
      }
      expect(await store.takeToken('acme/late', spec)).toBe(0);
      // Past the PING's own timeout: it was answered, so nothing was declared.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(store.status.state).toBe('up');
      expect(changes).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
