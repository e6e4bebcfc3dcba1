/**
 * What happens after the 2xx: delivery to the forward URL and to code handlers, retries with backoff, the dead
 * letters (listed and replayed through the admin routes), two gateways sharing one store, a store outage
 * (503, then recovery), an unreachable store at startup, and the public URL Twilio signs.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { twilio } from '@integrations/twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, WebhookStoreError } from '../src/index.js';
import { backoffMs } from '../src/webhooks/delivery.js';
import { bearer, gatewayFrom, probe, type TempDir, tempDir } from './support.js';
import {
  DATABASE_URL,
  database,
  eventually,
  type Receiver,
  requirePostgres,
  startReceiver,
  startTcpRelay,
  type TcpRelay,
  testSchema,
  twilioSignature,
  twilioStatusCallback,
} from './webhooks-support.js';

const available = await requirePostgres();

const ADMIN = 'admin-key-0123456789abcdef';
const ACME = 'acme-key-0123456789abcdef';
const SECRET = 'orders-hook-secret-0123456789';
const TWILIO_TOKEN = '0123456789abcdef0123456789abcdef';

const config = (storeUrl: string, schema: string, receiverUrl: string) => `
server:
  adminApiKey: ${ADMIN}
  webhooks:
    store: { kind: postgres, url: "${storeUrl}", schema: ${schema}, maxConnections: 3 }
    publicUrl: https://hooks.example.com/gw/
    delivery: { maxAttempts: 3, initialDelayMs: 20, backoffMultiplier: 2, jitter: none, pollIntervalMs: 100, timeoutMs: 500 }
defaults:
  healthCheck: { intervalMs: 600000 }
  retry: false
integrations:
  orders:
    connector: probe
    config: { baseUrl: "http://127.0.0.1:9", token: probe-token-0001 }
    webhooks:
      scheme: hmac-sha256
      secrets: ["${SECRET}"]
      forwardUrl: ${receiverUrl}
      hmac: { signatureHeader: x-signature, idField: id, typeField: type }
  audit:
    connector: probe
    config: { baseUrl: "http://127.0.0.1:9", token: probe-token-0001 }
    webhooks:
      scheme: hmac-sha256
      secrets: ["${SECRET}"]
      hmac: { signatureHeader: x-signature, idField: id, typeField: type }
  sms:
    connector: twilio
    config: { accountSid: AC0123456789abcdef0123456789abcdef, authToken: "${TWILIO_TOKEN}", apiBaseUrl: "http://127.0.0.1:9" }
    webhooks: { secrets: ["${TWILIO_TOKEN}"] }
tenants:
  acme:
    apiKeys: ["${ACME}"]
  globex:
    integrations: [audit]
`;

let dir: TempDir;
let receiver: Receiver;
let gateway: Gateway;
let base: string;
const schema = testSchema('delivery');
const db = database();
/** What the code handler saw: event id and attempt, in order. */
const handled: { eventId: string; attempt: number }[] = [];
/** Event ids the code handler fails once (by throwing) or stalls once (never resolving). */
const throwOnce = new Set<string>();
const stallOnce = new Set<string>();

async function gatewayOn(storeUrl: string, storeSchema: string): Promise<Gateway> {
  const file = await dir.write(`gateway-${randomUUID()}.yaml`, config(storeUrl, storeSchema, receiver.url));
  return gatewayFrom(file, { connectors: { probe, twilio } });
}

beforeAll(async () => {
  if (!available) return;
  dir = await tempDir();
  receiver = await startReceiver();
  gateway = await gatewayOn(DATABASE_URL, schema);
  gateway.onWebhook((event, context) => {
    if (event.integration !== 'audit') return;
    handled.push({ eventId: event.eventId, attempt: context.attempt });
    if (throwOnce.delete(event.eventId)) throw new Error('audit log is read-only right now');
    if (stallOnce.delete(event.eventId)) return new Promise(() => {});
  });
  base = await gateway.listen({ host: '127.0.0.1', port: 0 });
  await gateway.enable();
});

afterAll(async () => {
  await gateway?.close({ graceMs: 1000 });
  await receiver?.close();
  await db.drop(schema).catch(() => {});
  await db.end();
  await dir?.remove();
});

function signed(event: Record<string, unknown>) {
  const body = JSON.stringify(event);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
    },
  };
}

