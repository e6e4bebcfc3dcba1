import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/index.js';
import {
  bearer,
  gatewayFrom,
  LogSink,
  type ProbeServer,
  probe,
  startProbeServer,
  type TempDir,
  tempDir,
} from './support.js';

const ADMIN = 'admin-key-0123456789abcdef';
const ACME = 'acme-key-0123456789abcdef';
const GLOBEX = 'globex-key-0123456789abcd';
const TOKEN = 'probe-token-s3cr3t-value';

const CONFIG = `
server:
  adminApiKey: \${ADMIN_KEY}
defaults:
  healthCheck: { intervalMs: 600000 }
  retry: false
integrations:
  billing:
    connector: probe
    config: { baseUrl: "\${UP_URL}", token: "\${PROBE_TOKEN}" }
    rateLimit: { requestsPerMinute: 60, burst: 5 }
    metadata: { team: payments }
  search:
    connector: probe
    config: { baseUrl: "\${DOWN_URL}", token: "\${PROBE_TOKEN}" }
  shared:
    connector: probe
    config: { baseUrl: "\${UP_URL}", token: "\${PROBE_TOKEN}" }
tenants:
  acme:
    apiKeys: ["\${ACME_KEY}"]
    integrations: [billing, shared]
  globex:
    apiKeys: ["\${GLOBEX_KEY}"]
    integrations: [search, shared]
`;

let dir: TempDir;
let up: ProbeServer;
let down: ProbeServer;
let gateway: Gateway;
const logs = new LogSink();

beforeAll(async () => {
  dir = await tempDir();
  [up, down] = await Promise.all([startProbeServer(), startProbeServer()]);
  down.mode = 'down';
  const file = await dir.write('gateway.yaml', CONFIG);
  gateway = await gatewayFrom(file, {
    env: {
      ADMIN_KEY: ADMIN,
      ACME_KEY: ACME,
      GLOBEX_KEY: GLOBEX,
      PROBE_TOKEN: TOKEN,
      UP_URL: up.url,
      DOWN_URL: down.url,
    },
    connectors: { probe },
    logs,
  });
  await gateway.enable();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([up?.close(), down?.close()]);
  await dir?.remove();
});

const get = (url: string, headers: Record<string, string> = {}) => gateway.app.inject({ method: 'GET', url, headers });

