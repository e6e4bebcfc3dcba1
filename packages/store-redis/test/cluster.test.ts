/**
 * A real three-node Redis Cluster of the test's own: the hash tags must keep every script on one slot (Redis
 * refuses a script whose keys span slots with CROSSSLOT), and breaker announcements must reach subscribers
 * connected to other nodes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SharedBreakerState, TokenBucketSpec } from '@integrations/core';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, keyNames, type RedisStore } from '../src/index.js';
import { eventually, freePort, keySlot, OwnRedisServer, requireRedisServerBinary } from './helpers/redis.js';

const available = requireRedisServerBinary();
const run = promisify(execFile);

describe.skipIf(!available)('on a Redis Cluster', () => {
  const nodes: OwnRedisServer[] = [];
  const clients: Cluster[] = [];
  let a: RedisStore;
  let b: RedisStore;
  let probe: Redis;

  const cluster = () =>
    new Cluster(
      nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
      { enableOfflineQueue: false, redisOptions: { commandTimeout: 2_000, maxRetriesPerRequest: 0 } },
    );

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      nodes.push(
        new OwnRedisServer(await freePort(), ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']),
      );
    }
    await Promise.all(nodes.map((node) => node.start()));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    probe = new Redis(nodes[0]!.url);
    await eventually(
      'the cluster is up',
      async () => (await probe.cluster('INFO')).includes('cluster_state:ok'),
      20_000,
    );
    for (let i = 0; i < 2; i++) clients.push(cluster());
    a = createRedisStore({ client: clients[0]!, keyPrefix: 'c:' });
    b = createRedisStore({ client: clients[1]!, keyPrefix: 'c:' });
    expect(await a.ready()).toBe(true);
    expect(await b.ready()).toBe(true);
    await eventually('both stores subscribed', () => a.status.pushing && b.status.pushing, 20_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    for (const client of clients) client.disconnect();
    probe?.disconnect();
    await Promise.all(nodes.map((node) => node.dispose()));
  });

  it('puts every key of a tenant/integration in the slot the hash tag names, as Redis itself computes it', async () => {
    for (const key of ['acme/crm', 'globex:eu/stripe', 'we{ir}d/x', 'tenant-42/payments']) {
      const names = keyNames('c:', key);
      const slots = await Promise.all([names.bucket, names.breaker].map((name) => probe.cluster('KEYSLOT', name)));
      expect(new Set(slots).size).toBe(1);
      expect(slots[0]).toBe(keySlot(names.bucket));
    }
  });

  it('takes tokens atomically on whichever node owns the key, with no CROSSSLOT', async () => {
    const spec: TokenBucketSpec = { capacity: 12, refillPerMs: 1e-12 };
    // Tags chosen to land on more than one node.
    const keys = Array.from({ length: 6 }, (_, i) => `tenant-${i}/crm`);
    const ranges = await probe.cluster('SLOTS');
    const ownerOf = (slot: number) => ranges.find(([low, high]) => slot >= low && slot <= high)?.[2]?.[1];
    const owners = new Set(keys.map((key) => ownerOf(keySlot(keyNames('c:', key).bucket))));
    expect(owners.size).toBeGreaterThan(1);
    for (const key of keys) {
      const waits = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).takeToken(key, spec)));
      expect(waits.filter((w) => w === 0)).toHaveLength(12);
    }
    expect(a.status.state).toBe('up');
  });

  it('carries a breaker opened through one node to a store subscribed through another', async () => {
    const open: SharedBreakerState = { state: 'open', openUntil: Date.now() + 30_000 };
    for (const key of ['tenant-1/crm', 'tenant-4/crm']) {
      expect(await b.getBreaker(key)).toBeUndefined();
      await a.setBreaker(key, open, 30_000);
      await eventually(`b sees ${key} open`, () => {
        const seen = b.getBreaker(key);
        return !(seen instanceof Promise) && seen?.state === 'open';
      });
    }
  });
});
