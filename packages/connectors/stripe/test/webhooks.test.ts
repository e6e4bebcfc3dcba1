import { IntegrationError, type WebhookRequest } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { type StripeFake, startStripeFake } from '@integrations/testkit/fakes/stripe';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripe, stripeWebhooks, verifyStripeWebhook } from '../src/index.js';

const OLD_SECRET = 'whsec_old_signing_secret_0001';
const NEW_SECRET = 'whsec_new_signing_secret_0002';
const nowSeconds = () => Math.floor(Date.now() / 1000);

const event = {
  id: 'evt_1PayMeNow',
  object: 'event',
  api_version: '2026-10-28.endive',
  created: 1_767_225_600,
  data: { object: { id: 'pi_123', object: 'payment_intent', amount: 2000, status: 'succeeded' } },
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type: 'payment_intent.succeeded',
};
const body = JSON.stringify(event, null, 2);

/** A delivery as the gateway receives it: the raw bytes and Stripe's real signature header. */
function delivery(payload: string, header: string | undefined): WebhookRequest {
  return {
    url: 'https://hooks.example.com/stripe',
    headers: header === undefined ? {} : { 'stripe-signature': header },
    rawBody: new TextEncoder().encode(payload),
  };
}

function sign(payload: string, secret: string, timestamp = nowSeconds()): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
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

