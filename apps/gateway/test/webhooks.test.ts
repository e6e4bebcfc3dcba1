/**
 * Inbound webhooks over real HTTP, signed with the providers' own SDK helpers (Stripe, Twilio), a real ECDSA P-256
 * key pair (SendGrid) and the generic HMAC-SHA256 scheme (GitHub and Slack style): accepted and delivered,
 * rejected with the right status and reason, deduplicated, and with old and new secrets during a rotation.
 */
import { createHmac } from 'node:crypto';
import { sendgrid } from '@integrations/sendgrid';
import { stripe } from '@integrations/stripe';
import { twilio } from '@integrations/twilio';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway, WebhookEvent } from '../src/index.js';
import { bearer, gatewayFrom, LogSink, probe, type TempDir, tempDir } from './support.js';
import {
  DATABASE_URL,
  database,
  eventually,
  requirePostgres,
  type SendGridKeys,
  sendgridEvents,
  sendgridKeys,
  sendgridSignature,
  stripeEvent,
  stripeSignature,
  testSchema,
  twilioSignature,
  twilioStatusCallback,
} from './webhooks-support.js';

const available = await requirePostgres();

const ADMIN = 'admin-key-0123456789abcdef';
const ACME = 'acme-key-0123456789abcdef';
const STRIPE_NEW = 'whsec_new_0123456789abcdefghij';
const STRIPE_OLD = 'whsec_old_0123456789abcdefghij';
const TWILIO_TOKEN = '0123456789abcdef0123456789abcdef';
const GITHUB_SECRET = 'github-hook-secret-0123456789';
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

const CONFIG = `
server:
  adminApiKey: \${ADMIN_KEY}
  webhooks:
    store: { kind: postgres, url: "\${DATABASE_URL}", schema: "\${SCHEMA}", maxConnections: 4 }
    delivery: { maxAttempts: 3, initialDelayMs: 10, pollIntervalMs: 200, timeoutMs: 2000 }
defaults:
  healthCheck: { intervalMs: 600000 }
  retry: false
integrations:
  payments:
    connector: stripe
    config: { apiKey: sk_test_0123456789, apiBaseUrl: "http://127.0.0.1:9" }
    webhooks:
      secrets: ["\${STRIPE_NEW}", "\${STRIPE_OLD}"]
      maxBodyBytes: 4096
  sms:
    connector: twilio
    config: { accountSid: AC0123456789abcdef0123456789abcdef, authToken: "\${TWILIO_TOKEN}", apiBaseUrl: "http://127.0.0.1:9" }
    webhooks: { secrets: ["\${TWILIO_TOKEN}"] }
  email:
    connector: sendgrid
    config: { apiKey: SG.test-key-0123456789, apiBaseUrl: "http://127.0.0.1:9" }
    webhooks: { secrets: ["\${SENDGRID_PUBLIC_KEY}"], toleranceSeconds: 600 }
  github:
    connector: probe
    config: { baseUrl: "http://127.0.0.1:9", token: probe-token-0001 }
    webhooks:
      scheme: hmac-sha256
      secrets: ["\${GITHUB_SECRET}"]
      hmac: { signatureHeader: X-Hub-Signature-256, prefix: "sha256=", idHeader: X-GitHub-Delivery, typeHeader: X-GitHub-Event }
  slack:
    connector: probe
    config: { baseUrl: "http://127.0.0.1:9", token: probe-token-0001 }
    webhooks:
      scheme: hmac-sha256
      secrets: ["\${SLACK_SECRET}"]
      hmac:
        signatureHeader: x-slack-signature
        timestampHeader: x-slack-request-timestamp
        prefix: "v0="
        signedPayload: "v0:{timestamp}:{body}"
        idField: event_id
        typeField: event.type
  plain:
    connector: probe
    config: { baseUrl: "http://127.0.0.1:9", token: probe-token-0001 }
tenants:
  acme:
    apiKeys: ["\${ACME_KEY}"]
    integrations: [payments, sms, email, github, slack, plain]
  globex:
    integrations: [plain]
`;

let dir: TempDir;
let gateway: Gateway;
let base: string;
let keys: SendGridKeys;
const schema = testSchema('ingest');
const db = database();
const logs = new LogSink();
const delivered: WebhookEvent[] = [];

