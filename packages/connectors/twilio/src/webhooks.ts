import {
  IntegrationError,
  type VerifiedWebhook,
  type WebhookRequest,
  type WebhookVerifier,
  type WebhookVerifyOptions,
} from '@integrations/core';
import twilioSdk from 'twilio';

const PROVIDER = 'twilio';
export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

/** The form parameters Twilio posted; a parameter sent more than once keeps every value. */
export type TwilioWebhookParams = Record<string, string | string[]>;

/** A verified Twilio callback: core's shape, with the posted parameters as the payload. */
export interface VerifiedTwilioWebhook extends VerifiedWebhook {
  payload: TwilioWebhookParams;
}

function failure(kind: 'auth' | 'invalid_request' | 'invalid_config', code: string, message: string) {
  return new IntegrationError(kind, message, { provider: PROVIDER, code, retryable: false });
}

/** `application/x-www-form-urlencoded` → parameters, the shape the SDK's signature check expects. */
export function parseTwilioForm(rawBody: Uint8Array | string): TwilioWebhookParams {
  const text = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  const params: TwilioWebhookParams = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = params[key];
    if (seen === undefined) params[key] = value;
    else params[key] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return params;
}

function single(params: TwilioWebhookParams, key: string): string | undefined {
  const value = params[key];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * The event's identity, from signed parameters only. Twilio also sends an `I-Twilio-Idempotency-Token` header, but
 * headers are not covered by the signature: a replayed request with a fresh token would pass as a new event. A
 * message (or call) reaches each status once, so sid + status names one event and is the same on Twilio's retries.
 */
function identify(params: TwilioWebhookParams): { id: string; type: string } | undefined {
  const messageSid = single(params, 'MessageSid') ?? single(params, 'SmsSid');
  if (messageSid) {
    const status = single(params, 'MessageStatus') ?? single(params, 'SmsStatus');
    if (!status) return undefined;
    return { id: `${messageSid}:${status}`, type: `message.${status}` };
  }
  const callSid = single(params, 'CallSid');
  const callStatus = single(params, 'CallStatus');
  if (callSid && callStatus) return { id: `${callSid}:${callStatus}`, type: `call.${callStatus}` };
  return undefined;
}

function occurredAt(params: TwilioWebhookParams): string | undefined {
  const stamp = single(params, 'Timestamp');
  if (!stamp) return undefined;
  const at = Date.parse(stamp);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

/**
 * Checks a Twilio callback (form-encoded POST: message status callbacks, incoming messages, call status) with the
 * SDK's `validateRequest`: HMAC-SHA1 of the full URL plus the sorted parameters, keyed with the Auth Token. Each
 * token in `options.secrets` is tried in turn (more than one while a token is being rotated). Twilio signs no
 * timestamp, so `toleranceMs` does not apply: dedupe on the returned `id` to refuse replays.
 *
 * Throws IntegrationError: `auth` with `webhook_signature_invalid` (missing or wrong signature, another URL, a changed
 * parameter), `invalid_request` with `webhook_malformed` (signed, but no message or call sid and status),
 * `invalid_config` with `webhook_secret_missing` (no token given).
 */
export function verifyTwilioWebhook(
  url: string,
  rawBody: Uint8Array | string,
  signature: string | undefined,
  options: WebhookVerifyOptions,
): VerifiedTwilioWebhook {
  const tokens = options.secrets.filter((s) => s !== '');
  if (tokens.length === 0) {
    throw failure('invalid_config', 'webhook_secret_missing', 'no Twilio Auth Token was given to verify the webhook');
  }
  if (!signature) {
    throw failure('auth', 'webhook_signature_invalid', `the ${TWILIO_SIGNATURE_HEADER} header is missing`);
  }
  const params = parseTwilioForm(rawBody);
  const signed = tokens.some((token) => twilioSdk.validateRequest(token, signature, url, params));
  if (!signed) {
    throw failure(
      'auth',
      'webhook_signature_invalid',
      `the ${TWILIO_SIGNATURE_HEADER} signature does not match this URL and body for any accepted Auth Token`,
    );
  }
  const identity = identify(params);
  if (!identity) {
    throw failure(
      'invalid_request',
      'webhook_malformed',
      'the signed Twilio webhook has no MessageSid with MessageStatus (or CallSid with CallStatus)',
    );
  }
  return { ...identity, occurredAt: occurredAt(params), payload: params };
}

/** Core's webhook contract for Twilio: the signature is in `X-Twilio-Signature`, the secrets are Auth Tokens. */
export const twilioWebhooks: WebhookVerifier = {
  signatureHeader: TWILIO_SIGNATURE_HEADER,
  verify(request: WebhookRequest, options: WebhookVerifyOptions): VerifiedTwilioWebhook {
    return verifyTwilioWebhook(request.url, request.rawBody, request.headers[TWILIO_SIGNATURE_HEADER], options);
  },
};