describe('Stripe webhook verification', () => {
  it('the definition declares the Stripe-Signature verifier', () => {
    expect(stripe.webhooks).toBe(stripeWebhooks);
    expect(stripeWebhooks.signatureHeader).toBe('stripe-signature');
  });

  it('accepts a genuine delivery and returns the event', async () => {
    const verified = await stripeWebhooks.verify(delivery(body, sign(body, NEW_SECRET)), { secrets: [NEW_SECRET] });
    expect(verified).toMatchObject({
      id: 'evt_1PayMeNow',
      type: 'payment_intent.succeeded',
      occurredAt: '2026-01-01T00:00:00.000Z',
    });
    expect(verified.payload).toEqual(event);
  });

  it('rejects a tampered body as webhook_signature_invalid', () => {
    const header = sign(body, NEW_SECRET);
    const tampered = body.replace('"amount": 2000', '"amount": 1');
    const error = failureOf(() => stripeWebhooks.verify(delivery(tampered, header), { secrets: [NEW_SECRET] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid', retryable: false });
  });

  it('rejects a signature made with another secret, and never echoes the secrets', () => {
    const header = sign(body, 'whsec_someone_else');
    const error = failureOf(() => stripeWebhooks.verify(delivery(body, header), { secrets: [NEW_SECRET] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
    expect(JSON.stringify(error.toJSON())).not.toContain(NEW_SECRET);
    expect(error.message).not.toContain('whsec_');
  });

  it('rejects a right signature on a stale timestamp as webhook_timestamp_expired', () => {
    const header = sign(body, NEW_SECRET, nowSeconds() - 600);
    const error = failureOf(() => stripeWebhooks.verify(delivery(body, header), { secrets: [NEW_SECRET] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_timestamp_expired' });
    // A wider tolerance accepts it; a `now` in the past makes it fresh again.
    expect(verifyStripeWebhook(body, header, { secrets: [NEW_SECRET], toleranceMs: 900_000 }).id).toBe(event.id);
    expect(verifyStripeWebhook(body, header, { secrets: [NEW_SECRET], now: Date.now() - 590_000 }).id).toBe(event.id);
  });

  it('applies a tight tolerance', () => {
    const header = sign(body, NEW_SECRET, nowSeconds() - 30);
    expect(verifyStripeWebhook(body, header, { secrets: [NEW_SECRET] }).id).toBe(event.id);
    const error = failureOf(() => verifyStripeWebhook(body, header, { secrets: [NEW_SECRET], toleranceMs: 10_000 }));
    expect(error.code).toBe('webhook_timestamp_expired');
  });

  it('during a rotation accepts both the old and the new secret', () => {
    const secrets = [NEW_SECRET, OLD_SECRET];
    expect(verifyStripeWebhook(body, sign(body, OLD_SECRET), { secrets }).id).toBe(event.id);
    expect(verifyStripeWebhook(body, sign(body, NEW_SECRET), { secrets }).id).toBe(event.id);
    // Stripe signs with both secrets while a rotation overlaps: one header, two v1 signatures.
    const timestamp = nowSeconds();
    const [oldHeader, newHeader] = [OLD_SECRET, NEW_SECRET].map((secret) => sign(body, secret, timestamp));
    const both = `${newHeader},${oldHeader?.split(',').find((part) => part.startsWith('v1='))}`;
    expect(verifyStripeWebhook(body, both, { secrets: [OLD_SECRET] }).id).toBe(event.id);
    expect(verifyStripeWebhook(body, both, { secrets: [NEW_SECRET] }).id).toBe(event.id);
    // Once the old secret is retired, its signatures stop working.
    const retired = failureOf(() => verifyStripeWebhook(body, sign(body, OLD_SECRET), { secrets: [NEW_SECRET] }));
    expect(retired.code).toBe('webhook_signature_invalid');
  });

  it('rejects a missing or garbled signature header', () => {
    const missing = failureOf(() => stripeWebhooks.verify(delivery(body, undefined), { secrets: [NEW_SECRET] }));
    expect(missing).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
    expect(missing.message).toContain('stripe-signature');
    const garbled = failureOf(() =>
      stripeWebhooks.verify(delivery(body, 'not-a-signature'), { secrets: [NEW_SECRET] }),
    );
    expect(garbled).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
  });

  it('rejects a signed body that is not an event as webhook_malformed', () => {
    const notJson = 'this is not json';
    const error = failureOf(() => verifyStripeWebhook(notJson, sign(notJson, NEW_SECRET), { secrets: [NEW_SECRET] }));
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'webhook_malformed' });
    const noId = JSON.stringify({ object: 'event' });
    const noIdError = failureOf(() => verifyStripeWebhook(noId, sign(noId, NEW_SECRET), { secrets: [NEW_SECRET] }));
    expect(noIdError.code).toBe('webhook_malformed');
  });

  it('refuses to verify without any secret', () => {
    const error = failureOf(() => verifyStripeWebhook(body, sign(body, NEW_SECRET), { secrets: [] }));
    expect(error).toMatchObject({ kind: 'invalid_config', code: 'webhook_secret_missing' });
  });
});

describe('verifyWebhook on an instance', () => {
  let fake: StripeFake;
  beforeAll(async () => {
    fake = await startStripeFake();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('uses the configured webhookSecret, or the secrets it is given', async () => {
    const registry = createRegistry();
    try {
      const withSecret = registry.register(stripe, {
        name: 'hooks',
        config: { apiKey: 'sk_test_webhooks', apiBaseUrl: fake.url, webhookSecret: NEW_SECRET },
        healthCheck: false,
      });
      const without = registry.register(stripe, {
        name: 'no-hooks',
        config: { apiKey: 'sk_test_webhooks', apiBaseUrl: fake.url },
        healthCheck: false,
      });
      await registry.enableAll();
      expect(withSecret.verifyWebhook(delivery(body, sign(body, NEW_SECRET))).type).toBe('payment_intent.succeeded');
      const rotated = without.verifyWebhook(delivery(body, sign(body, OLD_SECRET)), { secrets: [OLD_SECRET] });
      expect(rotated.id).toBe(event.id);
      const error = failureOf(() => without.verifyWebhook(delivery(body, sign(body, NEW_SECRET))));
      expect(error.kind).toBe('invalid_config');
      expect(error.message).toContain('webhookSecret');
    } finally {
      await registry.close();
    }
  });

  it('rejects a webhookSecret that is not a signing secret, naming the field', async () => {
    const registry = createRegistry();
    try {
      registry.register(stripe, {
        name: 'bad-secret',
        config: { apiKey: 'sk_test_webhooks', apiBaseUrl: fake.url, webhookSecret: 'sk_test_not_a_webhook_secret' },
        healthCheck: false,
      });
      const error = await registry.enable('bad-secret').catch((e: unknown) => e as IntegrationError);
      expect(error).toMatchObject({ kind: 'invalid_config' });
      expect((error as IntegrationError).message).toContain('webhookSecret');
      expect((error as IntegrationError).message).not.toContain('sk_test_not_a_webhook_secret');
    } finally {
      await registry.close();
    }
  });
});
