import { type ErrorKind, IntegrationError, kindFromNetworkError, kindFromStatus } from '@integrations/core';
import Stripe from 'stripe';

const PROVIDER = 'stripe';

type StripeError = InstanceType<typeof Stripe.errors.StripeError>;

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function header(error: StripeError, name: string): string | undefined {
  const headers = error.headers as Record<string, string | string[] | undefined> | undefined;
  const value = headers?.[name] ?? headers?.[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function isStripeError(error: unknown): error is StripeError {
  if (error instanceof Stripe.errors.StripeError) return true;
  // Another copy of the SDK in the app: recognise its errors by their shape.
  const e = error as { type?: unknown; rawType?: unknown; raw?: unknown } | null;
  return typeof e === 'object' && e !== null && typeof e.type === 'string' && e.type.startsWith('Stripe') && 'raw' in e;
}

/** The socket-level cause of a connection error: the SDK keeps it in `detail` (and body errors in `exception`). */
function networkKind(error: StripeError): ErrorKind | undefined {
  const detail = error.detail as { code?: unknown; exception?: unknown } | undefined;
  if (detail?.code === 'ETIMEDOUT') return 'timeout';
  return kindFromNetworkError(detail) ?? kindFromNetworkError(detail?.exception);
}

/**
 * Stripe tells us whether a retry is safe (`Stripe-Should-Retry`); follow it when present. A 409 (a lock
 * timeout, or the same idempotency key still in flight) is worth repeating with the same key.
 */
function retryableFor(error: StripeError, kind: ErrorKind): boolean | undefined {
  const advice = header(error, 'stripe-should-retry');
  if (advice === 'true') return true;
  if (advice === 'false') return false;
  if (kind === 'conflict' && error.statusCode === 409) return true;
  return undefined;
}

function fromStripeError(error: StripeError): IntegrationError {
  const status = error.statusCode;
  const base = { cause: error, provider: PROVIDER, ...(status === undefined ? {} : { status }) };
  const code = error.code;
  switch (error.type) {
    case 'StripeCardError': {
      // A declined card stays declined: never retried, the decline reason goes in the message.
      const reason = error.decline_code && error.decline_code !== code ? ` (${error.decline_code})` : '';
      return new IntegrationError(
        'invalid_request',
        `Stripe declined the card: ${code ?? 'card_error'}${reason}: ${error.message}`,
        {
          ...base,
          code: code ?? 'card_declined',
          retryable: false,
        },
      );
    }
    case 'StripeAuthenticationError':
      // Stripe's message echoes part of the key; ours does not.
      return new IntegrationError('auth', 'Stripe rejected the API key', {
        ...base,
        code: code ?? 'authentication_error',
      });
    case 'StripePermissionError':
      return new IntegrationError('permission', 'the API key is not allowed to perform this request', {
        ...base,
        code: code ?? 'permission_error',
      });
    case 'StripeRateLimitError': {
      const retryAfterMs = parseRetryAfter(header(error, 'retry-after'));
      return new IntegrationError('rate_limited', `Stripe rate limit: ${error.message}`, {
        ...base,
        code: code ?? 'rate_limit',
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    case 'StripeIdempotencyError':
      return new IntegrationError('conflict', `Stripe idempotency conflict: ${error.message}`, {
        ...base,
        code: code ?? 'idempotency_error',
        retryable: false,
      });
    case 'StripeInvalidRequestError': {
      const kind: ErrorKind =
        status === 404 ? 'not_found' : status === undefined ? 'invalid_request' : kindFromStatus(status);
      const param = error.param ? ` (param: ${error.param})` : '';
      return new IntegrationError(kind, `${error.message}${param}`, { ...base, ...(code ? { code } : {}) });
    }
    case 'StripeConnectionError': {
      const kind = networkKind(error) ?? 'unavailable';
      return new IntegrationError(kind, `could not reach Stripe: ${error.message}`, {
        ...base,
        code: 'connection_error',
      });
    }
    default: {
      // StripeAPIError and anything newer: decide by status (a 5xx, or a body that was not JSON).
      const kind: ErrorKind = status === undefined ? 'unavailable' : kindFromStatus(status);
      const retryable = retryableFor(error, kind);
      return new IntegrationError(kind, `Stripe API error${status ? ` ${status}` : ''}: ${error.message}`, {
        ...base,
        ...(code ? { code } : {}),
        ...(retryable === undefined ? {} : { retryable }),
      });
    }
  }
}

/** The one place Stripe SDK errors (and socket errors under it) become core's kinds. */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  if (isStripeError(error)) return fromStripeError(error);
  const kind = kindFromNetworkError(error);
  const message = error instanceof Error ? error.message : String(error);
  if (kind)
    return new IntegrationError(kind, `Stripe request failed: ${message}`, { cause: error, provider: PROVIDER });
  return new IntegrationError('internal', `unexpected error from the Stripe SDK: ${message}`, {
    cause: error,
    provider: PROVIDER,
  });
}
