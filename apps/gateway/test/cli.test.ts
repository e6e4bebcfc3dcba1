/**
 * The gateway as a process: startup config errors (exit 1 with file:line and key path), and SIGTERM with a call
 * in flight (it completes, then exit 0). Runs dist/main.js with the installed connector packages.
 */
import { createFaultProxy, type FaultProxy, faults } from '@integrations/testkit';
import { type StripeFake, startStripeFake } from '@integrations/testkit/fakes/stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGateway, until } from './process.js';
import { type TempDir, tempDir } from './support.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir?.remove();
});

const VALID = `server:
  port: 0
  adminApiKey: cli-admin-key-0123456789
integrations:
  payments:
    connector: stripe
    config:
      apiKey: \${STRIPE_SECRET_KEY}
      apiBaseUrl: http://127.0.0.1:9
`;

async function startupError(name: string, yaml: string, env: Record<string, string> = {}) {
  const file = await dir.write(name, yaml);
  const gateway = runGateway(['--config', file], env);
  const { code } = await gateway.exited;
  return { code, output: gateway.output(), file };
}

describe('startup with a bad config', () => {
  it('exits 1 naming the missing environment variable, with file:line and path', async () => {
    const { code, output, file } = await startupError('missing-env.yaml', VALID);
    expect(code).toBe(1);
    expect(output).toContain(`${file}:8:`);
    expect(output).toMatch(
      /:8:\d+ integrations\.payments\.config\.apiKey: environment variable STRIPE_SECRET_KEY is not set/,
    );
  });

  it('exits 1 on a value of the wrong type', async () => {
    const yaml = VALID.replace('port: 0', 'port: eighty');
    const { code, output, file } = await startupError('wrong-type.yaml', yaml, { STRIPE_SECRET_KEY: 'sk_test_123456' });
    expect(code).toBe(1);
    expect(output).toContain(`${file}:2:`);
    expect(output).toMatch(/:2:\d+ server\.port: expected a number/);
  });

  it('exits 1 on an unknown key', async () => {
    const yaml = `${VALID}    retyr: { maxAttempts: 3 }\n`;
    const { code, output, file } = await startupError('unknown-key.yaml', yaml, {
      STRIPE_SECRET_KEY: 'sk_test_123456',
    });
    expect(code).toBe(1);
    expect(output).toContain(`${file}:10:`);
    expect(output).toMatch(/:10:\d+ integrations\.payments\.retyr: unknown key "retyr"/);
  });

  it('exits 1 on an unknown connector, listing the installed ones', async () => {
    const yaml = VALID.replace('connector: stripe', 'connector: paypal');
    const { code, output, file } = await startupError('unknown-connector.yaml', yaml, {
      STRIPE_SECRET_KEY: 'sk_test_123456',
    });
    expect(code).toBe(1);
    expect(output).toContain(`${file}:6:`);
    expect(output).toMatch(/:6:\d+ integrations\.payments\.connector: unknown connector "paypal" \(installed: /);
    const installed = /installed: ([^)]*)\)/.exec(output)?.[1]?.split(', ');
    expect(installed).toEqual(expect.arrayContaining(['aws-s3', 'azure-blob', 'gcp-bigquery', 'stripe']));
  });

  it('exits 1 on an integration named like a probe route', async () => {
    const yaml = VALID.replace('  payments:', '  live:');
    const { code, output } = await startupError('reserved.yaml', yaml, { STRIPE_SECRET_KEY: 'sk_test_123456' });
    expect(code).toBe(1);
    expect(output).toContain('integration name "live" collide');
  });

  it('never prints a secret value while failing', async () => {
    const yaml = VALID.replace('port: 0', 'port: eighty');
    const { output } = await startupError('secret.yaml', yaml, { STRIPE_SECRET_KEY: 'sk_test_do_not_print_me' });
    expect(output).not.toContain('sk_test_do_not_print_me');
    expect(output).not.toContain('cli-admin-key-0123456789');
  });
});

