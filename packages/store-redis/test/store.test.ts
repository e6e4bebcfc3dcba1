import { IntegrationError, type SharedBreakerState, type TokenBucketSpec } from '@integrations/core';
import { createPipeline } from '@integrations/core/policies';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../src/index.js';
import {
  crc16,
  deleteKeys,
  eventually,
  keySlot,
  MAIN_REDIS_URL,
  requireMainRedis,
  scanKeys,
  serverTime,
  testPrefix,
} from './helpers/redis.js';

const available = await requireMainRedis();
const prefix = testPrefix('store');

/** Never refills within a test: every token taken is one of the capacity. */
const NO_REFILL = 1e-12;

describe.skipIf(!available)('RedisStore against a live Redis', () => {
  let a: RedisStore;
  let b: RedisStore;
  let admin: Redis;

  beforeAll(async () => {
    a = createRedisStore({ url: MAIN_REDIS_URL, keyPrefix: prefix });
    b = createRedisStore({ url: MAIN_REDIS_URL, keyPrefix: prefix });
    admin = new Redis(MAIN_REDIS_URL);
    expect(await a.ready()).toBe(true);
    expect(await b.ready()).toBe(true);
    await eventually('both stores subscribed to breaker announcements', () => a.status.pushing && b.status.pushing);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await deleteKeys(MAIN_REDIS_URL, prefix);
    admin?.disconnect();
  });

  it('takes tokens until the bucket is empty, then answers with the wait for the next one', async () => {
    const spec: TokenBucketSpec = { capacity: 3, refillPerMs: 1 / 60_000 };
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await a.takeToken('t1/basic', spec));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    // Less than one token left: the wait is what the missing fraction takes to refill, at most one token's time.
    expect(waits[3]).toBeGreaterThan(0);
    expect(waits[3]).toBeLessThanOrEqual(60_000);
    const left = await b.availableTokens('t1/basic', spec);
    expect(left).toBeGreaterThanOrEqual(0);
    expect(left).toBeLessThan(1);
    // An untouched bucket is full.
    expect(await a.availableTokens('t1/untouched', spec)).toBe(3);
  });

  it("counts refills on the server's clock and stores the tokens with the server time they were counted at", async () => {
    const spec: TokenBucketSpec = { capacity: 5, refillPerMs: NO_REFILL };
    const before = await serverTime(admin);
    expect(await a.takeToken('t1/clock', spec)).toBe(0);
    const after = await serverTime(admin);
    const [bucketKey] = await scanKeys(admin, `${prefix}{t1/clock}`);
    const stored = await admin.hgetall(bucketKey!);
    expect(Number(stored.tokens)).toBeCloseTo(4, 6);
    expect(Number(stored.at)).toBeGreaterThanOrEqual(before);
    expect(Number(stored.at)).toBeLessThanOrEqual(after);
  });

  it('never hands out more than the capacity when many calls race over two connections', async () => {
    const spec: TokenBucketSpec = { capacity: 25, refillPerMs: NO_REFILL };
    const takes = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).takeToken('t1/race', spec));
    const waits = await Promise.all(takes);
    expect(waits.filter((w) => w === 0)).toHaveLength(25);
    expect(waits.filter((w) => w > 0)).toHaveLength(175);
  });

  it('never hands out more than capacity plus what refilled meanwhile, under sustained racing', async () => {
    const spec: TokenBucketSpec = { capacity: 10, refillPerMs: 0.05 };
    const before = await serverTime(admin);
    let accepted = 0;
    let rounds = 0;
    // A few hundred ms of waves of concurrent takes from both connections.
    while (rounds < 30) {
      rounds++;
      const waves = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).takeToken('t1/sustained', spec)),
      );
      accepted += waves.filter((w) => w === 0).length;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const after = await serverTime(admin);
    const ceiling = spec.capacity + spec.refillPerMs * (after - before);
    expect(accepted).toBeGreaterThanOrEqual(spec.capacity);
    expect(accepted).toBeLessThanOrEqual(Math.floor(ceiling + 1e-9));
  });

  it('lets an idle bucket expire once it would be full again', async () => {
    const slow: TokenBucketSpec = { capacity: 5, refillPerMs: 0.001 };
    await a.takeToken('t1/expiry-slow', slow);
    const [slowKey] = await scanKeys(admin, `${prefix}{t1/expiry-slow}`);
    const ttl = await admin.pttl(slowKey!);
    // One token short: full again after 1 / 0.001 = 1000 ms.
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_001);

    const fast: TokenBucketSpec = { capacity: 2, refillPerMs: 0.05 };
    await a.takeToken('t1/expiry-fast', fast);
    const [fastKey] = await scanKeys(admin, `${prefix}{t1/expiry-fast}`);
    expect(fastKey).toBeDefined();
    await eventually('the idle bucket is gone', async () => (await admin.exists(fastKey!)) === 0);
    // Gone means full.
    expect(await b.availableTokens('t1/expiry-fast', fast)).toBe(2);
  });

  it('lets breaker state expire after the TTL it was written with, on every replica', async () => {
    const open: SharedBreakerState = { state: 'open', openUntil: Date.now() + 60_000 };
    // b reads first, so it holds the key in its cache and must drop it by itself.
    expect(await b.getBreaker('t1/breaker-ttl')).toBeUndefined();
    await a.setBreaker('t1/breaker-ttl', open, 500);
    const [key] = await scanKeys(admin, `${prefix}{t1/breaker-ttl}`);
    const ttl = await admin.pttl(key!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(500);
    await eventually(
      'b hears the breaker opened',
      () => (b.getBreaker('t1/breaker-ttl') as SharedBreakerState)?.state === 'open',
    );
    await eventually('the key expired in Redis', async () => (await admin.exists(key!)) === 0);
    expect(b.getBreaker('t1/breaker-ttl')).toBeUndefined();
    expect(await a.getBreaker('t1/breaker-ttl')).toBeUndefined();
  });

  it('shows a breaker written by one store to the other, pushed and then answered from memory', async () => {
    const key = 't1/breaker-push';
    const first = b.getBreaker(key);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBeUndefined();
    // Known now: later reads cost no round trip.
    expect(b.getBreaker(key)).toBeUndefined();

    const open: SharedBreakerState = { state: 'open', openUntil: Date.now() + 30_000 };
    await a.setBreaker(key, open, 30_000);
    await eventually('b sees the breaker open', () => {
      const seen = b.getBreaker(key);
      return !(seen instanceof Promise) && seen?.state === 'open';
    });
    expect(b.getBreaker(key)).toEqual(open);

    await a.setBreaker(key, { state: 'closed', openUntil: 0 }, 30_000);
    await eventually('b sees it closed again', () => (b.getBreaker(key) as SharedBreakerState)?.state === 'closed');
  });

  it("opens a pipeline's breaker in one process when another process's breaker opened", async () => {
    const key = 'acme/payments';
    const breaker = { failureThreshold: 2, recoveryTimeoutMs: 30_000, syncIntervalMs: 0 };
    const first = createPipeline({ circuitBreaker: breaker, retry: false, store: a, key });
    const second = createPipeline({ circuitBreaker: breaker, retry: false, store: b, key });
    let reached = 0;
    const healthy = async () => {
      reached++;
      return 'ok';
    };
    // The second pipeline runs once while all is well, so it is reading the shared state already.
    expect(await second.execute('op', healthy, { retrySafe: true })).toBe('ok');

    const failing = async () => {
      throw new IntegrationError('unavailable', 'provider down');
    };
    for (let i = 0; i < 2; i++) {
      await expect(first.execute('op', failing, { retrySafe: true })).rejects.toMatchObject({ kind: 'unavailable' });
    }
    expect(first.breakerState()).toBe('open');
    await eventually('b heard of the open breaker', () => (b.getBreaker(key) as SharedBreakerState)?.state === 'open');

    reached = 0;
    await expect(second.execute('op', healthy, { retrySafe: true })).rejects.toMatchObject({ kind: 'circuit_open' });
    expect(reached).toBe(0);
    expect(second.breakerState()).toBe('open');
  });

  it('waits for the first connection instead of falling back while it is being made', async () => {
    const fresh = createRedisStore({ url: MAIN_REDIS_URL, keyPrefix: prefix, onUnavailable: 'reject' });
    try {
      expect(fresh.status.state).toBe('connecting');
      const taken = fresh.takeToken('t1/fresh', { capacity: 1, refillPerMs: NO_REFILL });
      expect(taken).toBeInstanceOf(Promise);
      expect(await taken).toBe(0);
      expect(await fresh.takeToken('t1/fresh', { capacity: 1, refillPerMs: NO_REFILL })).toBeGreaterThan(0);
      expect(fresh.status.state).toBe('up');
    } finally {
      await fresh.close();
    }
  });

  it('works through a client the application passes in, and leaves it open on close', async () => {
    const client = new Redis(MAIN_REDIS_URL);
    const store = createRedisStore({ client, keyPrefix: prefix });
    try {
      expect(await store.ready()).toBe(true);
      const spec: TokenBucketSpec = { capacity: 2, refillPerMs: NO_REFILL };
      expect(await store.takeToken('t1/own-client', spec)).toBe(0);
      // Same bucket as the stores with their own connections.
      expect(await a.takeToken('t1/own-client', spec)).toBe(0);
      expect(await b.takeToken('t1/own-client', spec)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('keeps every key of one tenant/integration in one cluster slot', async () => {
    // The checksum itself, against the vectors in the Redis Cluster specification.
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(keySlot('bar{hash_tag}'));

    const logical = ['acme/stripe', 'globex:eu/stripe', 'we{ir}d/name', 'a%7Bb/x'];
    const spec: TokenBucketSpec = { capacity: 5, refillPerMs: 0.001 };
    for (const key of logical) {
      await a.takeToken(`slots-${key}`, spec);
      await a.setBreaker(`slots-${key}`, { state: 'open', openUntil: Date.now() + 10_000 }, 10_000);
    }
    const keys = await scanKeys(admin, `${prefix}{slots-`);
    expect(keys).toHaveLength(logical.length * 2);
    const tags = new Map<string, Set<number>>();
    for (const key of keys) {
      // One hash tag per key, and nothing in the logical key can add a second brace.
      expect(key.split('{')).toHaveLength(2);
      expect(key.split('}')).toHaveLength(2);
      const tag = key.slice(key.indexOf('{') + 1, key.indexOf('}'));
      const slots = tags.get(tag) ?? new Set<number>();
      slots.add(keySlot(key));
      tags.set(tag, slots);
    }
    // Each logical key (escaped where it had braces or %) has its own tag, and all of its keys share one slot.
    expect([...tags.keys()].sort()).toEqual(
      ['slots-acme/stripe', 'slots-globex:eu/stripe', 'slots-we%7Bir%7Dd/name', 'slots-a%257Bb/x'].sort(),
    );
    for (const [tag, slots] of tags) {
      expect(slots.size).toBe(1);
      expect([...slots][0]).toBe(crc16(Buffer.from(tag)) & 0x3fff);
    }
  });
});