describe('authentication', () => {
  const protectedRoutes = [
    '/integrations/health',
    '/integrations/health/billing',
    '/integrations/status',
    '/integrations/metrics',
  ];

  it.each(protectedRoutes)('%s answers 401 with one body for a missing, a wrong and a malformed key', async (url) => {
    const missing = await get(url);
    const wrong = await get(url, bearer('not-a-key-0123456789abcdef'));
    const wrongHeader = await get(url, { 'x-api-key': 'also-not-a-key-0123456789' });
    const malformed = await get(url, { authorization: `Basic ${Buffer.from(`x:${ADMIN}`).toString('base64')}` });
    for (const response of [missing, wrong, wrongHeader, malformed]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(new Set([missing.body, wrong.body, wrongHeader.body, malformed.body]).size).toBe(1);
    expect(missing.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('accepts the key as a bearer token or as X-Api-Key', async () => {
    expect((await get('/integrations/status', bearer(ACME))).statusCode).toBe(200);
    expect((await get('/integrations/status', { 'x-api-key': ACME })).statusCode).toBe(200);
    expect((await get('/integrations/status', { authorization: `bearer ${ACME}` })).statusCode).toBe(200);
  });

  it('leaves the Kubernetes probes, the docs and the dashboard open', async () => {
    expect((await get('/integrations/health/live')).json()).toEqual({ status: 'ok' });
    const ready = await get('/integrations/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    expect((await get('/docs/json')).statusCode).toBe(200);
    expect((await get('/')).statusCode).toBe(200);
  });
});

describe('tenant isolation', () => {
  it('shows a tenant only its own integrations in health, status and metrics', async () => {
    const health = (await get('/integrations/health', bearer(ACME))).json();
    expect(health.tenant).toBe('acme');
    expect(health.integrations.map((i: { name: string; tenant: string }) => `${i.tenant}/${i.name}`).sort()).toEqual([
      'acme/billing',
      'acme/shared',
    ]);
    const status = (await get('/integrations/status', bearer(ACME))).json();
    expect(status.integrations.every((i: { tenant: string }) => i.tenant === 'acme')).toBe(true);
    expect(status.totals.total).toBe(2);
    const metrics = (await get('/integrations/metrics', bearer(ACME))).body;
    expect(metrics).toContain('tenant="acme"');
    expect(metrics).not.toContain('tenant="globex"');
    expect(metrics).not.toContain('integration="search"');
    // Process metrics are the operator's, not a tenant's.
    expect(metrics).not.toContain('integrations_gateway_process');
  });

  it('answers a tenant asking for another tenant exactly like a tenant that does not exist', async () => {
    const other = await get('/integrations/health', { ...bearer(ACME), 'x-tenant-id': 'globex' });
    const missing = await get('/integrations/health', { ...bearer(ACME), 'x-tenant-id': 'initech' });
    const adminMissing = await get('/integrations/health', { ...bearer(ADMIN), 'x-tenant-id': 'initech' });
    const unknownRoute = await get('/integrations/nothing-here', bearer(ACME));
    for (const response of [other, missing, adminMissing, unknownRoute]) expect(response.statusCode).toBe(404);
    expect(new Set([other.body, missing.body, adminMissing.body, unknownRoute.body]).size).toBe(1);
    for (const url of ['/integrations/status', '/integrations/metrics', '/integrations/health/search']) {
      const response = await get(url, { ...bearer(ACME), 'x-tenant-id': 'globex' });
      expect(response.statusCode).toBe(404);
      expect(response.body).toBe(missing.body);
    }
  });

  it("does not show a tenant another tenant's integration by name", async () => {
    const response = await get('/integrations/health/search', bearer(ACME));
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe((await get('/integrations/health/no-such-thing', bearer(ACME))).body);
  });

  it('lets a tenant name itself in X-Tenant-Id', async () => {
    const response = await get('/integrations/status', { ...bearer(GLOBEX), 'x-tenant-id': 'globex' });
    expect(response.statusCode).toBe(200);
    expect(response.json().tenant).toBe('globex');
  });

  it('shows the admin every tenant, or the one it names', async () => {
    const all = (await get('/integrations/status', bearer(ADMIN))).json();
    expect(all.tenant).toBeNull();
    expect(all.integrations.map((i: { name: string; tenant: string }) => `${i.tenant}/${i.name}`).sort()).toEqual([
      'acme/billing',
      'acme/shared',
      'globex/search',
      'globex/shared',
    ]);
    const globex = (await get('/integrations/status', { ...bearer(ADMIN), 'x-tenant-id': 'globex' })).json();
    expect(globex.tenant).toBe('globex');
    expect(globex.integrations.map((i: { name: string }) => i.name).sort()).toEqual(['search', 'shared']);
    const metrics = (await get('/integrations/metrics', bearer(ADMIN))).body;
    expect(metrics).toContain('tenant="acme"');
    expect(metrics).toContain('tenant="globex"');
    expect(metrics).toContain('integrations_gateway_process_cpu_seconds_total');
  });
});

describe('GET /integrations/health', () => {
  it('rolls up healthy, degraded and unhealthy', async () => {
    const acme = await get('/integrations/health', bearer(ACME));
    expect(acme.statusCode).toBe(200);
    expect(acme.json()).toMatchObject({ status: 'healthy', counts: { healthy: 2, unhealthy: 0 } });

    const admin = await get('/integrations/health', bearer(ADMIN));
    expect(admin.statusCode).toBe(200);
    expect(admin.json()).toMatchObject({ status: 'degraded', tenant: null, counts: { healthy: 3, unhealthy: 1 } });

    // Globex with its shared integration switched off has only the unhealthy one left: 503.
    await gateway.registry.disable('shared', { tenant: 'globex' });
    try {
      const globex = await get('/integrations/health', bearer(GLOBEX));
      expect(globex.statusCode).toBe(503);
      expect(globex.json()).toMatchObject({ status: 'unhealthy', counts: { unhealthy: 1, disabled: 1 } });
    } finally {
      await gateway.registry.enable('shared', { tenant: 'globex' });
    }
  });

  it('reports each integration with its last check', async () => {
    const body = (await get('/integrations/health', bearer(ACME))).json();
    const billing = body.integrations.find((i: { name: string }) => i.name === 'billing');
    expect(billing).toMatchObject({
      name: 'billing',
      tenant: 'acme',
      provider: 'probe',
      displayName: 'Probe',
      category: 'testing',
      type: 'external_api',
      status: 'healthy',
      enabled: true,
      details: { answered: true },
      error: null,
    });
    expect(Date.parse(billing.checkedAt)).not.toBeNaN();
    expect(billing.latencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe('GET /integrations/health/:name', () => {
  it('answers one integration, 503 when it is unhealthy, with the provider error redacted', async () => {
    const billing = await get('/integrations/health/billing', bearer(ACME));
    expect(billing.statusCode).toBe(200);
    expect(billing.json()).toMatchObject({ name: 'billing', tenant: 'acme', status: 'healthy' });

    const search = await get('/integrations/health/search', bearer(GLOBEX));
    expect(search.statusCode).toBe(503);
    const body = search.json();
    expect(body).toMatchObject({ name: 'search', status: 'unhealthy', error: { kind: 'unavailable' } });
    // The stand-in echoed the credential in its error; it must come out redacted.
    expect(body.error.message).toContain('[REDACTED]');
    expect(search.body).not.toContain(TOKEN);
  });

  it('checks the provider again with ?refresh=true', async () => {
    const before = up.requests.filter((r) => r.endsWith('/health')).length;
    const response = await get('/integrations/health/billing?refresh=true', bearer(ACME));
    expect(response.statusCode).toBe(200);
    expect(up.requests.filter((r) => r.endsWith('/health')).length).toBe(before + 1);

    down.mode = 'ok';
    try {
      const healed = await get('/integrations/health/search?refresh=true', bearer(GLOBEX));
      expect(healed.statusCode).toBe(200);
      expect(healed.json()).toMatchObject({ status: 'healthy', error: null });
    } finally {
      down.mode = 'down';
      await get('/integrations/health/search?refresh=true', bearer(GLOBEX));
    }
  });

  it('rejects a malformed refresh flag with 400', async () => {
    const response = await get('/integrations/health/billing?refresh=maybe', bearer(ACME));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('asks the admin to pick a tenant when a name exists in several', async () => {
    const ambiguous = await get('/integrations/health/shared', bearer(ADMIN));
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json().message).toContain('X-Tenant-Id');
    const picked = await get('/integrations/health/shared', { ...bearer(ADMIN), 'x-tenant-id': 'globex' });
    expect(picked.statusCode).toBe(200);
    expect(picked.json()).toMatchObject({ name: 'shared', tenant: 'globex' });
    const unique = await get('/integrations/health/billing', bearer(ADMIN));
    expect(unique.json()).toMatchObject({ name: 'billing', tenant: 'acme' });
  });
});

describe('GET /integrations/status', () => {
  it('reports per-integration state and totals by status, category and type', async () => {
    const billing = gateway.registry.get<typeof probe>('billing', { tenant: 'acme' });
    await billing.ping();
    await billing.ping();
    const status = (await get('/integrations/status', bearer(ACME))).json();
    expect(status.totals).toMatchObject({
      total: 2,
      byStatus: { healthy: 2, unhealthy: 0 },
      byCategory: { testing: 2 },
      byType: { external_api: 2 },
      calls: 2,
      failures: 0,
      successRate: 1,
    });
    const entry = status.integrations.find((i: { name: string }) => i.name === 'billing');
    expect(entry).toMatchObject({
      status: 'healthy',
      breaker: 'closed',
      calls: 2,
      failures: 0,
      successRate: 1,
      lastErrorKind: null,
      metadata: { team: 'payments' },
      lastCheck: { status: 'healthy', error: null },
    });
    expect(entry.rateLimitHeadroom).toBeGreaterThanOrEqual(0);
    expect(entry.rateLimitHeadroom).toBeLessThanOrEqual(5);
    expect(entry.meanLatencyMs).toBeGreaterThan(0);
  });

  it('records the last error kind of a failing integration', async () => {
    const search = gateway.registry.get<typeof probe>('search', { tenant: 'globex' });
    await expect(search.ping()).rejects.toMatchObject({ kind: 'unavailable' });
    const status = (await get('/integrations/status', bearer(GLOBEX))).json();
    const entry = status.integrations.find((i: { name: string }) => i.name === 'search');
    expect(entry).toMatchObject({ lastErrorKind: 'unavailable', failures: 1, successRate: 0 });
    expect(Date.parse(entry.lastErrorAt)).not.toBeNaN();
  });
});

describe('secrets', () => {
  it('never shows a configured secret in any response or log line', async () => {
    const bodies = await Promise.all(
      ['/integrations/health', '/integrations/status', '/integrations/metrics', '/integrations/health/search'].map(
        async (url) => (await get(url, { ...bearer(ADMIN), 'x-tenant-id': 'globex' })).body,
      ),
    );
    bodies.push((await get('/docs/json')).body, (await get('/')).body);
    for (const secret of [TOKEN, ADMIN, ACME, GLOBEX]) {
      for (const body of bodies) expect(body).not.toContain(secret);
      expect(logs.text()).not.toContain(secret);
    }
    // Debug-level request lines were written, so the absence above means something.
    expect(logs.lines.length).toBeGreaterThan(5);
    expect(logs.text()).toContain('/integrations/status');
  });

  it('keeps the Authorization and X-Api-Key headers out of the log', () => {
    const log = gateway.app.log;
    // Fastify's request serializer drops headers; pino's redaction covers headers logged any other way.
    log.info({ req: { headers: { authorization: `Bearer ${ADMIN}` } } }, 'request');
    log.info({ headers: { authorization: `Bearer ${ADMIN}`, 'x-api-key': ACME, accept: 'text/plain' } }, 'headers');
    const [request, headers] = logs.lines.slice(-2).map((line) => JSON.parse(line));
    expect(JSON.stringify(request)).not.toContain(ADMIN);
    expect(headers.headers).toEqual({ authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', accept: 'text/plain' });
  });
});

describe('GET / (dashboard)', () => {
  it('serves the page and its assets without any key pre-filled outside the demo', async () => {
    const page = await get('/');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('/assets/app.js');
    expect(page.body).not.toContain('integrations-demo-key');
    const script = await get('/assets/app.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect((await get('/assets/style.css')).statusCode).toBe(200);
    // The template (with its placeholder) is only reachable through the route above.
    expect((await get('/assets/index.html')).statusCode).toBe(404);
  });
});

describe('POST /integrations/:name/operations/:operation', () => {
  const run = (url: string, headers: Record<string, string> = {}, payload: unknown = { args: [] }) =>
    gateway.app.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> });

  it('runs the operation for the caller’s tenant through the provider', async () => {
    const before = up.requests.length;
    const response = await run('/integrations/billing/operations/ping', bearer(ACME));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ result: { ok: true, path: '/ping' } });
    expect(up.requests.slice(before)).toEqual(['GET /ping']);
    const billing = (await get('/integrations/status', bearer(ACME)))
      .json()
      .integrations.find((i: { name: string }) => i.name === 'billing');
    expect(billing.calls).toBeGreaterThanOrEqual(1);
  });

  it('answers 401 without a valid key and 404 for an integration outside the tenant', async () => {
    expect((await run('/integrations/billing/operations/ping')).statusCode).toBe(401);
    expect((await run('/integrations/billing/operations/ping', bearer('not-a-key-0123456789abcdef'))).statusCode).toBe(
      401,
    );
    const foreign = await run('/integrations/billing/operations/ping', bearer(GLOBEX));
    const unknown = await run('/integrations/nope/operations/ping', bearer(GLOBEX));
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body).toBe(unknown.body);
    const otherTenant = await run('/integrations/billing/operations/ping', {
      ...bearer(GLOBEX),
      'x-tenant-id': 'acme',
    });
    expect(otherTenant.statusCode).toBe(404);
  });

  it.each(['close', 'healthCheck', 'client', 'constructor', '__proto__', 'toString', 'ping.call'])(
    'refuses %s, which is not a declared operation',
    async (operation) => {
      const response = await run(`/integrations/billing/operations/${operation}`, bearer(ACME));
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({
        statusCode: 404,
        message: expect.stringContaining('ping, charge, pages'),
      });
    },
  );

  it('maps a provider failure to its kind and status, with the credential redacted', async () => {
    const response = await run('/integrations/search/operations/ping', bearer(GLOBEX));
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ kind: 'unavailable', retryable: true, error: 'Service Unavailable' });
    expect(response.body).toContain('probe answered 503');
    expect(response.body).not.toContain(TOKEN);
    expect(logs.text()).not.toContain(TOKEN);
  });

  it('asks the admin to pick a tenant when the name exists in several, then runs it there', async () => {
    const ambiguous = await run('/integrations/shared/operations/ping', bearer(ADMIN));
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json().message).toContain('X-Tenant-Id');
    const chosen = await run('/integrations/shared/operations/ping', { ...bearer(ADMIN), 'x-tenant-id': 'globex' });
    expect(chosen.statusCode).toBe(200);
  });

  it('collects a paged operation’s items up to ?limit, fetching no further page than it needs', async () => {
    // `shared` has no rate limit, so no page waits for a token.
    const before = up.requests.length;
    const some = await run('/integrations/shared/operations/pages?limit=3', bearer(ACME), { args: [5] });
    expect(some.statusCode).toBe(200);
    expect(some.json()).toEqual({
      result: [1, 2, 3].map((page) => ({ ok: true, path: `/pages/${page}` })),
      truncated: true,
    });
    // Three items, plus the fourth page that showed there were more; the fifth was never asked for.
    expect(up.requests.slice(before)).toEqual(['GET /pages/1', 'GET /pages/2', 'GET /pages/3', 'GET /pages/4']);
    const all = await run('/integrations/shared/operations/pages', bearer(ACME), { args: [5] });
    expect(all.json().result).toHaveLength(5);
    expect(all.json().truncated).toBe(false);
    const tooMany = await run('/integrations/shared/operations/pages?limit=1001', bearer(ACME), { args: [5] });
    expect(tooMany.statusCode).toBe(400);
  });

  it('rejects a body that is not { args: [...] } with 400', async () => {
    for (const payload of [{ args: { 0: 'x' } }, { args: [], extra: 1 }, { args: new Array(17).fill(0) }]) {
      const response = await run('/integrations/billing/operations/ping', bearer(ACME), payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('answers 429 with Retry-After once the tenant’s rate limit is spent', async () => {
    // billing: 60 per minute, burst 5. Calls do not wait for a token (maxWaitMs 0 below), so the sixth is refused.
    const limited = await gatewayFrom(await dir.write('limited.yaml', LIMITED), {
      env: { ACME_KEY: ACME, UP_URL: up.url, PROBE_TOKEN: TOKEN },
      connectors: { probe },
    });
    try {
      await limited.enable();
      const codes: number[] = [];
      let refused: { headers: Record<string, unknown>; json(): Record<string, unknown> } | undefined;
      for (let i = 0; i < 8; i++) {
        const response = await limited.app.inject({
          method: 'POST',
          url: '/integrations/billing/operations/ping',
          headers: bearer(ACME),
          payload: {},
        });
        codes.push(response.statusCode);
        if (response.statusCode === 429) refused ??= response;
      }
      expect(codes.filter((c) => c === 200)).toHaveLength(5);
      expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(2);
      expect(refused?.json(), JSON.stringify(refused?.json())).toMatchObject({ kind: 'rate_limited' });
      expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

const LIMITED = `
defaults:
  healthCheck: { intervalMs: 600000 }
  retry: false
integrations:
  billing:
    connector: probe
    config: { baseUrl: "\${UP_URL}", token: "\${PROBE_TOKEN}" }
    rateLimit: { requestsPerMinute: 60, burst: 5, maxWaitMs: 0 }
tenants:
  acme:
    apiKeys: ["\${ACME_KEY}"]
`;
