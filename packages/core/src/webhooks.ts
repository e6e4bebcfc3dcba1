/**
 * A webhook verifier for the common "HMAC-SHA256 of the body (and maybe a timestamp), keyed with a shared secret"
 * scheme that GitHub, Slack, Shopify, Zoom and many others use, so such a provider needs configuration, not a
 * connector. WebCrypto only: it runs wherever core runs.
 */

import type { VerifiedWebhook, WebhookRequest, WebhookVerifier, WebhookVerifyOptions } from './contract.js';
import { IntegrationError } from './errors.js';

/** The codes a failed verification carries in `IntegrationError.code`. */
export type WebhookErrorCode =
  | 'webhook_signature_invalid'
  | 'webhook_timestamp_expired'
  | 'webhook_malformed'
  | 'webhook_secret_missing';

export interface HmacSha256VerifierOptions {
  /** Names the provider in errors (`IntegrationError.provider`). Default `webhook`. */
  provider?: string | undefined;
  /** The header carrying the signature, e.g. `x-hub-signature-256` (any case). */
  signatureHeader: string;
  /** The header carrying the signed Unix time in seconds, for schemes that sign one (Slack's `x-slack-request-timestamp`). */
  timestampHeader?: string | undefined;
  /** Text before the signature in its header: GitHub's `sha256=`, Slack's `v0=`. */
  prefix?: string | undefined;
  /** How the signature is written. Default `hex`. */
  encoding?: 'hex' | 'base64' | undefined;
  /**
   * The bytes the provider signs. Default: the raw body, or `<timestamp>.<body>` when `timestampHeader` is set.
   * Slack: `(t, body) => concat('v0:' + t + ':', body)`.
   */
  signedPayload?: ((timestamp: string | undefined, body: Uint8Array) => Uint8Array | string) | undefined;
  /** Tolerance when the caller gives none. Default five minutes. */
  defaultToleranceMs?: number | undefined;
  /**
   * Where the event id is: a dotted field of the body (`event_id`, `delivery.id`), else a header, else the
   * SHA-256 of the body. Prefer a body field: headers outside the signature can be changed by a replayer.
   */
  idField?: string | undefined;
  idHeader?: string | undefined;
  /** Where the event type is: a dotted field of the body, else a header, else `webhook`. */
  typeField?: string | undefined;
  typeHeader?: string | undefined;
}

export const DEFAULT_WEBHOOK_TOLERANCE_MS = 300_000;

const SHA256_BYTES = 32;
const encoder = new TextEncoder();

function failure(
  provider: string,
  kind: 'auth' | 'invalid_request' | 'invalid_config',
  code: WebhookErrorCode,
  message: string,
) {
  return new IntegrationError(kind, message, { provider, code, retryable: false });
}

function subtle(): SubtleCrypto {
  const crypto = globalThis.crypto;
  if (!crypto?.subtle) throw new IntegrationError('internal', 'WebCrypto (globalThis.crypto.subtle) is not available');
  return crypto.subtle;
}

