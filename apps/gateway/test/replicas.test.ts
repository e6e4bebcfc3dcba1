/**
 * Three gateway processes (the built dist/main.js, as deployed) sharing rate limits and breaker state through a
 * redis-server this test starts, stops mid-run and starts again. The provider is the Stripe fake, called through the
 * real Stripe connector via POST /integrations/:name/operations/:operation.
 */
import { freePort, type RedisServerStandIn, startRedisServer } from '@integrations/testkit';
import { type StripeFake, startStripeFake } from '@integrations/testkit/fakes/stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, runGateway, until } from './process.js';
import { type TempDir, tempDir } from './support.js';

const ADMIN = 'replicas-admin-key-0123456789';
const ACME = 'replicas-acme-key-01234567890';
const AUTH = { authorization: `Bearer ${ACME}`, 'content-type': 'application/json' };

/**
 * `payments`: the limit under test. A minute admits BURST + R calls; a burst of one second's worth keeps a busy
 * machine's pauses (a starved event loop) from wasting tokens nobody was there to take.
 */
const R = 300;
const BURST = 5;
const WINDOW_MS = 60_000;
/** `orders`: the limit that proves sharing is back after the outage (a short window: burst + rate × elapsed). */
const ORDERS_PER_MINUTE = 1200;
const ORDERS_BURST = 20;
const FAILURES_TO_OPEN = 3;

const CONFIG = `
server:
  adminApiKey: \${ADMIN_KEY}
  store: { kind: redis, url: "\${REDIS_URL}", keyPrefix: "replicas:", onUnavailable: local }
defaults:
  healthCheck: { intervalMs: 600000 }
  retry: false
  timeoutMs: 2000
integrations:
  payments:
    connector: stripe
    config: { apiKey: sk_test_replicas_0123, apiBaseUrl: "\${STRIPE_URL}" }
    rateLimit: { requestsPerMinute: ${R}, burst: ${BURST}, maxWaitMs: 0 }
  ledger:
    connector: stripe
    config: { apiKey: sk_test_replicas_0123, apiBaseUrl: "\${LEDGER_URL}" }
    circuitBreaker: { failureThreshold: ${FAILURES_TO_OPEN}, recoveryTimeoutMs: 600000, syncIntervalMs: 250 }
  orders:
    connector: stripe
    config: { apiKey: sk_test_replicas_0123, apiBaseUrl: "\${STRIPE_URL}" }
    rateLimit: { requestsPerMinute: ${ORDERS_PER_MINUTE}, burst: ${ORDERS_BURST}, maxWaitMs: 0 }
tenants:
  acme:
    apiKeys: ["\${ACME_KEY}"]
`;

interface Replica {
  process: GatewayProcess;
  url: string;
}

let dir: TempDir;
let redis: RedisServerStandIn;
let stripe: StripeFake;
let customer: string;
const replicas: Replica[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(replica: Replica, integration: string, args: unknown[]) {
  const response = await fetch(`${replica.url}/integrations/${integration}/operations/customers.retrieve`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({ args }),
  });
  const body = (await response.json()) as { kind?: string; message?: string };
  return { status: response.status, kind: body.kind, message: body.message };
}

async function storeStatus(replica: Replica): Promise<string> {
  const response = await fetch(`${replica.url}/integrations/status`, { headers: AUTH });
  return ((await response.json()) as { store: { status: string } }).store.status;
}

interface Hammered {
  accepted: number;
  limited: number;
  other: string[];
  /** First and last call start, wall clock. */
  first: number;
  last: number;
}

/** Calls `integration` through every replica (two loops each, as fast as answers come) for `ms`. */
async function hammer(integration: string, ms: number): Promise<Hammered> {
  const result: Hammered = { accepted: 0, limited: 0, other: [], first: Number.POSITIVE_INFINITY, last: 0 };
  const end = Date.now() + ms;
  const loop = async (replica: Replica) => {
    while (Date.now() < end) {
      const started = Date.now();
      result.first = Math.min(result.first, started);
      result.last = Math.max(result.last, started);
      const { status, kind, message } = await call(replica, integration, [customer]);
      if (status === 200) result.accepted++;
      else if (status === 429 && kind === 'rate_limited') result.limited++;
      else result.other.push(`${status} ${kind}: ${message}`);
      // A short pause keeps the load loopback-friendly; the fleet still asks far faster than the bucket refills.
      await sleep(25);
    }
  };
  await Promise.all(replicas.flatMap((replica) => [loop(replica), loop(replica)]));
  return result;
}

