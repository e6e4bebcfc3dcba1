import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@integrations/config';
import { InvalidConfigError } from '@integrations/core';
import { MemoryStore } from '@integrations/core/policies';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreFromConfig, RedisStore } from '../src/index.js';
import { deleteKeys, MAIN_REDIS_URL, requireMainRedis, testPrefix } from './helpers/redis.js';

const available = await requireMainRedis();
const dir = mkdtempSync(join(tmpdir(), 'store-redis-config-'));
const prefix = testPrefix('config');

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (available) await deleteKeys(MAIN_REDIS_URL, prefix);
});

async function load(yaml: string, env: Record<string, string> = {}) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env, environment: 'test', connectors: {} });
}

describe('createStoreFromConfig', () => {
  it.skipIf(!available)('builds the Redis store that server.store of a config file describes', async () => {
    // The URL comes through a ${REDIS_URL} reference, as a deployment writes it.
    const yaml = `server:
  store:
    kind: redis
    url: $\{REDIS_URL}
    keyPrefix: "${prefix}"
    onUnavailable: reject
`;
    const config = await load(yaml, { REDIS_URL: MAIN_REDIS_URL });
    const configured = createStoreFromConfig(config.server.store);
    try {
      expect(configured.kind).toBe('redis');
      expect(configured.store).toBeInstanceOf(RedisStore);
      expect(await configured.ready()).toBe(true);
      const store = configured.store as RedisStore;
      expect(store.mode).toBe('reject');
      expect(store.keyPrefix).toBe(prefix);
      expect(await store.takeToken('acme/crm', { capacity: 1, refillPerMs: 1e-12 })).toBe(0);
      expect(await store.takeToken('acme/crm', { capacity: 1, refillPerMs: 1e-12 })).toBeGreaterThan(0);
    } finally {
      await configured.close();
    }
    expect((configured.store as RedisStore).status.state).toBe('closed');
  });

  it("gives core's memory store for kind: memory, the config's default", async () => {
    const config = await load('server:\n  port: 8080\n');
    expect(config.server.store).toEqual({ kind: 'memory' });
    const configured = createStoreFromConfig(config.server.store);
    expect(configured.kind).toBe('memory');
    expect(configured.store).toBeInstanceOf(MemoryStore);
    expect(await configured.ready()).toBe(true);
    await configured.close();
  });

  it('names what is wrong with the path it has in the config file', () => {
    const issues = (settings: unknown) => {
      try {
        createStoreFromConfig(settings as never);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidConfigError);
        return (error as InvalidConfigError).issues.map((issue) => issue.path);
      }
      throw new Error('expected an InvalidConfigError');
    };
    expect(issues({ kind: 'redis', url: 'http://127.0.0.1:6379' })).toEqual(['server.store.url']);
    expect(issues({ kind: 'redis', url: 'redis://127.0.0.1:1', keyPrefix: '{x}' })).toEqual(['server.store.keyPrefix']);
    expect(issues({ kind: 'postgres' })).toEqual(['server.store.kind']);
  });
});