async function send(integration: string, event: Record<string, unknown>, to = base, tenant = 'acme') {
  const { body, headers } = signed(event);
  const response = await fetch(`${to}/webhooks/${tenant}/${integration}`, { method: 'POST', body, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const newEvent = (type = 'order.created') => ({ id: `ord_${randomUUID()}`, type, total: 1200 });

const stored = async (eventId: string) => {
  const [row] = await db.rows(schema, `event_id = '${eventId}'`);
  return row as
    | { id: string; status: string; attempts: number; last_error: string | null; replays: number }
    | undefined;
};

describe('backoff', () => {
  const settings = {
    maxAttempts: 5,
    initialDelayMs: 100,
    backoffMultiplier: 3,
    maxDelayMs: 1000,
    jitter: 'none' as const,
    timeoutMs: 1000,
    concurrency: 1,
    pollIntervalMs: 100,
  };

  it('grows by the multiplier up to the cap; full jitter draws below it', () => {
    expect([1, 2, 3, 4].map((failed) => backoffMs(settings, failed, () => 0.5))).toEqual([100, 300, 900, 1000]);
    expect(backoffMs({ ...settings, jitter: 'full' }, 3, () => 0.5)).toBe(450);
  });
});

describe.skipIf(!available)('delivery to the forward URL', () => {
  it('POSTs the event as JSON and retries with backoff until the receiver takes it', async () => {
    const event = newEvent();
    receiver.failFor(event.id, 2);
    const answer = await send('orders', event);
    expect(answer).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    const got = await eventually(() => receiver.delivered.find((e) => e.eventId === event.id), 'forwarded event');
    expect(got).toMatchObject({ id: answer.body.id, tenant: 'acme', integration: 'orders', type: 'order.created' });
    expect(got.payload).toEqual(event);
    expect(receiver.seen.filter((s) => s.eventId === event.id).map((s) => s.attempt)).toEqual(['1', '2', '3']);
    const row = await eventually(async () => {
      const r = await stored(event.id);
      return r?.status === 'delivered' ? r : undefined;
    }, 'delivered row');
    expect(row).toMatchObject({ attempts: 3, last_error: null });
  });
});

describe.skipIf(!available)('dead letters', () => {
  let dead: ReturnType<typeof newEvent>;

  beforeAll(async () => {
    if (!available) return;
    dead = newEvent('order.cancelled');
    receiver.failFor(dead.id, 1000);
    expect((await send('orders', dead)).status).toBe(200);
    await eventually(async () => (await stored(dead.id))?.status === 'dead', 'dead letter');
  });

  const list = (headers: Record<string, string>, query = '') =>
    fetch(`${base}/webhooks/dead-letters${query}`, { headers });

  it('moves an event to the dead letters after maxAttempts, with the last error', async () => {
    const response = await list(bearer(ADMIN));
    expect(response.status).toBe(200);
    const { total, deadLetters } = (await response.json()) as {
      total: number;
      deadLetters: Record<string, unknown>[];
    };
    const entry = deadLetters.find((d) => d.eventId === dead.id);
    expect(total).toBeGreaterThanOrEqual(1);
    expect(entry).toMatchObject({
      tenant: 'acme',
      integration: 'orders',
      provider: 'probe',
      type: 'order.cancelled',
      attempts: 3,
      replays: 0,
      lastError: `forward to ${new URL(receiver.url).origin}/events answered 500`,
      payload: dead,
    });
    expect(receiver.seen.filter((s) => s.eventId === dead.id)).toHaveLength(3);
  });

  it('lists only for the admin key, narrowed by X-Tenant-Id and integration', async () => {
    expect((await list({})).status).toBe(401);
    expect((await list(bearer(ACME))).status).toBe(403);
    expect((await list({ ...bearer(ADMIN), 'x-tenant-id': 'nobody' })).status).toBe(404);
    const ids = async (headers: Record<string, string>, query = '') =>
      ((await (await list(headers, query)).json()) as { deadLetters: { eventId: string }[] }).deadLetters.map(
        (d) => d.eventId,
      );
    expect(await ids({ ...bearer(ADMIN), 'x-tenant-id': 'acme' })).toContain(dead.id);
    expect(await ids({ ...bearer(ADMIN), 'x-tenant-id': 'globex' })).not.toContain(dead.id);
    expect(await ids(bearer(ADMIN), '?integration=audit')).not.toContain(dead.id);
  });

  it('replays a dead letter: it is delivered, and cannot be replayed twice', async () => {
    const row = await stored(dead.id);
    receiver.failFor(dead.id, 0);
    const replay = (id: string, key = ADMIN) =>
      fetch(`${base}/webhooks/dead-letters/${id}/replay`, { method: 'POST', headers: bearer(key) });
    expect((await replay(row?.id as string, ACME)).status).toBe(403);
    const response = await replay(row?.id as string);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: row?.id, status: 'pending' });
    await eventually(() => receiver.delivered.find((e) => e.eventId === dead.id), 'replayed delivery');
    await eventually(async () => (await stored(dead.id))?.status === 'delivered', 'delivered after replay');
    expect(await stored(dead.id)).toMatchObject({ replays: 1, attempts: 1 });
    expect((await replay(row?.id as string)).status).toBe(404);
    expect((await replay(randomUUID())).status).toBe(404);
    expect((await replay('not-a-uuid')).status).toBe(404);
  });
});

describe.skipIf(!available)('code handlers (gateway.onWebhook)', () => {
  it('retries a handler that throws, with the attempt number', async () => {
    const event = newEvent('audit.entry');
    throwOnce.add(event.id);
    expect((await send('audit', event)).status).toBe(200);
    await eventually(async () => (await stored(event.id))?.status === 'delivered', 'delivered after a throw');
    expect(handled.filter((h) => h.eventId === event.id)).toEqual([
      { eventId: event.id, attempt: 1 },
      { eventId: event.id, attempt: 2 },
    ]);
  });

  it('times out a handler that never settles and tries again', async () => {
    const event = newEvent('audit.entry');
    stallOnce.add(event.id);
    expect((await send('audit', event, base, 'globex')).status).toBe(200);
    await eventually(async () => (await stored(event.id))?.status === 'delivered', 'delivered after a stall');
    expect(handled.filter((h) => h.eventId === event.id).map((h) => h.attempt)).toEqual([1, 2]);
  });

  it('is refused when the config has no webhooks', async () => {
    const file = await dir.write(
      'plain.yaml',
      'integrations:\n  p:\n    connector: probe\n    config: { baseUrl: "http://127.0.0.1:9", token: probe-token-0001 }\n',
    );
    const plain = await gatewayFrom(file, { connectors: { probe } });
    try {
      expect(() => plain.onWebhook(() => {})).toThrow(/add server\.webhooks/);
      expect((await plain.app.inject({ method: 'POST', url: '/webhooks/default/p', payload: '{}' })).statusCode).toBe(
        404,
      );
    } finally {
      await plain.close();
    }
  });
});

describe.skipIf(!available)('two gateways on one store', () => {
  it('deliver each event exactly once between them', async () => {
    const second = await gatewayOn(DATABASE_URL, schema);
    const secondBase = await second.listen({ host: '127.0.0.1', port: 0 });
    await second.enable();
    try {
      const events = Array.from({ length: 20 }, () => newEvent('order.paid'));
      const answers = await Promise.all(events.map((e, i) => send('orders', e, i % 2 === 0 ? base : secondBase)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const ids = new Set(events.map((e) => e.id));
      await eventually(
        () => receiver.delivered.filter((e) => ids.has(e.eventId)).length >= events.length,
        'all 20 delivered',
      );
      await eventually(
        async () => (await db.rows(schema, `event_type = 'order.paid' AND status = 'delivered'`)).length === 20,
        'rows',
      );
      const counts = new Map<string, number>();
      for (const e of receiver.delivered)
        if (ids.has(e.eventId)) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(counts.size).toBe(20);
    } finally {
      await second.close({ graceMs: 1000 });
    }
  });
});

describe.skipIf(!available)('the store', () => {
  let relay: TcpRelay;
  const relaySchema = testSchema('outage');

  afterAll(async () => {
    await relay?.close();
    await db.drop(relaySchema).catch(() => {});
  });

  it('answers 503 with Retry-After while it is unreachable, and 200 again once it is back', async () => {
    const target = new URL(DATABASE_URL);
    relay = await startTcpRelay({ host: target.hostname, port: Number(target.port || 5432) });
    const viaRelay = new URL(DATABASE_URL);
    viaRelay.port = String(relay.port);
    const flaky = await gatewayOn(viaRelay.toString(), relaySchema);
    const flakyBase = await flaky.listen({ host: '127.0.0.1', port: 0 });
    try {
      await relay.cut();
      const { body, headers } = signed(newEvent());
      const down = await fetch(`${flakyBase}/webhooks/acme/orders`, { method: 'POST', body, headers });
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(await down.json()).toMatchObject({ code: 'webhook_store_unavailable' });
      await relay.restore();
      const up = await eventually(async () => {
        const response = await fetch(`${flakyBase}/webhooks/acme/orders`, { method: 'POST', body, headers });
        return response.status === 200 ? response : undefined;
      }, 'the store back');
      expect(await up.json()).toMatchObject({ received: true, duplicate: false });
    } finally {
      await flaky.close({ graceMs: 500 });
    }
  });

  it('stops the gateway from starting when it cannot be reached, naming it without its password', async () => {
    const closed = await startTcpRelay({ host: '127.0.0.1', port: 9 });
    const port = closed.port;
    await closed.close();
    const error = await gatewayOn(`postgres://gateway:hunter2-password@127.0.0.1:${port}/test`, 'unused').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookStoreError);
    expect((error as Error).message).toContain(`webhook store postgres://127.0.0.1:${port}/test`);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe.skipIf(!available)('the public URL', () => {
  it('verifies Twilio against server.webhooks.publicUrl, not the address the request came to', async () => {
    const params = twilioStatusCallback('sent');
    const post = (signature: string) =>
      fetch(`${base}/webhooks/acme/sms`, {
        method: 'POST',
        body: new URLSearchParams(params).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      });
    expect((await post(twilioSignature(TWILIO_TOKEN, `${base}/webhooks/acme/sms`, params))).status).toBe(401);
    const publicUrl = 'https://hooks.example.com/gw/webhooks/acme/sms';
    expect((await post(twilioSignature(TWILIO_TOKEN, publicUrl, params))).status).toBe(200);
  });
});
