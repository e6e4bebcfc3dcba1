/**
 * Crash safety: the built gateway runs as a child process and is killed with SIGKILL the moment it has
 * acknowledged a batch of Stripe events, while its deliveries are still hanging. Started again, it delivers every
 * acknowledged event: the 2xx was only sent once the event was committed to PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, runGateway } from './process.js';
import { type TempDir, tempDir } from './support.js';
import {
  DATABASE_URL,
  database,
  eventually,
  type Receiver,
  requirePostgres,
  startReceiver,
  stripeEvent,
  stripeSignature,
  testSchema,
} from './webhooks-support.js';

const available = await requirePostgres();

const SECRET = 'whsec_crash_0123456789abcdefghij';
const schema = testSchema('crash');
const db = database();
let dir: TempDir;
let receiver: Receiver;
let file: string;
const running: GatewayProcess[] = [];

const CONFIG = `server:
  port: 0
  adminApiKey: crash-admin-key-0123456789
  webhooks:
    store: { kind: postgres, url: "\${DATABASE_URL}", schema: "\${SCHEMA}", maxConnections: 3 }
    forwardUrl: \${RECEIVER_URL}
    delivery: { maxAttempts: 20, initialDelayMs: 100, jitter: none, pollIntervalMs: 200, timeoutMs: 1000 }
defaults:
  healthCheck: { intervalMs: 600000 }
integrations:
  payments:
    connector: stripe
    config: { apiKey: sk_test_0123456789, apiBaseUrl: "http://127.0.0.1:9" }
    webhooks: { secrets: ["\${STRIPE_WEBHOOK_SECRET}"] }
`;

beforeAll(async () => {
  if (!available) return;
  dir = await tempDir();
  receiver = await startReceiver();
  file = await dir.write('crash.yaml', CONFIG);
});

afterAll(async () => {
  for (const gateway of running) gateway.kill('SIGKILL');
  await Promise.all(running.map((g) => g.exited));
  await receiver?.close();
  await db.drop(schema).catch(() => {});
  await db.end();
  await dir?.remove();
});

async function start(): Promise<{ gateway: GatewayProcess; url: string }> {
  const gateway = runGateway(['--config', file], {
    DATABASE_URL,
    SCHEMA: schema,
    RECEIVER_URL: receiver.url,
    STRIPE_WEBHOOK_SECRET: SECRET,
    LOG_LEVEL: 'info',
  });
  running.push(gateway);
  const [, url] = await gateway.waitFor(/"url":"(http:\/\/[^"]+)"[^\n]*"msg":"gateway ready"/);
  return { gateway, url: url as string };
}

describe.skipIf(!available)('a gateway killed right after its 2xx', () => {
  it('delivers every acknowledged event once it is started again', async () => {
    receiver.mode = 'hang';
    const first = await start();
    const events = Array.from({ length: 10 }, () => stripeEvent('invoice.paid'));
    const answers = await Promise.all(
      events.map(async (event) => {
        const body = JSON.stringify(event);
        const response = await fetch(`${first.url}/webhooks/default/payments`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body, SECRET) },
        });
        return response.status;
      }),
    );
    first.gateway.kill('SIGKILL');
    expect(answers).toEqual(events.map(() => 200));
    expect(await first.gateway.exited).toMatchObject({ signal: 'SIGKILL' });
    // Nothing was delivered before the kill: the receiver never answered.
    expect(receiver.delivered).toHaveLength(0);
    const ids = events.map((e) => e.id);
    const rows = await db.rows(schema);
    expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    expect(rows.every((r) => r.status === 'pending')).toBe(true);

    receiver.mode = 'ok';
    const second = await start();
    await eventually(
      () => ids.every((id) => receiver.delivered.some((e) => e.eventId === id)),
      'every event delivered',
    );
    await eventually(
      async () => (await db.rows(schema, `status = 'delivered'`)).length === events.length,
      'every row delivered',
    );
    const deliveredIds = receiver.delivered.map((e) => e.eventId);
    expect(new Set(deliveredIds)).toEqual(new Set(ids));
    expect(deliveredIds).toHaveLength(ids.length);
    for (const event of events) {
      expect(receiver.delivered.find((e) => e.eventId === event.id)?.payload).toEqual(event);
    }
    second.gateway.kill('SIGTERM');
    expect(await second.gateway.exited).toMatchObject({ code: 0 });
  });
});