beforeAll(async () => {
  if (!available) return;
  dir = await tempDir();
  keys = sendgridKeys();
  const file = await dir.write('webhooks.yaml', CONFIG);
  gateway = await gatewayFrom(file, {
    env: {
      ADMIN_KEY: ADMIN,
      ACME_KEY: ACME,
      DATABASE_URL,
      SCHEMA: schema,
      STRIPE_NEW,
      STRIPE_OLD,
      TWILIO_TOKEN,
      SENDGRID_PUBLIC_KEY: keys.publicKey,
      GITHUB_SECRET,
      SLACK_SECRET,
    },
    connectors: { stripe, twilio, sendgrid, probe },
    logs,
  });
  gateway.onWebhook((event) => {
    delivered.push(event);
  });
  base = await gateway.listen({ host: '127.0.0.1', port: 0 });
  await gateway.enable();
});

afterAll(async () => {
  await gateway?.close({ graceMs: 1000 });
  await db.drop(schema).catch(() => {});
  await db.end();
  await dir?.remove();
});

const post = (path: string, body: string, headers: Record<string, string>) =>
  fetch(`${base}${path}`, { method: 'POST', body, headers });

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const deliveredOnce = (eventId: string) =>
  eventually(() => {
    const matches = delivered.filter((e) => e.eventId === eventId);
    return matches.length === 1 ? matches[0] : undefined;
  }, `delivery of ${eventId}`);

function signedStripe(event: object, secret = STRIPE_NEW, timestamp?: number) {
  const body = JSON.stringify(event);
  return {
    body,
    headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body, secret, timestamp) },
  };
}

describe.skipIf(!available)('Stripe (the SDK’s generateTestHeaderString)', () => {
  it('accepts a signed event with 200 and delivers it once to the handler', async () => {
    const event = stripeEvent();
    const { body, headers } = signedStripe(event);
    const { status, body: answerBody } = await answer(await post('/webhooks/acme/payments', body, headers));
    expect(status).toBe(200);
    expect(answerBody).toMatchObject({ received: true, duplicate: false });
    const got = await deliveredOnce(event.id);
    expect(got).toMatchObject({
      id: answerBody.id,
      tenant: 'acme',
      integration: 'payments',
      provider: 'stripe',
      eventId: event.id,
      type: 'payment_intent.succeeded',
      occurredAt: new Date(event.created * 1000).toISOString(),
      payload: event,
    });
  });

  it('acknowledges a redelivery as a duplicate and delivers the event once', async () => {
    const event = stripeEvent('charge.refunded');
    const once = signedStripe(event);
    const first = await answer(await post('/webhooks/acme/payments', once.body, once.headers));
    // Stripe retries with a fresh timestamp and signature: the event id is what makes it the same event.
    const again = signedStripe(event, STRIPE_NEW, Math.floor(Date.now() / 1000) - 5);
    const second = await answer(await post('/webhooks/acme/payments', again.body, again.headers));
    expect(first).toMatchObject({ status: 200, body: { duplicate: false } });
    expect(second).toMatchObject({ status: 200, body: { duplicate: true, id: first.body.id } });
    await deliveredOnce(event.id);
    const rows = await db.rows(schema, `event_id = '${event.id}'`);
    expect(rows).toHaveLength(1);
    await eventually(
      async () => (await db.rows(schema, `event_id = '${event.id}' AND status = 'delivered'`)).length === 1,
      'delivered status',
    );
    expect(delivered.filter((e) => e.eventId === event.id)).toHaveLength(1);
  });

  it('accepts the old and the new signing secret during a rotation', async () => {
    const withOld = stripeEvent();
    const withNew = stripeEvent();
    const a = signedStripe(withOld, STRIPE_OLD);
    const b = signedStripe(withNew, STRIPE_NEW);
    expect((await post('/webhooks/acme/payments', a.body, a.headers)).status).toBe(200);
    expect((await post('/webhooks/acme/payments', b.body, b.headers)).status).toBe(200);
    await deliveredOnce(withOld.id);
    await deliveredOnce(withNew.id);
  });

  it('refuses a tampered body, a wrong secret, a missing signature and an expired timestamp with 401', async () => {
    const event = stripeEvent();
    const { body, headers } = signedStripe(event);
    const tampered = await answer(await post('/webhooks/acme/payments', body.replace('2000', '1'), headers));
    expect(tampered).toEqual({
      status: 401,
      body: {
        statusCode: 401,
        error: 'Unauthorized',
        code: 'webhook_signature_invalid',
        message: 'the Stripe webhook signature does not match any accepted signing secret',
      },
    });
    const wrong = signedStripe(event, 'whsec_someone_else_0123456789');
    expect(await answer(await post('/webhooks/acme/payments', wrong.body, wrong.headers))).toMatchObject({
      status: 401,
      body: { code: 'webhook_signature_invalid' },
    });
    const missing = await answer(await post('/webhooks/acme/payments', body, { 'content-type': 'application/json' }));
    expect(missing).toMatchObject({ status: 401, body: { code: 'webhook_signature_invalid' } });
    expect(missing.body.message).toContain('stripe-signature header is missing');
    const old = signedStripe(event, STRIPE_NEW, Math.floor(Date.now() / 1000) - 3600);
    const expired = await answer(await post('/webhooks/acme/payments', old.body, old.headers));
    expect(expired).toMatchObject({ status: 401, body: { code: 'webhook_timestamp_expired' } });
    expect(expired.body.message).toContain('older than the 300 s tolerance');
    // None of these reached the store.
    expect(await db.rows(schema, `event_id = '${event.id}'`)).toHaveLength(0);
  });

  it('answers 413 for a body over maxBodyBytes, whether announced by Content-Length or streamed', async () => {
    const event = stripeEvent('big', { description: 'x'.repeat(5000) });
    const { body, headers } = signedStripe(event);
    const announced = await answer(await post('/webhooks/acme/payments', body, headers));
    expect(announced).toEqual({
      status: 413,
      body: {
        statusCode: 413,
        error: 'Payload Too Large',
        code: 'webhook_body_too_large',
        message: 'the body is larger than 4096 bytes',
      },
    });
    const bytes = new TextEncoder().encode(body);
    const streamed = await fetch(`${base}/webhooks/acme/payments`, {
      method: 'POST',
      headers,
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, 2000));
          controller.enqueue(bytes.slice(2000));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(await answer(streamed)).toMatchObject({ status: 413, body: { code: 'webhook_body_too_large' } });
  });

  it('answers 400 for a signed body that is not a Stripe event', async () => {
    const body = 'this is not json';
    const response = await answer(
      await post('/webhooks/acme/payments', body, {
        'content-type': 'text/plain',
        'stripe-signature': stripeSignature(body, STRIPE_NEW),
      }),
    );
    expect(response).toMatchObject({ status: 400, body: { code: 'webhook_malformed', statusCode: 400 } });
  });
});

