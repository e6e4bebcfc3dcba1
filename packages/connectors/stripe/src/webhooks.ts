import {
  IntegrationError,
  type VerifiedWebhook,
  type WebhookRequest,
  type WebhookVerifier,
  type WebhookVerifyOptions,
} from '@integrations/core';
import Stripe from 'stripe';

const PROVIDER = 'stripe';
export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';
/** Stripe's own default: a signature older than five minutes is refused. */
export const DEFAULT_TOLERANCE_MS = 300_000;

/** A verified Stripe webhook: core's shape, with the event as the SDK types it. */
export interface VerifiedStripeWebhook extends VerifiedWebhook {
  payload: Stripe.Event;
}

function failure(kind: 'auth' | 'invalid_request' | 'invalid_config', code: string, message: string, cause?: unknown) {
  return new IntegrationError(kind, message, { provider: PROVIDER, code, retryable: false, cause });
}

/** Does `secret` sign this payload at all, whatever the timestamp? (Tolerance 0 turns the age check off.) */
function signedBy(payload: Uint8Array, header: string, secret: string, now: number | undefined): boolean {
  try {
    return Stripe.webhooks.signature?.verifyHeader(payload, header, secret, 0, undefined, now) === true;
  } catch {
    return false;
  }
}

/**
 * Checks a Stripe webhook with the SDK's `constructEvent` against each accepted secret in turn (more than one
 * during a rotation) and returns the event. Throws IntegrationError: `auth` with `webhook_signature_invalid`
 * (no or wrong signature) or `webhook_timestamp_expired` (right signature, too old), `invalid_request` with
 * `webhook_malformed` (signed, but not a Stripe event).
 */
export function verifyStripeWebhook(
  rawBody: Uint8Array | string,
  signature: string | undefined,
  options: WebhookVerifyOptions,
): VerifiedStripeWebhook {
  const secrets = options.secrets.filter((s) => s !== '');
  if (secrets.length === 0) {
    throw failure('invalid_config', 'webhook_secret_missing', 'no Stripe webhook signing secret was given');
  }
  if (!signature) {
    throw failure('auth', 'webhook_signature_invalid', `the ${STRIPE_SIGNATURE_HEADER} header is missing`);
  }
  const payload = typeof rawBody === 'string' ? new TextEncoder().encode(rawBody) : rawBody;
  // Stripe counts tolerance in whole seconds, and 0 would switch the age check off: never round down to 0.
  const toleranceSeconds = Math.max(1, Math.ceil((options.toleranceMs ?? DEFAULT_TOLERANCE_MS) / 1000));
  let expired = false;
  let lastError: unknown;
  for (const secret of secrets) {
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(payload, signature, secret, toleranceSeconds, undefined, options.now);
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) {
        // The signature held, so the body is Stripe's bytes, but they are not an event we can read.
        throw failure(
          'invalid_request',
          'webhook_malformed',
          'the signed Stripe webhook body is not a JSON event',
          error,
        );
      }
      lastError = error;
      if (signedBy(payload, signature, secret, options.now)) expired = true;
      continue;
    }
    if (typeof event?.id !== 'string' || typeof event.type !== 'string') {
      throw failure('invalid_request', 'webhook_malformed', 'the signed Stripe webhook has no event id or type');
    }
    return {
      id: event.id,
      type: event.type,
      occurredAt: typeof event.created === 'number' ? new Date(event.created * 1000).toISOString() : undefined,
      payload: event,
    };
  }
  if (expired) {
    throw failure(
      'auth',
      'webhook_timestamp_expired',
      `the Stripe webhook signature is older than the ${toleranceSeconds} s tolerance`,
      lastError,
    );
  }
  throw failure(
    'auth',
    'webhook_signature_invalid',
    'the Stripe webhook signature does not match any accepted signing secret',
    lastError,
  );
}

/** Core's webhook contract for Stripe: the signature is in `Stripe-Signature`. */
export const stripeWebhooks: WebhookVerifier = {
  signatureHeader: STRIPE_SIGNATURE_HEADER,
  verify(request: WebhookRequest, options: WebhookVerifyOptions): VerifiedStripeWebhook {
    return verifyStripeWebhook(request.rawBody, request.headers[STRIPE_SIGNATURE_HEADER], options);
  },
};
