import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.js';
import { configSchema, field } from '../src/config-schema.js';
import { type ConnectorContext, defineConnector, IntegrationType } from '../src/contract.js';
import { IntegrationError, kindFromNetworkError, kindFromStatus } from '../src/errors.js';
import type { IntegrationEvents } from '../src/events.js';
import { createRegistry, type IntegrationConfig, type Registry } from '../src/registry.js';

/** A clock that never moves: rate-limit buckets do not refill and breakers do not recover during a test. */
class FrozenClock implements Clock {
  private nextId = 1;
  private readonly timers = new Set<number>();
  now(): number {
    return 1_000;
  }
  setTimeout(): unknown {
    const id = this.nextId++;
    this.timers.add(id);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
}

/** One provider serving two tenants' accounts, told apart by API key; each account can be made to fail. */
const failing = new Set<string>();
const hits = new Map<string, number>();
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const key = (req.headers.authorization ?? '').replace('Bearer ', '');
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const status = failing.has(key) ? 503 : 200;
    const body = status === 200 ? { account: key, path: req.url } : { error: 'overloaded' };
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const contexts: ConnectorContext[] = [];

const catalog = defineConnector({
  id: 'catalog',
  displayName: 'Catalog',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '1.0.0',
  config: configSchema({ baseUrl: field.url(), apiKey: field.secret() }),
  operations: { 'records.get': { idempotent: true } },
  mapError(error) {
    const status = (error as { status?: number }).status;
    if (status) return new IntegrationError(kindFromStatus(status), `provider answered ${status}`, { status });
    return new IntegrationError(kindFromNetworkError(error) ?? 'internal', String(error), { cause: error });
  },
  create(config, ctx) {
    contexts.push(ctx);
    const get = async (path: string, signal: AbortSignal) => {
      const res = await fetch(`${config.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${config.apiKey}` },
        signal,
      });
      const body = (await res.json()) as { account?: string };
      if (!res.ok) throw Object.assign(new Error('request failed'), { status: res.status });
      return body;
    };
    return {
      client: { account: config.apiKey.slice(0, 4) },
      records: { get: (id: string) => ctx.call('records.get', ({ signal }) => get(`/records/${id}`, signal)) },
      async healthCheck({ signal }: { signal: AbortSignal }) {
        await get('/health', signal);
        return undefined;
      },
    };
  },
});

const A = 'tenant_a';
const B = 'tenant_b';
const KEY_A = 'key-tenant-a-0001';
const KEY_B = 'key-tenant-b-0002';

function config(apiKey: string, extra: Omit<Partial<IntegrationConfig>, 'config'> = {}) {
  return {
    name: 'catalog_main',
    retry: false as const,
    healthCheck: false as const,
    ...extra,
    config: { baseUrl, apiKey },
  };
}

let registry: Registry;

beforeEach(() => {
  failing.clear();
  hits.clear();
  contexts.length = 0;
});

afterEach(async () => {
  await registry.close();
});