describe.skipIf(!available)('Twilio (the SDK’s getExpectedTwilioSignature, form-encoded)', () => {
  const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

  it('accepts a signed status callback and delivers its parameters', async () => {
    const params = twilioStatusCallback('delivered');
    const url = `${base}/webhooks/acme/sms`;
    const response = await answer(
      await post('/webhooks/acme/sms', form(params), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(TWILIO_TOKEN, url, params),
      }),
    );
    expect(response).toMatchObject({ status: 200, body: { duplicate: false } });
    const got = await deliveredOnce(`${params.MessageSid}:delivered`);
    expect(got).toMatchObject({ provider: 'twilio', type: 'message.delivered', payload: params });
  });

  it('refuses a changed parameter and a signature for another URL', async () => {
    const params = twilioStatusCallback('failed');
    const url = `${base}/webhooks/acme/sms`;
    const signature = twilioSignature(TWILIO_TOKEN, url, params);
    const changed = form({ ...params, MessageStatus: 'delivered', SmsStatus: 'delivered' });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature };
    expect(await answer(await post('/webhooks/acme/sms', changed, headers))).toMatchObject({
      status: 401,
      body: { code: 'webhook_signature_invalid' },
    });
    const elsewhere = twilioSignature(TWILIO_TOKEN, `${base}/webhooks/globex/sms`, params);
    expect(
      (await post('/webhooks/acme/sms', form(params), { ...headers, 'x-twilio-signature': elsewhere })).status,
    ).toBe(401);
  });
});

describe.skipIf(!available)('SendGrid (ECDSA P-256 over timestamp + payload)', () => {
  const signed = (events: object[], timestamp = String(Math.floor(Date.now() / 1000)), signer = keys) => {
    const body = JSON.stringify(events);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-twilio-email-event-webhook-signature': sendgridSignature(signer, timestamp, body),
        'x-twilio-email-event-webhook-timestamp': timestamp,
      },
    };
  };

  it('accepts a signed batch and delivers it', async () => {
    const events = sendgridEvents(3);
    const { body, headers } = signed(events);
    const response = await answer(await post('/webhooks/acme/email', body, headers));
    expect(response).toMatchObject({ status: 200, body: { duplicate: false } });
    await eventually(
      () => delivered.find((e) => e.provider === 'sendgrid' && JSON.stringify(e.payload) === body),
      'batch',
    );
  });

  it('refuses another key’s signature and an expired timestamp', async () => {
    const events = sendgridEvents(1);
    const other = signed(events, undefined, sendgridKeys());
    expect(await answer(await post('/webhooks/acme/email', other.body, other.headers))).toMatchObject({
      status: 401,
      body: { code: 'webhook_signature_invalid' },
    });
    const stale = signed(events, String(Math.floor(Date.now() / 1000) - 3600));
    const expired = await answer(await post('/webhooks/acme/email', stale.body, stale.headers));
    expect(expired).toMatchObject({ status: 401, body: { code: 'webhook_timestamp_expired' } });
    expect(expired.body.message).toContain('600 s');
  });
});

