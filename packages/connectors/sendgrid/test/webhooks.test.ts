import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { IntegrationError, type WebhookRequest } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { type PrismStandIn, specPath, startPrism } from '@integrations/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_BATCH_TYPE, sendgrid, sendgridWebhooks, verifySendGridWebhook } from '../src/index.js';

/** An Event Webhook signing key pair, and its public key as SendGrid's settings page shows it (base64 DER). */
function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey,
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const current = keyPair();
const previous = keyPair();
const stranger = keyPair();

const events = [
  {
    email: 'ada@example.com',
    timestamp: 1_767_225_600,
    'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>',
    event: 'processed',
    category: ['receipts'],
    sg_event_id: 'rbtnWrG1DVDGGGFHFyun0A==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000',
  },
  {
    email: 'ada@example.com',
    timestamp: 1_767_225_660,
    event: 'delivered',
    response: '250 OK',
    sg_event_id: 'sZROwMGMagFgnOEmSdvhig==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000',
  },
];
const body = JSON.stringify(events);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** SendGrid's scheme: ECDSA P-256 with SHA-256 over the timestamp header followed by the raw body, DER, base64. */
function signature(privateKey: KeyObject, timestamp: string, payload: string): string {
  return sign('sha256', Buffer.from(timestamp + payload), privateKey).toString('base64');
}

function delivery(
  payload: string,
  privateKey: KeyObject | undefined,
  options: { timestamp?: string; signedTimestamp?: string; signedPayload?: string } = {},
): WebhookRequest {
  const timestamp = options.timestamp ?? String(nowSeconds());
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-timestamp': timestamp,
  };
  if (privateKey) {
    headers['x-twilio-email-event-webhook-signature'] = signature(
      privateKey,
      options.signedTimestamp ?? timestamp,
      options.signedPayload ?? payload,
    );
  }
  return { url: 'https://hooks.example.com/sendgrid', headers, rawBody: new TextEncoder().encode(payload) };
}

function failureOf(run: () => unknown): IntegrationError {
  try {
    run();
  } catch (error) {
    expect(IntegrationError.isInstance(error)).toBe(true);
    return error as IntegrationError;
  }
  throw new Error('expected verification to fail');
}

