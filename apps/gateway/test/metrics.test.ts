import { Readable } from 'node:stream';
import { getMetricsFromStream, type PromMetric } from 'prom2javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/index.js';
import { bearer, gatewayFrom, type ProbeServer, probe, startProbeServer, type TempDir, tempDir } from './support.js';

const ADMIN = 'metrics-admin-key-0123456789';
const ACME = 'metrics-acme-key-0123456789';
const GLOBEX = 'metrics-globex-key-012345678';

const CONFIG = `
server:
  adminApiKey: "\${ADMIN_KEY}"
defaults:
  healthCheck: { intervalMs: 600000 }
integrations:
  billing:
    connector: probe
    config: { baseUrl: "\${UP_URL}", token: probe-token-0123456789 }
    retry: { maxAttempts: 2, initialDelayMs: 1, jitter: none }
    circuitBreaker: { failureThreshold: 2, recoveryTimeoutMs: 600000 }
  limited:
    connector: probe
    config: { baseUrl: "\${UP_URL}", token: probe-token-0123456789 }
    rateLimit: { requestsPerMinute: 1, burst: 1, maxWaitMs: 0 }
tenants:
  acme:
    apiKeys: ["\${ACME_KEY}"]
    integrations: [billing, limited]
  globex:
    apiKeys: ["\${GLOBEX_KEY}"]
    integrations: [billing]
`;

interface Sample {
  labels: Record<string, string>;
  value?: number;
  buckets?: Record<string, number>;
  count?: number;
  sum?: number;
}
type Family = PromMetric;

let dir: TempDir;
let server: ProbeServer;
let gateway: Gateway;