describe('tenant isolation', () => {
  it('gives each tenant its own instance, config and context', async () => {
    registry = createRegistry();
    registry.register(catalog, config(KEY_A), { tenant: A });
    registry.register(catalog, config(KEY_B), { tenant: B });
    await registry.enableAll();
    const a = registry.get<typeof catalog>('catalog_main', { tenant: A });
    const b = registry.get<typeof catalog>('catalog_main', { tenant: B });
    expect(a).not.toBe(b);
    expect(a.client).not.toBe(b.client);
    expect([a.tenant, b.tenant]).toEqual([A, B]);
    expect(contexts.map((c) => c.tenant).sort()).toEqual([A, B]);
    await expect(a.records.get('1')).resolves.toMatchObject({ account: KEY_A });
    await expect(b.records.get('1')).resolves.toMatchObject({ account: KEY_B });

    await registry.disable('catalog_main', { tenant: A });
    expect(a.status).toBe('disabled');
    expect(b.status).toBe('healthy');
    await expect(b.records.get('2')).resolves.toMatchObject({ account: KEY_B });
  });

  it("opening tenant A's breaker leaves tenant B's closed", async () => {
    registry = createRegistry();
    const transitions: IntegrationEvents['breaker:state'][] = [];
    registry.events.on('breaker:state', (event) => transitions.push(event));
    const breaker = { circuitBreaker: { failureThreshold: 2, recoveryTimeoutMs: 60_000 } };
    const a = registry.register(catalog, config(KEY_A, breaker), { tenant: A });
    const b = registry.register(catalog, config(KEY_B, breaker), { tenant: B });
    await registry.enableAll();

    failing.add(KEY_A);
    await expect(a.records.get('1')).rejects.toMatchObject({ kind: 'unavailable', tenant: A });
    await expect(a.records.get('2')).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(a.records.get('3')).rejects.toMatchObject({ kind: 'circuit_open', tenant: A });
    // Two calls plus the health check reached the provider; the third call was stopped by the breaker.
    expect(hits.get(KEY_A)).toBe(3);

    await expect(b.records.get('1')).resolves.toMatchObject({ account: KEY_B });
    const states = Object.fromEntries(registry.summary().integrations.map((i) => [i.tenant, i.breaker]));
    expect(states).toEqual({ [A]: 'open', [B]: 'closed' });
    expect(transitions.map((t) => [t.tenant, t.to])).toEqual([[A, 'open']]);
  });

  it("exhausting tenant A's rate limit leaves tenant B's untouched", async () => {
    registry = createRegistry({ clock: new FrozenClock() });
    const limit = { rateLimit: { requestsPerMinute: 1, burst: 2, maxWaitMs: 0 } };
    const a = registry.register(catalog, config(KEY_A, limit), { tenant: A });
    const b = registry.register(catalog, config(KEY_B, limit), { tenant: B });
    await registry.enableAll();

    await a.records.get('1');
    await a.records.get('2');
    await expect(a.records.get('3')).rejects.toMatchObject({ kind: 'rate_limited', tenant: A });
    const headroom = () =>
      Object.fromEntries(registry.summary().integrations.map((i) => [i.tenant, i.rateLimitHeadroom]));
    expect(headroom()).toEqual({ [A]: 0, [B]: 2 });

    await b.records.get('1');
    await b.records.get('2');
    expect(headroom()).toEqual({ [A]: 0, [B]: 0 });
    expect(hits.get(KEY_B)).toBe(3);
  });

  it("applies one tenant's overrides to its integrations only", async () => {
    registry = createRegistry({ clock: new FrozenClock(), tenants: { [A]: { rateLimit: { burst: 1 } } } });
    const limit = { rateLimit: { requestsPerMinute: 60, burst: 3, maxWaitMs: 0 } };
    const a = registry.register(catalog, config(KEY_A, limit), { tenant: A });
    const b = registry.register(catalog, config(KEY_B, limit), { tenant: B });
    await registry.enableAll();
    await a.records.get('1');
    await expect(a.records.get('2')).rejects.toMatchObject({ kind: 'rate_limited' });
    await b.records.get('1');
    await b.records.get('2');
    expect(registry.summary({ tenant: B }).integrations[0]?.rateLimitHeadroom).toBe(1);
  });

  it("get, list and summary for tenant A never return tenant B's integrations", async () => {
    registry = createRegistry();
    registry.register(catalog, config(KEY_A), { tenant: A });
    registry.register(catalog, config(KEY_B, { name: 'b_private_catalog' }), { tenant: B });
    await registry.enableAll();
    await registry.get<typeof catalog>('b_private_catalog', { tenant: B }).records.get('9');

    expect(registry.has('b_private_catalog', { tenant: A })).toBe(false);
    let error: unknown;
    try {
      registry.get('b_private_catalog', { tenant: A });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ kind: 'not_found', tenant: A });
    expect(JSON.stringify(error)).not.toContain(B);
    expect((error as Error).message).toBe(
      'no integration "b_private_catalog" is registered for tenant "tenant_a"; registered: catalog_main',
    );

    expect(registry.list({ tenant: A }).map((i) => [i.name, i.tenant])).toEqual([['catalog_main', A]]);
    const summary = registry.summary({ tenant: A });
    expect(summary.total).toBe(1);
    expect(summary.successRate).toBeNull();
    const text = JSON.stringify(summary);
    expect(text).not.toContain(B);
    expect(text).not.toContain('b_private_catalog');
    expect(registry.summary({ tenant: 'tenant_c' })).toMatchObject({ total: 0, integrations: [] });
    expect(registry.summary().total).toBe(2);
    expect(registry.tenants().sort()).toEqual([A, B]);
  });

  it('stamps every event with the tenant it happened in', async () => {
    registry = createRegistry();
    const seen: string[] = [];
    registry.events.on('call:success', (event) => seen.push(`${event.tenant}:${event.operation}`));
    registry.events.on('call:failure', (event) => seen.push(`${event.tenant}:${event.operation}:${event.error.kind}`));
    const a = registry.register(catalog, config(KEY_A), { tenant: A });
    const b = registry.register(catalog, config(KEY_B), { tenant: B });
    await registry.enableAll();
    failing.add(KEY_B);
    await a.records.get('1');
    await b.records.get('1').catch(() => undefined);
    expect(seen).toEqual([`${A}:records.get`, `${B}:records.get:unavailable`]);
  });
});