/** Compares every byte whatever differs, so the time taken does not tell how much of a signature was right. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

function decodeHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** WebCrypto takes ArrayBuffer-backed views only; a view over a SharedArrayBuffer is copied. */
function owned(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return view.buffer instanceof ArrayBuffer ? (view as Uint8Array<ArrayBuffer>) : new Uint8Array(view);
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

function concat(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

function header(request: WebhookRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return value === undefined || value === '' ? undefined : value;
}

function fieldAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** JSON, or form fields for `application/x-www-form-urlencoded` (Slack's slash commands post forms). */
function parseBody(request: WebhookRequest): unknown {
  const body = new TextDecoder().decode(request.rawBody);
  const contentType = request.headers['content-type'] ?? '';
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) return Object.fromEntries(new URLSearchParams(body));
  return JSON.parse(body);
}

/**
 * `signedPayload` from a template: `{timestamp}` and `{body}` stand for the timestamp header and the raw body
 * (kept as bytes), everything else is literal. Slack: `v0:{timestamp}:{body}`; Stripe-like: `{timestamp}.{body}`.
 */
export function signedPayloadTemplate(
  template: string,
): (timestamp: string | undefined, body: Uint8Array) => Uint8Array {
  const parts = template.split(/(\{timestamp\}|\{body\})/).filter((part) => part !== '');
  if (!parts.includes('{body}')) throw new TypeError(`signed payload template "${template}" has no {body}`);
  return (timestamp, body) => {
    const chunks = parts.map((part) =>
      part === '{body}' ? body : encoder.encode(part === '{timestamp}' ? (timestamp ?? '') : part),
    );
    const out = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  };
}

/**
 * A verifier for HMAC-SHA256 signed webhooks. Each secret in `options.secrets` is tried (more than one while a
 * secret is rotated). Throws IntegrationError: `auth` with `webhook_signature_invalid` (missing, undecodable or
 * wrong signature) or `webhook_timestamp_expired` (right signature, signed timestamp outside the tolerance),
 * `invalid_request` with `webhook_malformed` (signed, but not JSON or form data, or no id where one was asked
 * for), `invalid_config` with `webhook_secret_missing`.
 */
export function hmacSha256Verifier(settings: HmacSha256VerifierOptions): WebhookVerifier {
  const provider = settings.provider ?? 'webhook';
  const signatureHeader = settings.signatureHeader.toLowerCase();
  const timestampHeader = settings.timestampHeader?.toLowerCase();
  const prefix = settings.prefix ?? '';
  const decode = settings.encoding === 'base64' ? decodeBase64 : decodeHex;
  const signedPayload =
    settings.signedPayload ??
    ((timestamp: string | undefined, body: Uint8Array) =>
      timestamp === undefined ? body : concat(encoder.encode(`${timestamp}.`), body));
  // Importing a key costs more than the HMAC itself; secrets are few and live as long as the config.
  const keys = new Map<string, Promise<CryptoKey>>();
  const keyFor = (secret: string): Promise<CryptoKey> => {
    let key = keys.get(secret);
    if (!key) {
      key = subtle().importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      keys.set(secret, key);
    }
    return key;
  };

  return {
    signatureHeader,
    async verify(request: WebhookRequest, options: WebhookVerifyOptions): Promise<VerifiedWebhook> {
      const secrets = options.secrets.filter((s) => s !== '');
      if (secrets.length === 0) {
        throw failure(provider, 'invalid_config', 'webhook_secret_missing', `no ${provider} webhook secret was given`);
      }
      const given = header(request, signatureHeader);
      if (!given)
        throw failure(provider, 'auth', 'webhook_signature_invalid', `the ${signatureHeader} header is missing`);
      const signature = given.trim().startsWith(prefix) ? decode(given.trim().slice(prefix.length)) : undefined;
      if (!signature || signature.length !== SHA256_BYTES) {
        const expected = `${prefix}<${settings.encoding ?? 'hex'} HMAC-SHA256>`;
        throw failure(
          provider,
          'auth',
          'webhook_signature_invalid',
          `the ${signatureHeader} header is not ${expected}`,
        );
      }
      let timestamp: string | undefined;
      if (timestampHeader) {
        timestamp = header(request, timestampHeader);
        if (!timestamp) {
          throw failure(provider, 'auth', 'webhook_signature_invalid', `the ${timestampHeader} header is missing`);
        }
      }
      const signed = signedPayload(timestamp, request.rawBody);
      const message = typeof signed === 'string' ? encoder.encode(signed) : owned(signed);
      let matched = false;
      for (const secret of secrets) {
        const mac = new Uint8Array(await subtle().sign('HMAC', await keyFor(secret), message));
        if (constantTimeEqual(mac, signature)) matched = true;
      }
      if (!matched) {
        throw failure(
          provider,
          'auth',
          'webhook_signature_invalid',
          `the ${signatureHeader} signature does not match the body for any accepted secret`,
        );
      }
      let occurredAt: string | undefined;
      if (timestamp !== undefined) {
        if (!/^\d{1,12}$/.test(timestamp)) {
          throw failure(provider, 'invalid_request', 'webhook_malformed', `${timestampHeader} is not a Unix time`);
        }
        const signedAt = Number(timestamp) * 1000;
        const tolerance = options.toleranceMs ?? settings.defaultToleranceMs ?? DEFAULT_WEBHOOK_TOLERANCE_MS;
        if (Math.abs((options.now ?? Date.now()) - signedAt) > tolerance) {
          throw failure(
            provider,
            'auth',
            'webhook_timestamp_expired',
            `the ${timestampHeader} timestamp is outside the ${Math.round(tolerance / 1000)} s tolerance`,
          );
        }
        occurredAt = new Date(signedAt).toISOString();
      }
      let payload: unknown;
      try {
        payload = parseBody(request);
      } catch {
        throw failure(provider, 'invalid_request', 'webhook_malformed', `the signed ${provider} webhook is not JSON`);
      }
      let id = settings.idField ? text(fieldAt(payload, settings.idField)) : undefined;
      if (id === undefined && settings.idHeader) id = header(request, settings.idHeader);
      if (id === undefined && (settings.idField || settings.idHeader)) {
        const where = [
          settings.idField && `field ${settings.idField}`,
          settings.idHeader && `header ${settings.idHeader}`,
        ];
        throw failure(
          provider,
          'invalid_request',
          'webhook_malformed',
          `the signed ${provider} webhook has no event id (${where.filter(Boolean).join(' or ')})`,
        );
      }
      id ??= `sha256:${toHex(await subtle().digest('SHA-256', owned(request.rawBody)))}`;
      const type =
        (settings.typeField ? text(fieldAt(payload, settings.typeField)) : undefined) ??
        (settings.typeHeader ? header(request, settings.typeHeader) : undefined) ??
        'webhook';
      return { id, type, occurredAt, payload };
    },
  };
}
