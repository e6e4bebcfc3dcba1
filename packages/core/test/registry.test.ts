import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { Clock } from '../src/clock.js';
import { configSchema, field } from '../src/config-schema.js';
import {
  type CallOptions,
  type ConnectorContext,
  defineConnector,
  type HealthReport,
  IntegrationStatus,
  IntegrationType,
} from '../src/contract.js';
import { IntegrationError, InvalidConfigError, kindFromNetworkError, kindFromStatus } from '../src/errors.js';
import type { IntegrationEvents } from '../src/events.js';
import type { RateLimitOptions } from '../src/policies/types.js';
import { createRegistry, type Registry } from '../src/registry.js';

/** Time that moves only when the test says so; timers fire in order inside `advance`. */
class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** When each pending timer is due, soonest first. */
  scheduledAt(): number[] {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = target;
  }
}

/** The provider: a real HTTP service on 127.0.0.1 whose health and failures each test steers. */
const service = {
  health: 'ok' as 'ok' | 'degraded' | 'down' | 'hang',
  failCreates: 0,
  healthRequests: 0,
  healthInFlight: 0,
  maxHealthInFlight: 0,
  createRequests: [] as IncomingHttpHeaders[],
  headers: [] as IncomingHttpHeaders[],
  nextId: 1,
};
let server: Server;
let baseUrl: string;

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    service.headers.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      service.healthRequests++;
      service.healthInFlight++;
      service.maxHealthInFlight = Math.max(service.maxHealthInFlight, service.healthInFlight);
      res.on('close', () => service.healthInFlight--);
      if (service.health === 'hang') return;
      if (service.health === 'down') return json(res, 503, { error: 'maintenance' });
      return json(res, 200, { version: '2.4.0', degraded: service.health === 'degraded' });
    }
    const item = /^\/items\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && item) {
      if (item[1] === 'missing') return json(res, 404, { error: 'no such item' });
      return json(res, 200, { id: item[1], name: `item ${item[1]}` });
    }
    if (req.method === 'POST' && url.pathname === '/items') {
      service.createRequests.push(req.headers);
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (service.failCreates > 0) {
          service.failCreates--;
          return json(res, 503, { error: 'try later' });
        }
        json(res, 201, { id: service.nextId++, ...JSON.parse(body) });
      });
      return;
    }
    json(res, 404, { error: 'no route' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the connector under test did, for assertions about the lifecycle. */
const track = { creates: 0, closes: 0, contexts: [] as ConnectorContext[] };

const inventory = defineConnector({
  id: 'inventory',
  displayName: 'Inventory',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '1.0.0',
  config: configSchema({ baseUrl: field.url(), apiKey: field.secret({ minLength: 8 }) }),
  operations: { 'items.get': { idempotent: true }, 'items.create': { idempotent: false } },
  mapError(error) {
    if (error instanceof HttpStatusError) {
      return new IntegrationError(kindFromStatus(error.status), error.message, { status: error.status, cause: error });
    }
    return new IntegrationError(kindFromNetworkError(error) ?? 'internal', String((error as Error).message), {
      cause: error,
    });
  },
  create(config, ctx) {
    track.creates++;
    track.contexts.push(ctx);
    const send = async (method: string, path: string, signal: AbortSignal, body?: unknown, key?: string) => {
      const headers: Record<string, string> = { authorization: `Bearer ${config.apiKey}`, 'user-agent': ctx.userAgent };
      if (key) headers['idempotency-key'] = key;
      if (body) headers['content-type'] = 'application/json';
      const res = await fetch(`${config.baseUrl}${path}`, {
        method,
        headers,
        signal,
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const payload = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new HttpStatusError(res.status, `${method} ${path}: ${String(payload.error)}`);
      return payload;
    };
    return {
      client: { baseUrl: config.baseUrl },
      items: {
        get: (id: string, options?: CallOptions) =>
          ctx.call('items.get', ({ signal }) => send('GET', `/items/${id}`, signal), options),
        create: (name: string, options?: CallOptions) =>
          ctx.call(
            'items.create',
            ({ signal, idempotencyKey }) => send('POST', '/items', signal, { name }, idempotencyKey),
            options,
          ),
      },
      /** Calls an operation the definition does not declare. */
      purge: () => ctx.call('items.purge', async () => 0),
      async healthCheck({ signal }: { signal: AbortSignal }) {
        const body = await send('GET', '/health', signal);
        return { version: body.version, degraded: body.degraded === true };
      },
      close() {
        track.closes++;
      },
    };
  },
});

const settings = { retry: false, circuitBreaker: false, healthCheck: false } as const;

function collect<E extends keyof IntegrationEvents>(registry: Registry, name: E): IntegrationEvents[E][] {
  const seen: IntegrationEvents[E][] = [];
  registry.events.on(name, (event) => seen.push(event));
  return seen;
}

let registries: Registry[] = [];
function newRegistry(options?: Parameters<typeof createRegistry>[0]): Registry {
  const registry = createRegistry(options);
  registries.push(registry);
  return registry;
}

beforeEach(() => {
  Object.assign(service, {
    health: 'ok',
    failCreates: 0,
    healthRequests: 0,
    maxHealthInFlight: 0,
    createRequests: [],
    headers: [],
  });
  Object.assign(track, { creates: 0, closes: 0, contexts: [] });
});

afterEach(async () => {
  await Promise.all(registries.map((r) => r.close()));
  registries = [];
});

describe('registry lifecycle', () => {
  it('registers, starts and calls a connector, as in the quick start', async () => {
    const registry = newRegistry();
    registry.register(inventory, {
      name: 'inventory_main',
      enabled: true,
      config: { baseUrl, apiKey: 'key-12345678' },
      timeoutMs: 5_000,
      retry: { maxAttempts: 3, backoffMultiplier: 2 },
      rateLimit: { requestsPerMinute: 600, burst: 20 },
      circuitBreaker: { failureThreshold: 5, recoveryTimeoutMs: 60_000 },
      healthCheck: false,
    });
    await registry.enableAll();

    const items = registry.get<typeof inventory>('inventory_main');
    expectTypeOf(items.items.get).returns.resolves.toEqualTypeOf<Record<string, unknown>>();
    expect(items.status).toBe(IntegrationStatus.Healthy);
    expect(items.name).toBe('inventory_main');
    expect(items.tenant).toBe('default');
    expect(items.provider).toBe('inventory');
    await expect(items.items.get('42')).resolves.toEqual({ id: '42', name: 'item 42' });
    expect(service.headers.at(-1)?.authorization).toBe('Bearer key-12345678');
    expect(service.headers.at(-1)?.['user-agent']).toMatch(/^@integrations\/inventory\/1\.0\.0 @integrations\/core\//);
    expect(items.client).toEqual({ baseUrl });
  });

  it('reports health with latency, time and details, and follows the provider', async () => {
    const registry = newRegistry();
    const changes = collect(registry, 'health:change');
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    const first = await registry.enable('inv');
    expect(first).toMatchObject({ status: 'healthy', details: { version: '2.4.0', degraded: false } });
    expect(first.latencyMs).toBeGreaterThanOrEqual(0);
    expect(new Date(first.checkedAt).toISOString()).toBe(first.checkedAt);

    service.health = 'degraded';
    expect((await items.healthCheck()).status).toBe('degraded');
    expect(items.status).toBe('degraded');

    service.health = 'down';
    const down = await items.healthCheck();
    expect(down.status).toBe('unhealthy');
    expect(down.error).toEqual({ kind: 'unavailable', message: 'GET /health: maintenance' });

    service.health = 'ok';
    expect((await items.healthCheck()).status).toBe('healthy');
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual([
      'initializing->healthy',
      'healthy->degraded',
      'degraded->unhealthy',
      'unhealthy->healthy',
    ]);
    expect(changes[2]?.error?.kind).toBe('unavailable');
    expect(changes[0]).toMatchObject({ provider: 'inventory', integration: 'inv', tenant: 'default' });
  });

  it('maps provider errors to typed errors stamped with where they happened, and counts them', async () => {
    const registry = newRegistry();
    const failures = collect(registry, 'call:failure');
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    await registry.enableAll();
    const error = await items.items.get('missing').catch((e: unknown) => e);
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'not_found',
      status: 404,
      provider: 'inventory',
      integration: 'inv',
      tenant: 'default',
      operation: 'items.get',
      message: 'GET /items/missing: no such item',
    });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toBe(error);
    await items.items.get('1');
    const [row] = registry.summary().integrations;
    expect(row).toMatchObject({ calls: 2, failures: 1, successRate: 0.5, lastErrorKind: 'not_found' });
  });

  it('rejects a duplicate name in one tenant and allows it in another', () => {
    const registry = newRegistry();
    const config = { name: 'inv', config: { baseUrl, apiKey: 'key-12345678' }, ...settings };
    registry.register(inventory, config);
    const error = (() => {
      try {
        registry.register(inventory, config);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ kind: 'conflict', code: 'duplicate_integration', integration: 'inv' });
    expect((error as Error).message).toBe('integration "inv" is already registered for tenant "default"');
    expect(() => registry.register(inventory, config, { tenant: 'other' })).not.toThrow();
  });

  it('answers get/has/list per tenant; an unknown name is not_found', () => {
    const registry = newRegistry();
    registry.register(inventory, { name: 'a', config: { baseUrl, apiKey: 'key-12345678' }, ...settings });
    registry.register(inventory, { name: 'b', enabled: false, config: { baseUrl, apiKey: 'key-12345678' } });
    expect(registry.has('a')).toBe(true);
    expect(registry.has('zzz')).toBe(false);
    expect(registry.list()).toEqual([
      expect.objectContaining({ name: 'a', status: 'initializing', enabled: true, provider: 'inventory' }),
      expect.objectContaining({ name: 'b', status: 'disabled', enabled: false, category: 'testing' }),
    ]);
    expect(() => registry.get('zzz')).toThrow(
      'no integration "zzz" is registered for tenant "default"; registered: a, b',
    );
    expect(() => registry.get('a', { tenant: 'nobody' })).toThrow(
      expect.objectContaining({ kind: 'not_found', message: 'no integration "a" is registered for tenant "nobody"' }),
    );
    expect(() => registry.get('a', { tenant: 'bad tenant' })).toThrow(/not a valid tenant id/);
  });

  it('refuses malformed settings with one InvalidConfigError naming each field', () => {
    const registry = newRegistry();
    let error: unknown;
    try {
      registry.register(inventory, {
        name: 'has space',
        config: { baseUrl, apiKey: 'key-12345678' },
        timeoutMs: -1,
        retry: { maxAttempts: 0 },
        // @ts-expect-error requestsPerMinute is required
        rateLimit: { burst: 5 },
        healthCheck: { intervalMs: Number.NaN },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).issues.map((i) => i.path)).toEqual([
      'name',
      'timeoutMs',
      'retry.maxAttempts',
      'healthCheck.intervalMs',
    ]);
    const partialLimit = { burst: 5 } as RateLimitOptions;
    expect(() =>
      registry.register(inventory, {
        name: 'rl',
        config: { baseUrl, apiKey: 'key-12345678' },
        rateLimit: partialLimit,
      }),
    ).toThrow('invalid inventory config: rateLimit.requestsPerMinute: is required');
    expect(registry.list()).toEqual([]);
  });

  it("applies the policies' own rules at register time, naming the field", () => {
    const registry = newRegistry();
    const register = (settings: object) => {
      try {
        registry.register(inventory, { name: 'inv', config: { baseUrl, apiKey: 'key-12345678' }, ...settings });
      } catch (error) {
        return error as InvalidConfigError;
      }
      throw new Error('registered');
    };
    const fractional = register({ retry: { maxAttempts: 1.5 }, circuitBreaker: { failureRateThreshold: 2 } });
    expect(fractional).toBeInstanceOf(InvalidConfigError);
    expect(fractional.issues).toEqual([
      { path: 'retry.maxAttempts', message: 'must be an integer >= 1, got 1.5' },
      { path: 'circuitBreaker.failureRateThreshold', message: 'must be a finite number > 0 and <= 1, got 2' },
    ]);
    const jitter = register({ retry: { jitter: 'sometimes' } });
    expect(jitter).toBeInstanceOf(InvalidConfigError);
    expect(jitter).toMatchObject({ provider: 'inventory', tenant: 'default', integration: 'inv' });
    expect(jitter.message).toContain("retry.jitter must be 'full' or 'none', got sometimes");
    expect(registry.list()).toEqual([]);
  });

  it('fails to start on a bad connector config, naming the field, while the others start', async () => {
    const registry = newRegistry();
    const bad = registry.register(inventory, {
      name: 'bad',
      config: { baseUrl: 'nope', apiKey: 'short' },
      ...settings,
    });
    const good = registry.register(inventory, {
      name: 'good',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    const error = await registry.enableAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    const [cause] = (error as AggregateError).errors as InvalidConfigError[];
    expect(cause).toBeInstanceOf(InvalidConfigError);
    expect(cause?.issues.map((i) => i.path)).toEqual(['baseUrl', 'apiKey']);
    expect(cause).toMatchObject({ integration: 'bad', tenant: 'default', provider: 'inventory' });
    expect((error as Error).message).toContain('1 of 2 integrations failed to start: bad (tenant default)');
    expect(bad.status).toBe('unhealthy');
    expect(good.status).toBe('healthy');
    await expect(bad.items.get('1')).rejects.toThrow(
      'integration "bad" (tenant "default") failed to start (invalid_config): invalid inventory config: baseUrl',
    );
    expect((await bad.healthCheck()).error?.kind).toBe('invalid_config');
    expect(track.creates).toBe(1);
  });

  it('makes operations unavailable before start and while disabled, and reaches the new instance after', async () => {
    const registry = newRegistry();
    const items = registry.register(inventory, {
      name: 'inv',
      enabled: false,
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    const other = registry.register(inventory, {
      name: 'other',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    await expect(other.items.get('1')).rejects.toThrow(
      'integration "other" (tenant "default") is not initialized yet: await registry.enableAll()',
    );
    await registry.enableAll();
    expect(items.status).toBe('disabled');
    const error = await items.items.get('1').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', operation: 'items.get', retryable: false });
    expect((error as Error).message).toBe(
      `integration "inv" (tenant "default") is disabled: call registry.enable('inv') first`,
    );
    expect(() => items.client).toThrow(/is disabled/);
    expect((await items.healthCheck()).status).toBe('disabled');

    await registry.enable('inv');
    await expect(items.items.get('7')).resolves.toMatchObject({ id: '7' });
    const firstContext = track.contexts.at(-1);
    await registry.disable('inv');
    expect(firstContext?.signal.aborted).toBe(true);
    expect(items.status).toBe('disabled');
    await expect(items.items.create('x')).rejects.toThrow(/is disabled/);

    await items.close();
    await registry.enable('inv');
    await expect(items.items.get('8')).resolves.toMatchObject({ id: '8' });
    expect(track.contexts.at(-1)).not.toBe(firstContext);
    expect(track.creates).toBe(3);
    expect(track.closes).toBe(1);
  });

  it('a captured operation of a stopped instance cannot reach the provider any more', async () => {
    const registry = newRegistry();
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    await registry.enableAll();
    const get = items.items.get;
    await registry.disable('inv');
    const before = service.headers.length;
    await expect(get('1')).rejects.toThrow('integration "inv" is closed');
    expect(service.headers.length).toBe(before);
  });

  it('rejects a call to an operation the definition does not declare, naming it', async () => {
    const registry = newRegistry();
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    await registry.enableAll();
    await expect(items.purge()).rejects.toThrow(
      expect.objectContaining({
        kind: 'internal',
        message: 'inventory called operation "items.purge", which its definition does not declare in operations',
      }),
    );
  });

  it('retries a non-idempotent operation only when it carries an idempotency key', async () => {
    const registry = newRegistry();
    const retries = collect(registry, 'retry:scheduled');
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      retry: { maxAttempts: 3, initialDelayMs: 1, jitter: 'none' },
      circuitBreaker: false,
      healthCheck: false,
    });
    await registry.enableAll();

    service.failCreates = 1;
    await expect(items.items.create('first')).rejects.toMatchObject({ kind: 'unavailable', status: 503 });
    expect(service.createRequests).toHaveLength(1);

    service.failCreates = 1;
    await expect(items.items.create('second', { idempotencyKey: 'order-77' })).resolves.toMatchObject({
      name: 'second',
    });
    expect(service.createRequests.slice(1).map((h) => h['idempotency-key'])).toEqual(['order-77', 'order-77']);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ operation: 'items.create', attempt: 2, delayMs: 1, tenant: 'default' });
  });

  it('cancels a call when the caller aborts', async () => {
    const registry = newRegistry();
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      ...settings,
    });
    await registry.enableAll();
    const controller = new AbortController();
    controller.abort();
    await expect(items.items.get('1', { signal: controller.signal })).rejects.toMatchObject({ kind: 'cancelled' });
  });

  it('summarises counts, rates, breaker, headroom and health without config values', async () => {
    const registry = newRegistry();
    const items = registry.register(inventory, {
      name: 'inv',
      type: IntegrationType.DataPipeline,
      config: { baseUrl, apiKey: 'key-12345678' },
      rateLimit: { requestsPerMinute: 60, burst: 5 },
      retry: false,
      circuitBreaker: { failureThreshold: 3 },
      healthCheck: false,
      metadata: { owner: 'team-inventory' },
    });
    registry.register(inventory, { name: 'off', enabled: false, config: { baseUrl, apiKey: 'key-12345678' } });
    await registry.enableAll();
    await items.items.get('1');
    await items.items.get('missing').catch(() => undefined);

    const summary = registry.summary();
    expect(summary).toMatchObject({
      total: 2,
      byType: { data_pipeline: 1, external_api: 1 },
      byStatus: { healthy: 1, disabled: 1, degraded: 0, unhealthy: 0, initializing: 0 },
      successRate: 0.5,
    });
    expect(summary.meanLatencyMs).toBeGreaterThanOrEqual(0);
    expect(summary.integrations[0]).toMatchObject({
      name: 'inv',
      tenant: 'default',
      provider: 'inventory',
      displayName: 'Inventory',
      category: 'testing',
      type: 'data_pipeline',
      status: 'healthy',
      breaker: 'closed',
      rateLimitHeadroom: 3,
      calls: 2,
      failures: 1,
      lastErrorKind: 'not_found',
      lastHealth: expect.objectContaining({ status: 'healthy' }),
      metadata: { owner: 'team-inventory' },
    });
    expect(summary.integrations[1]).toMatchObject({ breaker: 'closed', rateLimitHeadroom: null, calls: 0 });
    const text = JSON.stringify(summary);
    expect(text).not.toContain('key-12345678');
    expect(text).not.toContain(baseUrl);
  });

  it('lays tenant overrides over the integration settings and exposes tenant features', async () => {
    const registry = newRegistry({
      tenants: {
        gold: { rateLimit: { burst: 50 }, features: ['webhooks'], sla: { availability: 99.9 } },
        free: { rateLimit: { requestsPerMinute: 6, burst: 1 }, circuitBreaker: false },
      },
    });
    const config = {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      rateLimit: { requestsPerMinute: 600, burst: 10 },
      healthCheck: false,
    } as const;
    for (const tenant of ['gold', 'free', 'default']) registry.register(inventory, config, { tenant });
    const headroom = Object.fromEntries(registry.summary().integrations.map((i) => [i.tenant, i.rateLimitHeadroom]));
    expect(headroom).toEqual({ gold: 50, free: 1, default: 10 });
    expect(registry.summary({ tenant: 'free' }).integrations[0]?.breaker).toBeNull();
    expect(registry.features({ tenant: 'gold' })).toEqual(['webhooks']);
    expect(registry.features()).toEqual([]);
    expect(registry.summary({ tenant: 'gold' }).integrations[0]?.sla).toEqual({ availability: 99.9, met: null });
    expect(registry.summary({ tenant: 'free' }).integrations[0]?.sla).toBeNull();
    expect(() =>
      createRegistry({
        tenants: { t: { retry: { maxAttempts: -2 }, features: 'beta' as never, sla: { availability: 120 } } },
      }),
    ).toThrow(
      'invalid registry config: tenants.t.retry.maxAttempts: must be a positive finite number; tenants.t.features: must be an array of strings; tenants.t.sla.availability: must be a positive number (availability ≤ 100)',
    );
  });
  it("judges each integration against its tenant's service level", async () => {
    const registry = newRegistry({ tenants: { acme: { sla: { availability: 99, latencyMs: 60_000 } } } });
    const items = registry.register(
      inventory,
      { name: 'inv', config: { baseUrl, apiKey: 'key-12345678' }, ...settings },
      {
        tenant: 'acme',
      },
    );
    await registry.enableAll();
    await items.items.get('1');
    expect(registry.summary().integrations[0]?.sla).toEqual({ availability: 99, latencyMs: 60_000, met: true });
    await items.items.get('missing').catch(() => undefined);
    expect(registry.summary().integrations[0]?.sla?.met).toBe(false);
  });
});

describe('health checks on an interval', () => {
  async function started(clock: ManualClock, intervalMs = 1_000, timeoutMs = 500) {
    const registry = newRegistry({ clock });
    const changes = collect(registry, 'health:change');
    const items = registry.register(inventory, {
      name: 'inv',
      config: { baseUrl, apiKey: 'key-12345678' },
      retry: false,
      healthCheck: { intervalMs, timeoutMs },
    });
    await registry.enableAll();
    return { registry, items, changes };
  }

  it('checks again each interval and follows the provider', async () => {
    const clock = new ManualClock();
    const { items, changes } = await started(clock);
    expect(service.healthRequests).toBe(1);
    expect(clock.scheduledAt()).toEqual([1_000]);

    clock.advance(999);
    expect(service.healthRequests).toBe(1);
    clock.advance(1);
    // The next check is scheduled only once this one has finished.
    await vi.waitFor(() => expect(clock.scheduledAt()).toEqual([2_000]));
    expect(service.healthRequests).toBe(2);

    service.health = 'down';
    clock.advance(1_000);
    await vi.waitFor(() => expect(items.status).toBe('unhealthy'));
    expect(changes.at(-1)).toMatchObject({ from: 'healthy', to: 'unhealthy', error: { kind: 'unavailable' } });
  });

  it('never overlaps checks and times a hanging one out on its own timeout', async () => {
    const clock = new ManualClock();
    const { items } = await started(clock, 1_000, 5_000);
    service.health = 'hang';
    clock.advance(1_000);
    await vi.waitFor(() => expect(service.healthInFlight).toBe(1));
    // More intervals pass while the check hangs: no second check starts, and a manual one joins it.
    const joined = items.healthCheck();
    clock.advance(3_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(service.maxHealthInFlight).toBe(1);
    clock.advance(2_000);
    const report: HealthReport = await joined;
    expect(report.status).toBe('unhealthy');
    expect(report.error).toEqual({ kind: 'timeout', message: 'health check timed out after 5000 ms' });
    expect(items.status).toBe('unhealthy');
    expect(service.healthRequests).toBe(2);
    await vi.waitFor(() => expect(clock.scheduledAt()).toEqual([7_000]));

    service.health = 'ok';
    clock.advance(1_000);
    await vi.waitFor(() => expect(items.status).toBe('healthy'));
  });

  it('retries a failed start on the interval', async () => {
    const clock = new ManualClock();
    let fail = true;
    const flaky = defineConnector({
      ...inventory,
      id: 'flaky',
      create(config, ctx) {
        if (fail) throw new HttpStatusError(503, 'broker not up yet');
        return inventory.create(config, ctx);
      },
    });
    const registry = newRegistry({ clock });
    const items = registry.register(flaky, {
      name: 'flaky',
      config: { baseUrl, apiKey: 'key-12345678' },
      healthCheck: { intervalMs: 1_000 },
    });
    await expect(registry.enable('flaky')).rejects.toMatchObject({ kind: 'unavailable', message: 'broker not up yet' });
    expect(items.status).toBe('unhealthy');
    fail = false;
    clock.advance(1_000);
    await vi.waitFor(() => expect(items.status).toBe('healthy'));
    await expect(items.items.get('3')).resolves.toMatchObject({ id: '3' });
  });

  it('close stops every timer and closes each instance exactly once, idempotently', async () => {
    const clock = new ManualClock();
    const { registry, items } = await started(clock);
    registry.register(inventory, {
      name: 'second',
      config: { baseUrl, apiKey: 'key-12345678' },
      healthCheck: { intervalMs: 700 },
    });
    await registry.enable('second');
    expect(clock.pending).toBeGreaterThan(0);
    const contexts = [...track.contexts];

    const first = registry.close();
    expect(registry.close()).toBe(first);
    await first;
    await registry.close();
    expect(track.closes).toBe(2);
    expect(contexts.every((ctx) => ctx.signal.aborted)).toBe(true);
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(service.healthRequests).toBe(2);
    expect(items.status).toBe('disabled');
    await expect(items.items.get('1')).rejects.toThrow('is closed: the registry was closed');
    expect(() => registry.register(inventory, { name: 'late', config: { baseUrl, apiKey: 'key-12345678' } })).toThrow(
      'cannot register: the registry is closed',
    );
    await expect(registry.enableAll()).rejects.toThrow('cannot enable: the registry is closed');
  });

  it('closes an instance whose create finished after the integration was disabled', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineConnector({
      ...inventory,
      id: 'slow',
      async create(config, ctx) {
        await gate;
        return inventory.create(config, ctx);
      },
    });
    const registry = newRegistry();
    const items = registry.register(slow, { name: 'slow', config: { baseUrl, apiKey: 'key-12345678' }, ...settings });
    const starting = registry.enable('slow');
    const stopping = registry.disable('slow');
    release();
    await Promise.all([starting, stopping]);
    expect(track.creates).toBe(1);
    expect(track.closes).toBe(1);
    expect(items.status).toBe('disabled');
    expect(service.healthRequests).toBe(0);
  });

  it('disable then enable while create runs: the last call wins and one instance runs', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineConnector({
      ...inventory,
      id: 'slow',
      async create(config, ctx) {
        await gate;
        return inventory.create(config, ctx);
      },
    });
    const registry = newRegistry();
    const items = registry.register(slow, { name: 'slow', config: { baseUrl, apiKey: 'key-12345678' }, ...settings });
    const first = registry.enable('slow');
    const stopping = registry.disable('slow');
    const second = registry.enable('slow');
    release();
    await Promise.all([first, stopping]);
    expect((await second).status).toBe('healthy');
    expect(items.status).toBe('healthy');
    await expect(items.items.get('5')).resolves.toMatchObject({ id: '5' });
    expect(track.creates).toBe(2);
    expect(track.closes).toBe(1);
  });

  it('a handle is never thenable', async () => {
    const registry = newRegistry();
    const handle = registry.register(inventory, { name: 'inv', config: { baseUrl, apiKey: 'key-12345678' } });
    expect(await Promise.resolve(handle)).toBe(handle);
    expect('then' in handle).toBe(false);
    expect('healthCheck' in handle).toBe(true);
  });
});
