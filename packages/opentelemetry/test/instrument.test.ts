import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  configSchema,
  defineConnector,
  field,
  IntegrationError,
  kindFromStatus,
  type Registry,
} from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instrument } from '../src/index.js';

// A real HTTP stand-in: /ok answers 200, /fail answers 503 (so the pipeline retries and the breaker counts it).
let server: Server;
let baseUrl: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(req.url === '/ok' ? 200 : 503, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const pinger = defineConnector({
  id: 'pinger',
  displayName: 'Pinger',
  type: 'external_api',
  category: 'testing',
  version: '1.0.0',
  config: configSchema({ baseUrl: field.url(), token: field.secret() }),
  operations: { ping: { idempotent: true } },
  mapError: (error) =>
    IntegrationError.isInstance(error)
      ? error
      : new IntegrationError('unavailable', 'request failed', { cause: error }),
  create(config, ctx) {
    const get = async (path: string, signal: AbortSignal) => {
      const response = await fetch(`${config.baseUrl}${path}`, { signal });
      await response.arrayBuffer();
      if (!response.ok) throw new IntegrationError(kindFromStatus(response.status), `HTTP ${response.status}`);
    };
    return {
      client: null,
      ping: (path: string) => ctx.call('ping', ({ signal }) => get(path, signal)),
      healthCheck: async ({ signal }) => {
        await get('/ok', signal);
        return {};
      },
    };
  },
});

let spans: InMemorySpanExporter;
let metricExporter: InMemoryMetricExporter;
let meterProvider: MeterProvider;
let registry: Registry;
let detach: () => void;

beforeEach(async () => {
  spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
  meterProvider = new MeterProvider({ readers: [reader] });
  registry = createRegistry();
  detach = instrument(registry, { tracerProvider, meterProvider });
  registry.register(
    pinger,
    {
      name: 'pinger_main',
      config: { baseUrl, token: 'otel-canary-secret-1234' },
      retry: { maxAttempts: 2, initialDelayMs: 1 },
      circuitBreaker: { failureThreshold: 2, recoveryTimeoutMs: 60_000 },
    },
    { tenant: 'acme' },
  );
  await registry.enableAll();
});
afterEach(async () => {
  detach();
  await registry.close();
  await meterProvider.shutdown();
});

async function collect(): Promise<ResourceMetrics> {
  await meterProvider.forceFlush();
  const all = metricExporter.getMetrics();
  return all[all.length - 1]!;
}

function metric(resource: ResourceMetrics, name: string) {
  return resource.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

describe('instrument', () => {
  it('records a span and duration per attempt, with tenant, integration and outcome', async () => {
    const handle = registry.get<typeof pinger>('pinger_main', { tenant: 'acme' });
    await handle.ping('/ok');
    await expect(handle.ping('/fail')).rejects.toMatchObject({ kind: 'unavailable' });

    const finished = spans.getFinishedSpans();
    expect(
      finished.map((s) => [s.name, s.attributes['integration.outcome'], s.attributes['integration.attempt']]),
    ).toEqual([
      ['pinger ping', 'success', 1],
      ['pinger ping', 'failure', 1],
      ['pinger ping', 'failure', 2],
    ]);
    const failed = finished[2]!;
    expect(failed.attributes).toMatchObject({
      'integration.tenant': 'acme',
      'integration.name': 'pinger_main',
      'integration.provider': 'pinger',
      'error.type': 'unavailable',
      'integration.will_retry': false,
    });
    expect(failed.status.code).toBe(2);

    const resource = await collect();
    const calls = metric(resource, 'integration.calls')!;
    const byOutcome = Object.fromEntries(
      calls.dataPoints.map((p) => [String(p.attributes['integration.outcome']), p.value]),
    );
    expect(byOutcome).toEqual({ success: 1, failure: 2 });
    const duration = metric(resource, 'integration.call.duration')!;
    expect(duration.descriptor.unit).toBe('s');
    expect(metric(resource, 'integration.retries')!.dataPoints[0]?.value).toBe(1);
  });

  it('reports breaker state and health as gauges', async () => {
    const handle = registry.get<typeof pinger>('pinger_main', { tenant: 'acme' });
    await handle.ping('/fail').catch(() => {});
    await expect(handle.ping('/fail')).rejects.toMatchObject({ kind: 'circuit_open' });
    const resource = await collect();
    const breaker = metric(resource, 'integration.breaker.state')!;
    expect(breaker.dataPoints.map((p) => [p.attributes['integration.name'], p.value])).toEqual([['pinger_main', 2]]);
  });

  it('never exports a secret', async () => {
    const handle = registry.get<typeof pinger>('pinger_main', { tenant: 'acme' });
    await handle.ping('/fail').catch(() => {});
    const text = JSON.stringify(spans.getFinishedSpans().map((s) => ({ a: s.attributes, e: s.events, st: s.status })));
    expect(text).not.toContain('otel-canary-secret-1234');
  });

  it('stops recording once detached', async () => {
    detach();
    await registry.get<typeof pinger>('pinger_main', { tenant: 'acme' }).ping('/ok');
    expect(spans.getFinishedSpans()).toHaveLength(0);
  });
});