describe('shutdown', () => {
  let stripe: StripeFake;
  let proxy: FaultProxy;
  beforeAll(async () => {
    stripe = await startStripeFake();
    proxy = await createFaultProxy({ target: stripe.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await stripe?.stop();
  });

  it('on SIGTERM lets the in-flight call finish, then exits 0', async () => {
    const yaml = VALID.replace('http://127.0.0.1:9', proxy.url).replace(
      'integrations:',
      'defaults:\n  healthCheck: { intervalMs: 600000 }\nintegrations:',
    );
    const file = await dir.write('shutdown.yaml', yaml);
    const gateway = runGateway(['--config', file], { STRIPE_SECRET_KEY: 'sk_test_shutdown_123' });
    try {
      const [, url] = await gateway.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
      await until(`${url}/integrations/health/ready`, (r) => r.status === 200);
      const auth = { authorization: 'Bearer cli-admin-key-0123456789' };
      const before = proxy.requests.length;

      // The next provider request takes 1.5 s: the refresh below is a call in flight when SIGTERM arrives.
      proxy.script(faults.latency(1500));
      const inFlight = fetch(`${url}/integrations/health/payments?refresh=true`, { headers: auth });
      for (let i = 0; proxy.requests.length === before && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
      expect(proxy.requests.length).toBe(before + 1);
      gateway.kill('SIGTERM');

      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ name: 'payments', status: 'healthy', error: null });
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(gateway.output()).toMatch(/shutting down[\s\S]*stopped/);
      await expect(fetch(`${url}/integrations/health/live`)).rejects.toThrow();
    } finally {
      gateway.kill('SIGKILL');
    }
  });
});

describe('the embedded demo', () => {
  it('starts with no config, serves every tenant from local stand-ins, and stops them on SIGINT', async () => {
    const gateway = runGateway([], { INTEGRATIONS_PORT: '0' });
    try {
      const [, url] = await gateway.waitFor(/dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//, 60_000);
      const [, key] = await gateway.waitFor(/admin key\s+(\S+)/);
      const [, standIns] = await gateway.waitFor(/stand-ins\s+(\w+ http.+)\n/);
      const standInUrls = [...(standIns ?? '').matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
      expect(standInUrls.length).toBeGreaterThanOrEqual(4);
      await until(`${url}/integrations/health/ready`, (r) => r.status === 200);

      const health = await until(`${url}/integrations/health`, (r) => r.status === 200, {
        headers: { authorization: `Bearer ${key}` },
      });
      const body = (await health.json()) as {
        status: string;
        integrations: { tenant: string; provider: string; status: string }[];
      };
      expect(body.status).toBe('healthy');
      expect(new Set(body.integrations.map((i) => i.tenant))).toEqual(new Set(['acme', 'globex']));
      expect(new Set(body.integrations.map((i) => i.provider))).toEqual(
        new Set(['stripe', 'aws-s3', 'azure-blob', 'gcp-bigquery', 'twilio', 'sendgrid']),
      );
      expect(body.integrations.every((i) => i.status === 'healthy')).toBe(true);

      // The call the banner suggests: a real Stripe SDK call through the gateway to the Stripe stand-in.
      const [, call] = await gateway.waitFor(/(curl [^\n]*X-Tenant-Id[^\n]*\n[^\n]*customers\.create)/);
      const [, payload] = /-d '([^']+)'/.exec(call ?? '') ?? [];
      const created = await fetch(`${url}/integrations/payments/operations/customers.create`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'x-tenant-id': 'acme', 'content-type': 'application/json' },
        body: payload ?? '',
      });
      expect(created.status).toBe(200);
      expect(await created.json()).toMatchObject({
        result: { id: expect.stringMatching(/^cus_/), email: 'ada@example.com' },
      });

      // The demo (and only the demo) pre-fills its own key in the dashboard.
      const page = await (await fetch(`${url}/`)).text();
      expect(page).toContain(`<meta name="integrations-demo-key" content="${key}" />`);

      gateway.kill('SIGINT');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      for (const standIn of standInUrls) await expect(fetch(standIn)).rejects.toThrow();
    } finally {
      gateway.kill('SIGKILL');
    }
  }, 90_000);

  it('refuses to run the demo in production', async () => {
    const gateway = runGateway([], { NODE_ENV: 'production' });
    const { code } = await gateway.exited;
    expect(code).toBe(1);
    expect(gateway.output()).toContain('the embedded demo never runs in production');
  });
});