beforeAll(async () => {
  dir = await tempDir();
  [redis, stripe] = await Promise.all([startRedisServer(), startStripeFake()]);
  // Replica 0 reaches `ledger` at a port nothing listens on: its calls fail there and only there.
  const deadLedger = `http://127.0.0.1:${await freePort()}`;
  const file = await dir.write('replicas.yaml', CONFIG);
  for (let i = 0; i < 3; i++) {
    const gateway = runGateway(['--config', file, '--port', '0'], {
      ADMIN_KEY: ADMIN,
      ACME_KEY: ACME,
      REDIS_URL: redis.url,
      STRIPE_URL: stripe.url,
      LEDGER_URL: i === 0 ? deadLedger : stripe.url,
    });
    replicas.push({ process: gateway, url: '' });
  }
  for (const replica of replicas) {
    const [, url] = await replica.process.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    replica.url = url as string;
    await until(`${replica.url}/integrations/health/ready`, (r) => r.status === 200);
    expect(await storeStatus(replica)).toBe('up');
  }
  // One customer to fetch; created through `orders`, so `payments` starts the test with its bucket full.
  const created = await fetch(`${replicas[0]?.url}/integrations/orders/operations/customers.create`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({ args: [{ email: 'fleet@example.com' }] }),
  });
  expect(created.status).toBe(200);
  customer = ((await created.json()) as { result: { id: string } }).result.id;
}, 120_000);

afterAll(async () => {
  for (const replica of replicas) replica.process.kill('SIGKILL');
  await Promise.all(replicas.map((replica) => replica.process.exited));
  await Promise.all([redis?.stop(), stripe?.stop()]);
  await dir?.remove();
});

describe('three gateway replicas sharing one Redis', () => {
  it(`admits R ± 5% calls per minute for a tenant hammered through all three (R = ${R})`, async () => {
    const before = stripe.state.requests.length;
    const result = await hammer('payments', WINDOW_MS);
    const elapsed = result.last - result.first;
    const expected = BURST + (R * elapsed) / 60_000;
    console.log(
      `rate limit across 3 replicas: ${result.accepted} accepted, ${result.limited} limited in ${elapsed} ms ` +
        `(R = ${R}/min, expected ${expected.toFixed(1)})`,
    );
    expect(result.other).toEqual([]);
    expect(Math.abs(result.accepted - R)).toBeLessThanOrEqual(R * 0.05);
    expect(Math.abs(result.accepted - expected)).toBeLessThanOrEqual(R * 0.05);
    // What the provider saw is what the gateways admitted, no more.
    expect(stripe.state.requests.length - before).toBe(result.accepted);
    // Each replica alone would have admitted about R: the limit held for the fleet, not per process.
    expect(result.limited).toBeGreaterThan(result.accepted);
  }, 120_000);

  it('opens the breaker on every replica within 1 s of failures seen on one', async () => {
    const [failing, ...others] = replicas as [Replica, Replica, Replica];
    for (const replica of others) expect((await call(replica, 'ledger', [customer])).status).toBe(200);
    for (let i = 0; i < FAILURES_TO_OPEN; i++) {
      expect(await call(failing, 'ledger', [customer])).toMatchObject({ status: 503, kind: 'unavailable' });
    }
    const opened = Date.now();
    expect(await call(failing, 'ledger', [customer])).toMatchObject({ status: 503, kind: 'circuit_open' });
    const seen = await Promise.all(
      others.map(async (replica) => {
        for (;;) {
          const { kind } = await call(replica, 'ledger', [customer]);
          if (kind === 'circuit_open') return Date.now() - opened;
          if (Date.now() - opened > 5_000) return Number.POSITIVE_INFINITY;
          await sleep(20);
        }
      }),
    );
    console.log(`breaker opened on replica 0; open on replicas 1 and 2 after ${seen.join(' ms and ')} ms`);
    for (const ms of seen) expect(ms).toBeLessThan(1_000);
  }, 30_000);

  it('keeps serving on local limits while Redis is stopped, and shares state again once it is back', async () => {
    await redis.stop();
    const during = await hammer('orders', 3_000);
    expect(during.other).toEqual([]);
    expect(during.accepted).toBeGreaterThan(0);
    for (const replica of replicas) {
      expect(replica.process.child.exitCode).toBeNull();
      expect(await storeStatus(replica)).toBe('down');
    }

    redis = await startRedisServer({ port: redis.port });
    for (const replica of replicas) {
      for (let i = 0; i < 200 && (await storeStatus(replica)) !== 'up'; i++) await sleep(50);
      expect(await storeStatus(replica)).toBe('up');
    }
    // The restarted Redis is empty: `orders` starts from a full shared bucket, which all three now draw from.
    const after = await hammer('orders', 5_000);
    const expected = ORDERS_BURST + (ORDERS_PER_MINUTE * (after.last - after.first)) / 60_000;
    console.log(
      `after Redis returned: ${after.accepted} accepted across 3 replicas in ${after.last - after.first} ms ` +
        `(expected ${expected.toFixed(1)} shared; about ${(3 * expected).toFixed(0)} if each replica limited alone)`,
    );
    expect(after.other).toEqual([]);
    expect(Math.abs(after.accepted - expected)).toBeLessThanOrEqual(expected * 0.05);
  }, 120_000);
});
