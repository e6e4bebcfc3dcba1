import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema, field } from '../src/config-schema.js';
import { type CallOptions, type ConnectorContext, defineConnector, IntegrationType } from '../src/contract.js';
import { IntegrationError, kindFromNetworkError, kindFromStatus } from '../src/errors.js';
import { createRegistry, type Registry } from '../src/registry.js';
import { ManualClock } from './policies/manual-clock.js';

/** A provider that throttles `/throttled` (Retry-After: 60 s), never answers `/hang`, and answers `/ok`. */
let server: Server;
let baseUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/hang') return;
    if (req.url === '/throttled') {
      res.writeHead(429, { 'retry-after': '60', 'content-type': 'application/json' }).end('{"error":"slow down"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`provider answered ${status}`);
  }
}

const contexts: ConnectorContext[] = [];

const probe = defineConnector({
  id: 'probe',
  displayName: 'Probe',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '1.0.0',
  config: configSchema({ baseUrl: field.url() }),
  operations: { 'things.get': { idempotent: true } },
  mapError(error) {
    if (error instanceof HttpError) {
      return new IntegrationError(kindFromStatus(error.status), error.message, {
        status: error.status,
        retryAfterMs: error.retryAfterMs,
      });
    }
    return new IntegrationError(kindFromNetworkError(error) ?? 'internal', String(error), { cause: error });
  },
  create(config, ctx) {
    contexts.push(ctx);
    return {
      client: {},
      things: {
        get: (path: string, options?: CallOptions) =>
          ctx.call(
            'things.get',
            async ({ signal }) => {
              const res = await fetch(`${config.baseUrl}${path}`, { signal });
              if (!res.ok) {
                const retryAfter = res.headers.get('retry-after');
                throw new HttpError(res.status, retryAfter ? Number(retryAfter) * 1_000 : undefined);
              }
              return (await res.json()) as unknown;
            },
            options,
          ),
      },
      healthCheck: async () => undefined,
    };
  },
});

let registry: Registry;

afterEach(async () => {
  vi.restoreAllMocks();
  await registry.close();
  requests.length = 0;
  contexts.length = 0;
});

async function started(clock?: ManualClock) {
  registry = createRegistry(clock ? { clock } : {});
  registry.register(probe, {
    name: 'probe',
    config: { baseUrl },
    retry: { maxAttempts: 3, initialDelayMs: 1 },
    // No attempt timeout: the only timers are the ones a test looks for, and a hanging call hangs until cancelled.
    timeoutMs: false,
    healthCheck: false,
  });
  await registry.enableAll();
  return registry.get<typeof probe>('probe');
}

describe('ctx.call', () => {
  it('waits out a Retry-After within the budget, and fails at once when it would outlast totalTimeoutMs', async () => {
    const clock = new ManualClock();
    const handle = await started(clock);
    // No budget: the Retry-After wait is scheduled.
    const patient = handle.things.get('/throttled').catch((error: unknown) => error);
    await vi.waitFor(() => expect(clock.nextAt).toBe(1_000 + 60_000));
    expect(requests).toEqual(['/throttled']);
    await clock.advance(60_000);
    await vi.waitFor(() => expect(requests).toEqual(['/throttled', '/throttled']));
    await vi.waitFor(() => expect(clock.nextAt).toBe(1_000 + 120_000));

    // A 5 s budget: the 60 s wait is not started, the call fails with what it has.
    requests.length = 0;
    const error = await handle.things.get('/throttled', { totalTimeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 60_000, operation: 'things.get' });
    expect(requests).toEqual(['/throttled']);
    await clock.advance(120_000);
    expect(await patient).toMatchObject({ kind: 'rate_limited' });
  });

  it('cancels calls in flight when the integration closes, with or without a caller signal', async () => {
    const handle = await started();
    const caller = new AbortController();
    const bare = handle.things.get('/hang').catch((error: unknown) => error);
    const withSignal = handle.things.get('/hang', { signal: caller.signal }).catch((error: unknown) => error);
    await vi.waitFor(() => expect(requests).toEqual(['/hang', '/hang']));
    await registry.disable('probe');
    expect(await bare).toMatchObject({ kind: 'cancelled', operation: 'things.get' });
    expect(await withSignal).toMatchObject({ kind: 'cancelled', operation: 'things.get' });
    expect(caller.signal.aborted).toBe(false);
  });

  it("combines the caller's signal with the integration's without AbortSignal.any or a listener per call", async () => {
    const handle = await started();
    const any = vi.spyOn(AbortSignal, 'any');
    const callers = Array.from({ length: 20 }, () => new AbortController());
    const calls = callers.map((c) => handle.things.get('/hang', { signal: c.signal }).catch((e: unknown) => e));
    await vi.waitFor(() => expect(requests).toHaveLength(20));
    // One listener on the integration's signal for all 20 calls, one on each caller's.
    expect(getEventListeners(contexts[0]!.signal, 'abort')).toHaveLength(1);
    expect(callers.every((c) => getEventListeners(c.signal, 'abort').length === 1)).toBe(true);
    callers[3]!.abort(new Error('user went away'));
    expect(await calls[3]).toMatchObject({
      kind: 'cancelled',
      cause: expect.objectContaining({ message: 'user went away' }),
    });
    await registry.disable('probe');
    const results = await Promise.all(calls);
    expect(results.every((r) => (r as IntegrationError).kind === 'cancelled')).toBe(true);
    expect(any).not.toHaveBeenCalled();
    expect(getEventListeners(contexts[0]!.signal, 'abort')).toHaveLength(0);
  });

  it('a call after its caller aborted, or after the integration closed, never reaches the provider', async () => {
    const handle = await started();
    expect(await handle.things.get('/ok')).toEqual({ ok: true });
    const error = await handle.things.get('/ok', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'cancelled' });
    const get = handle.things.get;
    await registry.disable('probe');
    await expect(get('/ok')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(requests).toEqual(['/ok']);
  });
});