describe.skipIf(!available)('the generic HMAC-SHA256 scheme', () => {
  it('GitHub style: accepts sha256=<hex> of the body, id and type from headers; refuses a tampered body', async () => {
    const body = JSON.stringify({ action: 'opened', number: 42 });
    const delivery = `gh-${process.pid}-${Date.now()}`;
    const headers = {
      'content-type': 'application/json',
      'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`,
      'x-github-delivery': delivery,
      'x-github-event': 'pull_request',
    };
    expect((await post('/webhooks/acme/github', body, headers)).status).toBe(200);
    expect(await deliveredOnce(delivery)).toMatchObject({
      provider: 'probe',
      type: 'pull_request',
      payload: { number: 42 },
    });
    const tampered = await answer(await post('/webhooks/acme/github', body.replace('42', '43'), headers));
    expect(tampered).toMatchObject({ status: 401, body: { code: 'webhook_signature_invalid' } });
  });

  it('Slack style: a signed timestamp inside the window passes, an old one is refused', async () => {
    const eventId = `Ev${process.pid}${Date.now()}`;
    const body = JSON.stringify({ event_id: eventId, event: { type: 'app_mention', text: 'deploy' } });
    const sign = (timestamp: number) => ({
      'content-type': 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`,
    });
    const now = Math.floor(Date.now() / 1000);
    const stale = await answer(await post('/webhooks/acme/slack', body, sign(now - 600)));
    expect(stale).toMatchObject({ status: 401, body: { code: 'webhook_timestamp_expired' } });
    expect((await post('/webhooks/acme/slack', body, sign(now))).status).toBe(200);
    expect(await deliveredOnce(eventId)).toMatchObject({ type: 'app_mention' });
  });
});

describe.skipIf(!available)('endpoints', () => {
  it('answers one 404 for an unknown tenant, an unknown integration and one without webhooks', async () => {
    const event = stripeEvent();
    const { body, headers } = signedStripe(event);
    const answers = await Promise.all(
      ['/webhooks/nobody/payments', '/webhooks/acme/nothing', '/webhooks/acme/plain', '/webhooks/globex/payments'].map(
        async (path) => {
          const response = await post(path, body, headers);
          return `${response.status} ${await response.text()}`;
        },
      ),
    );
    expect(new Set(answers)).toEqual(new Set(['404 {"statusCode":404,"error":"Not Found","message":"not found"}']));
  });

  it('needs no API key, and the API-key routes still do', async () => {
    const event = stripeEvent();
    const { body, headers } = signedStripe(event);
    expect(
      (await post('/webhooks/acme/payments', body, { ...headers, ...bearer('wrong-key-0123456789abcdef') })).status,
    ).toBe(200);
    expect((await fetch(`${base}/integrations/status`)).status).toBe(401);
    expect((await fetch(`${base}/integrations/status`, { headers: bearer(ACME) })).status).toBe(200);
  });

  it('documents the webhook routes in a valid OpenAPI document', async () => {
    const json = await (await fetch(`${base}/docs/json`)).json();
    const result = await new Validator().validate(json);
    const doc = json as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
    };
    expect(result.errors ?? []).toEqual([]);
    const receive = doc.paths['/webhooks/{tenant}/{integration}']?.post;
    expect(Object.keys(receive?.responses ?? {}).sort()).toEqual(['200', '400', '401', '404', '413', '503']);
    expect(receive?.security).toBeUndefined();
    expect(doc.paths['/webhooks/dead-letters']?.get?.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(doc.paths['/webhooks/dead-letters/{id}/replay']?.post).toBeDefined();
  });

  it('never logs a signing secret', async () => {
    const event = stripeEvent();
    const wrong = signedStripe(event, 'whsec_someone_else_0123456789');
    await post('/webhooks/acme/payments', wrong.body, wrong.headers);
    const text = logs.text();
    for (const secret of [STRIPE_NEW, STRIPE_OLD, TWILIO_TOKEN, GITHUB_SECRET, SLACK_SECRET]) {
      expect(text).not.toContain(secret);
    }
  });
});
