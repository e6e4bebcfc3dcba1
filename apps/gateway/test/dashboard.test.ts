/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real gateway whose
 * connectors talk to real local stand-ins: it shows the integrations, then one turns unhealthy when its
 * stand-in stops.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type S3rverStandIn, startS3rver } from '@integrations/testkit';
import { type BigQueryFake, startBigQueryFake } from '@integrations/testkit/fakes/bigquery';
import { type StripeFake, startStripeFake } from '@integrations/testkit/fakes/stripe';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/index.js';
import { gatewayFrom, type TempDir, tempDir } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const ADMIN = 'dashboard-admin-key-0123456789';

const CONFIG = `
server:
  adminApiKey: ${ADMIN}
defaults:
  timeoutMs: 2000
  retry: false
  healthCheck: { intervalMs: 300, timeoutMs: 2000 }
integrations:
  payments:
    connector: stripe
    config: { apiKey: sk_test_dashboard_0123, apiBaseUrl: "\${STRIPE_URL}" }
    rateLimit: { requestsPerMinute: 600, burst: 20 }
  media:
    connector: aws-s3
    config:
      endpoint: \${S3_URL}
      forcePathStyle: true
      accessKeyId: S3RVER
      secretAccessKey: S3RVER
      checksumMode: WHEN_REQUIRED
  warehouse:
    connector: gcp-bigquery
    config: { projectId: dashboard-demo, apiEndpoint: "\${BIGQUERY_URL}", auth: none }
tenants:
  acme:
    apiKeys: [acme-dashboard-key-0123456789]
    integrations: [payments, media, warehouse]
  globex:
    apiKeys: [globex-dashboard-key-012345678]
    integrations: [payments, warehouse]
`;

let dir: TempDir;
let profile: string;
let stripe: StripeFake;
let s3: S3rverStandIn;
let bigquery: BigQueryFake;
let gateway: Gateway;
let url: string;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\``);
  }
  dir = await tempDir();
  [stripe, s3, bigquery] = await Promise.all([startStripeFake(), startS3rver(), startBigQueryFake()]);
  const file = await dir.write('dashboard.yaml', CONFIG);
  // No connector lookup passed: the installed @integrations/<id> packages are resolved by id, as in production.
  gateway = await gatewayFrom(file, { env: { STRIPE_URL: stripe.url, S3_URL: s3.url, BIGQUERY_URL: bigquery.url } });
  url = await gateway.listen({ host: '127.0.0.1', port: 0 });
  await gateway.enable();

  profile = await mkdtemp(join(tmpdir(), 'gateway-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
  });
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close();
  await gateway?.close({ graceMs: 1000 });
  await Promise.all([stripe?.stop(), s3?.stop(), bigquery?.stop()]);
  if (profile) await rm(profile, { recursive: true, force: true });
  await dir?.remove();
});

const card = (integration: string, tenant: string) =>
  page.locator(`.card[data-integration="${integration}"][data-tenant="${tenant}"]`);

/** Waits until the element shows exactly `text` (the page redraws every 2 s). */
function showing(locator: Locator, text: string, timeout = 10_000): Promise<void> {
  const exact = new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  return locator.filter({ hasText: exact }).first().waitFor({ timeout });
}

describe('dashboard', () => {
  it('asks for a key, then shows every integration grouped by category', async () => {
    await page.goto(`${url}/`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#key', 'not-the-right-key-0123456789');
    await page.click('#login-form button[type="submit"]');
    await showing(page.locator('#login-error'), 'That key was not accepted.');

    await page.fill('#key', ADMIN);
    await page.click('#login-form button[type="submit"]');
    await page.locator('.card').nth(4).waitFor();
    expect(await page.locator('.card').count()).toBe(5);
    const categories = await page
      .locator('.category')
      .evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.category));
    expect(categories).toEqual(['payments', 'storage', 'warehouse']);
    for (const [integration, tenant] of [
      ['payments', 'acme'],
      ['payments', 'globex'],
      ['media', 'acme'],
      ['warehouse', 'acme'],
      ['warehouse', 'globex'],
    ] as const) {
      await showing(card(integration, tenant).locator('.status'), 'healthy');
    }
    await showing(page.locator('#overall'), 'healthy');
    await showing(page.locator('#t-total'), '5');
    // The key is kept for the session only.
    expect(await page.evaluate(() => sessionStorage.getItem('integrations.apiKey'))).toBe(ADMIN);
  });

  it('turns an integration unhealthy when its stand-in stops', async () => {
    const payments = gateway.registry.get<typeof import('@integrations/stripe').stripe>('payments', { tenant: 'acme' });
    await payments.customers.create({ email: 'ada@example.com' });
    await stripe.stop();

    await showing(card('payments', 'acme').locator('.status'), 'unhealthy', 20_000);
    await showing(card('payments', 'globex').locator('.status'), 'unhealthy', 20_000);
    await showing(card('media', 'acme').locator('.status'), 'healthy');
    await showing(page.locator('#overall'), 'degraded');
    await showing(page.locator('#t-unhealthy'), '2');
    await card('payments', 'acme').locator('.check-error', { hasText: 'unavailable' }).waitFor();
    await showing(card('payments', 'acme').locator('.success'), '100 % of 1');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('shows a tenant key only its own tenant', async () => {
    await page.click('#forget');
    await page.fill('#key', 'globex-dashboard-key-012345678');
    await page.click('#login-form button[type="submit"]');
    await page.locator('.card[data-tenant="globex"]').nth(1).waitFor();
    expect(await page.locator('.card').count()).toBe(2);
    expect(await page.locator('.card[data-tenant="acme"]').count()).toBe(0);
    expect(await page.locator('#tenant-picker').isHidden()).toBe(true);
  });
});