async function scrape(key: string, tenant?: string): Promise<Map<string, Family>> {
  const response = await gateway.app.inject({
    method: 'GET',
    url: '/integrations/metrics',
    headers: { ...bearer(key), ...(tenant ? { 'x-tenant-id': tenant } : {}) },
  });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  // prom-client writes NaN (as `Nan`) for event-loop lag before it has samples; the format allows it but the
  // parser does not. Only the process metrics may be NaN: an integration series never is.
  const lines = response.body.split('\n');
  const nan = lines.filter((line) => /^[^#].* (NaN|Nan)$/.test(line));
  for (const line of nan) expect(line).toMatch(/^integrations_gateway_nodejs_eventloop_lag/);
  const text = lines.filter((line) => !nan.includes(line)).join('\n');
  // A strict parser: malformed lines, labels or histograms (buckets not ending at +Inf = count) throw.
  const families = await getMetricsFromStream(Readable.from([text]));
  return new Map(Object.entries(families));
}

function sample(family: Family | undefined, labels: Record<string, string>): Sample | undefined {
  const samples = (family?.data ?? []) as Sample[];
  return samples.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
}

beforeAll(async () => {
  dir = await tempDir();
  server = await startProbeServer();
  const file = await dir.write('metrics.yaml', CONFIG);
  gateway = await gatewayFrom(file, {
    env: { ADMIN_KEY: ADMIN, ACME_KEY: ACME, GLOBEX_KEY: GLOBEX, UP_URL: server.url },
    connectors: { probe },
  });
  await gateway.enable();

  // Real traffic through the registry's pipeline: successes, a retried failure, a breaker trip, a rate limit.
  const acmeBilling = gateway.registry.get<typeof probe>('billing', { tenant: 'acme' });
  await acmeBilling.ping();
  await acmeBilling.ping();
  await acmeBilling.charge();
  server.mode = 'down';
  await expect(acmeBilling.ping()).rejects.toMatchObject({ kind: 'unavailable' });
  await expect(acmeBilling.ping()).rejects.toMatchObject({ kind: 'circuit_open' });
  server.mode = 'ok';
  const limited = gateway.registry.get<typeof probe>('limited', { tenant: 'acme' });
  await limited.ping();
  await expect(limited.ping()).rejects.toMatchObject({ kind: 'rate_limited' });
  await gateway.registry.get<typeof probe>('billing', { tenant: 'globex' }).ping();
});

afterAll(async () => {
  await gateway?.close();
  await server?.close();
  await dir?.remove();
});

describe('GET /integrations/metrics', () => {
  it('is valid Prometheus text with the documented families', async () => {
    const families = await scrape(ADMIN);
    expect(families.get('integrations_call_duration_seconds')?.type).toBe('histogram');
    expect(families.get('integrations_calls_total')?.type).toBe('counter');
    expect(families.get('integrations_retries_total')?.type).toBe('counter');
    expect(families.get('integrations_rate_limit_rejections_total')?.type).toBe('counter');
    expect(families.get('integrations_circuit_breaker_state')?.type).toBe('gauge');
    expect(families.get('integrations_health_status')?.type).toBe('gauge');
    expect(families.get('integrations_rate_limit_headroom')?.type).toBe('gauge');
    expect(families.get('integrations_gateway_process_cpu_seconds_total')?.type).toBe('counter');
  });

  it('counts calls by final outcome and observes every attempt', async () => {
    const families = await scrape(ACME);
    const calls = families.get('integrations_calls_total');
    const labels = { tenant: 'acme', integration: 'billing', provider: 'probe' };
    expect(sample(calls, { ...labels, operation: 'ping', outcome: 'success' })?.value).toBe(2);
    expect(sample(calls, { ...labels, operation: 'charge', outcome: 'success' })?.value).toBe(1);
    // The failed ping was retried once (two attempts, one call); the next was refused by the open breaker.
    expect(sample(calls, { ...labels, operation: 'ping', outcome: 'unavailable' })?.value).toBe(1);
    expect(sample(calls, { ...labels, operation: 'ping', outcome: 'circuit_open' })?.value).toBe(1);
    const retries = families.get('integrations_retries_total');
    expect(sample(retries, { ...labels, operation: 'ping' })?.value).toBe(1);

    const duration = families.get('integrations_call_duration_seconds');
    const ok = sample(duration, { ...labels, operation: 'ping', outcome: 'success' });
    expect(ok?.count).toBe(2);
    expect(Number(ok?.sum)).toBeGreaterThan(0);
    expect(ok?.buckets?.['+Inf']).toBe(2);
    expect(sample(duration, { ...labels, operation: 'ping', outcome: 'unavailable' })?.count).toBe(2);
  });

  it('reports breaker state, health and rate-limit rejections per integration', async () => {
    const families = await scrape(ACME);
    const billing = { tenant: 'acme', integration: 'billing', provider: 'probe' };
    const breaker = families.get('integrations_circuit_breaker_state');
    expect(sample(breaker, { ...billing, state: 'open' })?.value).toBe(1);
    expect(sample(breaker, { ...billing, state: 'closed' })?.value).toBe(0);
    const health = families.get('integrations_health_status');
    expect(sample(health, { ...billing, status: 'healthy' })?.value).toBe(1);
    expect(sample(health, { ...billing, status: 'unhealthy' })?.value).toBe(0);
    const rejections = families.get('integrations_rate_limit_rejections_total');
    expect(sample(rejections, { tenant: 'acme', integration: 'limited', operation: 'ping' })?.value).toBe(1);
    const headroom = families.get('integrations_rate_limit_headroom');
    expect(sample(headroom, { tenant: 'acme', integration: 'limited' })?.value).toBe(0);
  });

  it("gives each tenant its own series only, and the admin everyone's", async () => {
    const tenantsIn = (families: Map<string, Family>) =>
      new Set([...families.values()].flatMap((f) => (f.data as Sample[]).map((m) => m.labels.tenant).filter(Boolean)));
    expect(tenantsIn(await scrape(ACME))).toEqual(new Set(['acme']));
    expect(tenantsIn(await scrape(GLOBEX))).toEqual(new Set(['globex']));
    expect(tenantsIn(await scrape(ADMIN))).toEqual(new Set(['acme', 'globex']));
    expect(tenantsIn(await scrape(ADMIN, 'globex'))).toEqual(new Set(['globex']));

    const globex = await scrape(GLOBEX);
    const calls = globex.get('integrations_calls_total');
    expect(calls?.data).toHaveLength(1);
    expect(sample(calls, { integration: 'billing', operation: 'ping', outcome: 'success' })?.value).toBe(1);
    expect(globex.has('integrations_gateway_process_cpu_seconds_total')).toBe(false);
    // The admin's totals are the sum of the tenants'.
    const all = (await scrape(ADMIN)).get('integrations_calls_total');
    expect(sample(all, { tenant: 'globex', integration: 'billing', outcome: 'success' })?.value).toBe(1);
    expect(sample(all, { tenant: 'acme', integration: 'billing', operation: 'ping', outcome: 'success' })?.value).toBe(
      2,
    );
  });

  it('follows health changes from the periodic checks', async () => {
    server.mode = 'down';
    try {
      await gateway.registry.get('billing', { tenant: 'globex' }).healthCheck();
      const health = (await scrape(GLOBEX)).get('integrations_health_status');
      const labels = { tenant: 'globex', integration: 'billing' };
      expect(sample(health, { ...labels, status: 'unhealthy' })?.value).toBe(1);
      expect(sample(health, { ...labels, status: 'healthy' })?.value).toBe(0);
    } finally {
      server.mode = 'ok';
    }
  });
});
