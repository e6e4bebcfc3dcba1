import { IntegrationError, kindFromNetworkError, kindFromStatus } from '@integrations/core';
import { neverSent } from './transport.js';

const PROVIDER = 'sendgrid';

/** What `@sendgrid/client` throws for a 4xx/5xx: `ResponseError` (status in `code`, the parsed body and headers). */
interface ResponseErrorShape extends Error {
  code: number;
  response: { headers?: unknown; body?: unknown };
}

interface SendGridErrorItem {
  message?: unknown;
  field?: unknown;
  help?: unknown;
  error_id?: unknown;
}

function isResponseError(error: unknown): error is ResponseErrorShape {
  if (!(error instanceof Error)) return false;
  const e = error as Partial<ResponseErrorShape>;
  return typeof e.code === 'number' && typeof e.response === 'object' && e.response !== null;
}

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const h = headers as Record<string, unknown> & { get?: (name: string) => unknown };
  const value = typeof h.get === 'function' ? h.get(name) : h[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : typeof first === 'number' ? String(first) : undefined;
}

/**
 * How long SendGrid asks us to wait: Retry-After (delta-seconds or an HTTP date) when sent, else the epoch-seconds
 * `X-RateLimit-Reset` its rate-limited endpoints send.
 */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = Number(header(headers, 'x-ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
}

function errorItems(body: unknown): SendGridErrorItem[] {
  const parsed = typeof body === 'string' ? safeParse(body) : body;
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is SendGridErrorItem => typeof e === 'object' && e !== null) : [];
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** SendGrid's `errors[]` as one line, each naming its field: `The from address does not match... (field: from)`. */
function describeItems(items: SendGridErrorItem[]): string | undefined {
  const lines = items
    .map((item) => {
      const message = typeof item.message === 'string' ? item.message : undefined;
      // SendGrid sends the string "null" for errors that concern no particular field.
      const field =
        typeof item.field === 'string' && item.field !== '' && item.field !== 'null' ? item.field : undefined;
      if (!message && !field) return undefined;
      return field ? `${message ?? 'invalid'} (field: ${field})` : message;
    })
    .filter((line): line is string => line !== undefined);
  return lines.length > 0 ? lines.join('; ') : undefined;
}

function fromResponseError(error: ResponseErrorShape): IntegrationError {
  const status = error.code;
  const items = errorItems(error.response.body);
  const kind = kindFromStatus(status);
  const errorId = items.find((item) => typeof item.error_id === 'string')?.error_id as string | undefined;
  const waitMs = kind === 'rate_limited' ? retryAfterMs(error.response.headers) : undefined;
  const detail = describeItems(items) ?? (error.message || `HTTP ${status}`);
  // SendGrid's 401 message never quotes the key, but ours is fixed text anyway.
  const message = kind === 'auth' ? `SendGrid rejected the API key: ${detail}` : `SendGrid ${status}: ${detail}`;
  return new IntegrationError(kind, message, {
    cause: error,
    provider: PROVIDER,
    status,
    ...(errorId ? { code: errorId } : {}),
    ...(waitMs === undefined ? {} : { retryAfterMs: waitMs }),
  });
}

/** The one place SendGrid SDK errors (and the transport errors under them) become core's kinds. */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  if (isResponseError(error)) return fromResponseError(error);
  const message = error instanceof Error ? error.message : String(error);
  if (neverSent(error)) {
    // The SDK's mail builder refused the input; its messages name the field (`Must provide \`email\``).
    return new IntegrationError('invalid_request', `the SendGrid SDK refused the mail: ${message}`, {
      cause: error,
      provider: PROVIDER,
      code: 'invalid_mail',
    });
  }
  // Axios' timeout and cancellation codes included: core knows them.
  const kind = kindFromNetworkError(error);
  if (kind) {
    return new IntegrationError(kind, `SendGrid request failed: ${message}`, {
      cause: error,
      provider: PROVIDER,
      ...(kind === 'cancelled' ? {} : { code: 'connection_error' }),
    });
  }
  return new IntegrationError('internal', `unexpected error from the SendGrid SDK: ${message}`, {
    cause: error,
    provider: PROVIDER,
  });
}