describe('SendGrid Event Webhook verification', () => {
  it('the definition declares the signed Event Webhook verifier', () => {
    expect(sendgrid.webhooks).toBe(sendgridWebhooks);
    expect(sendgridWebhooks.signatureHeader).toBe('x-twilio-email-event-webhook-signature');
  });

  it('accepts a genuine batch; the id is the hash of the body, the payload the events', async () => {
    const verified = await sendgridWebhooks.verify(delivery(body, current.privateKey), {
      secrets: [current.publicKey],
    });
    expect(verified).toEqual({
      id: `sha256:${createHash('sha256').update(body).digest('hex')}`,
      type: EVENT_BATCH_TYPE,
      occurredAt: '2026-01-01T00:00:00.000Z',
      payload: events,
    });
  });

  it('gives the same id to a retried batch and another id to a batch that starts with the same event', () => {
    const options = { secrets: [current.publicKey] };
    const first = verifySendGridWebhook(body, headersOf(delivery(body, current.privateKey)), options);
    const retry = verifySendGridWebhook(
      body,
      headersOf(delivery(body, current.privateKey, { timestamp: String(nowSeconds() + 1) })),
      options,
    );
    expect(retry.id).toBe(first.id);
    const other = JSON.stringify([events[0]]);
    expect(verifySendGridWebhook(other, headersOf(delivery(other, current.privateKey)), options).id).not.toBe(first.id);
  });

  it('rejects a tampered payload as webhook_signature_invalid', () => {
    const tampered = body.replace('"delivered"', '"bounce"');
    const request = delivery(tampered, current.privateKey, { signedPayload: body });
    const error = failureOf(() => sendgridWebhooks.verify(request, { secrets: [current.publicKey] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid', retryable: false });
  });

  it('rejects a changed timestamp header (the timestamp is signed)', () => {
    const signedAt = String(nowSeconds() - 3600);
    const request = delivery(body, current.privateKey, { timestamp: String(nowSeconds()), signedTimestamp: signedAt });
    const error = failureOf(() => sendgridWebhooks.verify(request, { secrets: [current.publicKey] }));
    expect(error.code).toBe('webhook_signature_invalid');
  });

  it('rejects a signature made with another key', () => {
    const error = failureOf(() =>
      sendgridWebhooks.verify(delivery(body, stranger.privateKey), { secrets: [current.publicKey] }),
    );
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
  });

  it('rejects a right signature on an expired timestamp as webhook_timestamp_expired', () => {
    const stale = String(nowSeconds() - 600);
    const request = delivery(body, current.privateKey, { timestamp: stale });
    const error = failureOf(() => sendgridWebhooks.verify(request, { secrets: [current.publicKey] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_timestamp_expired' });
    expect(error.message).toContain('300 s tolerance');
    // A wider tolerance accepts it; so does a `now` near the signing time.
    const headers = headersOf(request);
    expect(verifySendGridWebhook(body, headers, { secrets: [current.publicKey], toleranceMs: 900_000 }).type).toBe(
      EVENT_BATCH_TYPE,
    );
    expect(
      verifySendGridWebhook(body, headers, { secrets: [current.publicKey], now: Number(stale) * 1000 + 5_000 }).type,
    ).toBe(EVENT_BATCH_TYPE);
    // A timestamp far in the future is refused as well.
    const future = delivery(body, current.privateKey, { timestamp: String(nowSeconds() + 3600) });
    expect(failureOf(() => sendgridWebhooks.verify(future, { secrets: [current.publicKey] })).code).toBe(
      'webhook_timestamp_expired',
    );
  });

  it('during a key rotation accepts the old and the new key; a retired key stops working', () => {
    const secrets = [current.publicKey, previous.publicKey];
    expect(sendgridWebhooks.verify(delivery(body, previous.privateKey), { secrets })).toMatchObject({
      type: EVENT_BATCH_TYPE,
    });
    expect(sendgridWebhooks.verify(delivery(body, current.privateKey), { secrets })).toMatchObject({
      type: EVENT_BATCH_TYPE,
    });
    const retired = failureOf(() =>
      sendgridWebhooks.verify(delivery(body, previous.privateKey), { secrets: [current.publicKey] }),
    );
    expect(retired.code).toBe('webhook_signature_invalid');
  });

  it('accepts the public key in PEM form too', () => {
    expect(sendgridWebhooks.verify(delivery(body, current.privateKey), { secrets: [current.pem] })).toMatchObject({
      type: EVENT_BATCH_TYPE,
    });
  });

  it('rejects missing headers and a garbled signature, naming the header', () => {
    const unsigned = failureOf(() =>
      sendgridWebhooks.verify(delivery(body, undefined), { secrets: [current.publicKey] }),
    );
    expect(unsigned).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
    expect(unsigned.message).toContain('x-twilio-email-event-webhook-signature');
    const signed = delivery(body, current.privateKey);
    const { 'x-twilio-email-event-webhook-timestamp': _dropped, ...noTimestamp } = signed.headers;
    const undated = failureOf(() =>
      sendgridWebhooks.verify({ ...signed, headers: noTimestamp }, { secrets: [current.publicKey] }),
    );
    expect(undated.message).toContain('x-twilio-email-event-webhook-timestamp');
    const garbled = {
      ...signed,
      headers: { ...signed.headers, 'x-twilio-email-event-webhook-signature': 'bm90IGEgc2lnbmF0dXJl' },
    };
    expect(failureOf(() => sendgridWebhooks.verify(garbled, { secrets: [current.publicKey] })).code).toBe(
      'webhook_signature_invalid',
    );
  });

  it('rejects a signed body that is not a batch of events as webhook_malformed', () => {
    for (const payload of ['not json', '{"event":"processed"}', '[]', '[{"email":"a@example.com"}]']) {
      const error = failureOf(() =>
        sendgridWebhooks.verify(delivery(payload, current.privateKey), { secrets: [current.publicKey] }),
      );
      expect(error).toMatchObject({ kind: 'invalid_request', code: 'webhook_malformed' });
    }
  });

  it('refuses to verify without a usable public key', () => {
    const none = failureOf(() => sendgridWebhooks.verify(delivery(body, current.privateKey), { secrets: [] }));
    expect(none).toMatchObject({ kind: 'invalid_config', code: 'webhook_secret_missing' });
    const garbage = failureOf(() =>
      sendgridWebhooks.verify(delivery(body, current.privateKey), { secrets: ['not-a-public-key'] }),
    );
    expect(garbage).toMatchObject({ kind: 'invalid_config', code: 'webhook_public_key_invalid' });
  });
});

function headersOf(request: WebhookRequest) {
  return {
    signature: request.headers['x-twilio-email-event-webhook-signature'],
    timestamp: request.headers['x-twilio-email-event-webhook-timestamp'],
  };
}

describe('verifyWebhook on an instance', () => {
  let prism: PrismStandIn;
  beforeAll(async () => {
    prism = await startPrism(specPath('sendgrid/tsg_mail_v3.json'));
  });
  afterAll(async () => {
    await prism?.stop();
  });

  it('uses the configured webhookPublicKey, or the keys it is given', async () => {
    const registry = createRegistry();
    try {
      const withKey = registry.register(sendgrid, {
        name: 'hooks',
        config: { apiKey: 'SG.webhooks', apiBaseUrl: prism.url, webhookPublicKey: current.publicKey },
        healthCheck: false,
      });
      const without = registry.register(sendgrid, {
        name: 'no-hooks',
        config: { apiKey: 'SG.webhooks', apiBaseUrl: prism.url },
        healthCheck: false,
      });
      await registry.enableAll();
      expect(withKey.verifyWebhook(delivery(body, current.privateKey)).payload).toEqual(events);
      const rotated = without.verifyWebhook(delivery(body, previous.privateKey), { secrets: [previous.publicKey] });
      expect(rotated.type).toBe(EVENT_BATCH_TYPE);
      const error = failureOf(() => without.verifyWebhook(delivery(body, current.privateKey)));
      expect(error.kind).toBe('invalid_config');
      expect(error.message).toContain('webhookPublicKey');
    } finally {
      await registry.close();
    }
  });

  it('rejects a webhookPublicKey that is not an ECDSA P-256 public key, naming the field', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    const registry = createRegistry();
    try {
      registry.register(sendgrid, {
        name: 'bad-key',
        config: { apiKey: 'SG.webhooks', apiBaseUrl: prism.url, webhookPublicKey: rsa },
        healthCheck: false,
      });
      const error = (await registry.enable('bad-key').catch((e: unknown) => e)) as IntegrationError;
      expect(IntegrationError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'invalid_config' });
      expect(error.message).toContain('webhookPublicKey');
    } finally {
      await registry.close();
    }
  });
});
