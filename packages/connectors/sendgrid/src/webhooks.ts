import { createHash } from 'node:crypto';
import {
  IntegrationError,
  type VerifiedWebhook,
  type WebhookRequest,
  type WebhookVerifier,
  type WebhookVerifyOptions,
} from '@integrations/core';
import { EventWebhook } from '@sendgrid/eventwebhook';

const PROVIDER = 'sendgrid';
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';
/** Oldest signed timestamp accepted by default, either way from now. */
export const DEFAULT_TOLERANCE_MS = 300_000;
/** The `type` of every verified delivery: SendGrid posts a batch of events, each with its own `event`. */
export const EVENT_BATCH_TYPE = 'event_batch';

/** One event of a batch (`processed`, `delivered`, `open`, `bounce`, ...); the rest of its fields vary by event. */
export interface SendGridEvent {
  email: string;
  timestamp: number;
  event: string;
  sg_event_id?: string;
  sg_message_id?: string;
  [field: string]: unknown;
}

/** A verified event webhook delivery: core's shape, with the batch of events as the payload. */
export interface VerifiedSendGridWebhook extends VerifiedWebhook {
  payload: SendGridEvent[];
}

function failure(kind: 'auth' | 'invalid_request' | 'invalid_config', code: string, message: string, cause?: unknown) {
  return new IntegrationError(kind, message, { provider: PROVIDER, code, retryable: false, cause });
}

const eventWebhook = new EventWebhook();
type PublicKey = ReturnType<EventWebhook['convertPublicKeyToECDSA']>;

function toKey(key: string): PublicKey | undefined {
  try {
    return eventWebhook.convertPublicKeyToECDSA(key.trim());
  } catch {
    return undefined;
  }
}

function signedWith(key: PublicKey, payload: Buffer, signature: string, timestamp: string): boolean {
  try {
    return eventWebhook.verifySignature(key, payload, signature, timestamp);
  } catch {
    // A signature that is not base64 DER cannot be from SendGrid.
    return false;
  }
}

function parseEvents(payload: Buffer): SendGridEvent[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  const valid = parsed.every(
    (e) => typeof e === 'object' && e !== null && typeof (e as { event?: unknown }).event === 'string',
  );
  return valid ? (parsed as SendGridEvent[]) : undefined;
}

function earliest(events: SendGridEvent[]): string | undefined {
  const stamps = events.map((e) => e.timestamp).filter((t) => typeof t === 'number' && Number.isFinite(t));
  return stamps.length > 0 ? new Date(Math.min(...stamps) * 1000).toISOString() : undefined;
}

/**
 * Checks a signed Event Webhook delivery with `@sendgrid/eventwebhook`: an ECDSA P-256 signature over the timestamp
 * header followed by the raw body, tried with each public key in `options.secrets` (more than one while a key is
 * rotated), then the signed timestamp against `toleranceMs` (default five minutes).
 *
 * The delivery's `id` is `sha256:` + the SHA-256 of the body. A batch is retried as a whole, so its hash names the
 * delivery; the first event's `sg_event_id` would not, as two batches can begin with the same event. Each event
 * also carries its own `sg_event_id` for per-event dedupe.
 *
 * Throws IntegrationError: `auth` with `webhook_signature_invalid` (missing headers or no key signed it) or
 * `webhook_timestamp_expired` (signed, but outside the tolerance), `invalid_request` with `webhook_malformed`
 * (signed, but not a JSON array of events), `invalid_config` with `webhook_secret_missing` or
 * `webhook_public_key_invalid` (no usable public key).
 */
export function verifySendGridWebhook(
  rawBody: Uint8Array | string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  options: WebhookVerifyOptions,
): VerifiedSendGridWebhook {
  const given = options.secrets.filter((s) => s.trim() !== '');
  if (given.length === 0) {
    throw failure('invalid_config', 'webhook_secret_missing', 'no SendGrid Event Webhook public key was given');
  }
  const keys = given.map(toKey).filter((k): k is PublicKey => k !== undefined);
  if (keys.length === 0) {
    throw failure(
      'invalid_config',
      'webhook_public_key_invalid',
      'none of the SendGrid webhook public keys is an ECDSA public key (base64 or PEM)',
    );
  }
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) {
    const missing = !signature ? SENDGRID_SIGNATURE_HEADER : SENDGRID_TIMESTAMP_HEADER;
    throw failure('auth', 'webhook_signature_invalid', `the ${missing} header is missing`);
  }
  const payload = Buffer.from(rawBody);
  if (!keys.some((key) => signedWith(key, payload, signature, timestamp))) {
    throw failure(
      'auth',
      'webhook_signature_invalid',
      'the SendGrid Event Webhook signature does not match the body and timestamp for any accepted public key',
    );
  }
  const signedAt = Number(timestamp) * 1000;
  const tolerance = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const now = options.now ?? Date.now();
  if (!/^\d+$/.test(timestamp) || Math.abs(now - signedAt) > tolerance) {
    throw failure(
      'auth',
      'webhook_timestamp_expired',
      `the SendGrid Event Webhook timestamp is outside the ${Math.round(tolerance / 1000)} s tolerance`,
    );
  }
  const events = parseEvents(payload);
  if (!events) {
    throw failure(
      'invalid_request',
      'webhook_malformed',
      'the signed SendGrid webhook body is not a JSON array of events with an `event` field',
    );
  }
  return {
    id: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
    type: EVENT_BATCH_TYPE,
    occurredAt: earliest(events),
    payload: events,
  };
}

/** Core's webhook contract for SendGrid's signed Event Webhook; the "secrets" are its public keys. */
export const sendgridWebhooks: WebhookVerifier = {
  signatureHeader: SENDGRID_SIGNATURE_HEADER,
  verify(request: WebhookRequest, options: WebhookVerifyOptions): VerifiedSendGridWebhook {
    return verifySendGridWebhook(
      request.rawBody,
      { signature: request.headers[SENDGRID_SIGNATURE_HEADER], timestamp: request.headers[SENDGRID_TIMESTAMP_HEADER] },
      options,
    );
  },
};
