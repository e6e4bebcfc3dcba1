import { type ErrorKind, IntegrationError, kindFromNetworkError, kindFromStatus } from '../errors.js';
import { Redactor } from '../redact.js';

/** What the provider's rate-limit headers say. Every field is undefined when its header is missing or unreadable. */
export interface RateLimitInfo {
  limit: number | undefined;
  remaining: number | undefined;
  /** Milliseconds until the window resets, measured from `now`. */
  resetMs: number | undefined;
}

/** Values at or above this are epoch seconds (2001-09-09), below it delta-seconds: the two forms `*-Reset` comes in. */
const EPOCH_SECONDS_FLOOR = 1e9;
const EPOCH_MS_FLOOR = 1e12;

function firstNumber(value: string | null): number | undefined {
  if (value === null) return undefined;
  // The IETF draft allows `100, 100;w=60`: the first item is the one that applies now.
  const n = Number(value.split(/[,;]/)[0]?.trim());
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function resetToMs(value: string | null, now: number): number | undefined {
  const n = firstNumber(value);
  if (n === undefined) return undefined;
  if (n >= EPOCH_MS_FLOOR) return Math.max(0, Math.ceil(n - now));
  if (n >= EPOCH_SECONDS_FLOOR) return Math.max(0, Math.ceil(n * 1000 - now));
  return Math.ceil(n * 1000);
}

/**
 * How long the provider asked us to wait, in milliseconds: `Retry-After` (delta-seconds or HTTP-date), else
 * `RateLimit-Reset` / `X-RateLimit-Reset` (delta-seconds or epoch seconds). `now` is epoch ms, for HTTP-dates.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    // All three HTTP-date forms start with a day name; Date.parse alone would also accept "-5".
    const date = /^[a-z]{3}/i.test(retryAfter) ? Date.parse(retryAfter) : Number.NaN;
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return resetToMs(headers.get('ratelimit-reset'), now) ?? resetToMs(headers.get('x-ratelimit-reset'), now);
}

/** The standard (`RateLimit-*`) or conventional (`X-RateLimit-*`) rate-limit headers of a response. */
export function parseRateLimitHeaders(headers: Headers, now: number = Date.now()): RateLimitInfo {
  const pick = (name: string) => headers.get(`ratelimit-${name}`) ?? headers.get(`x-ratelimit-${name}`);
  return {
    limit: firstNumber(pick('limit')),
    remaining: firstNumber(pick('remaining')),
    resetMs: resetToMs(pick('reset'), now),
  };
}

const MAX_DETAIL = 300;
const MAX_ERROR_BODY = 16_384;

function truncate(text: string, max = MAX_DETAIL): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Replaces every secret (and its URL-encoded form) in `text` with core's redaction marker. */
export function redact(text: string, secrets: Iterable<string>): string {
  const redactor = new Redactor();
  for (const secret of secrets) redactor.add(secret);
  return redactor.redact(text);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
const codeOf = (v: unknown): string | undefined => (typeof v === 'number' ? String(v) : str(v));

/**
 * The message and code out of the error bodies providers commonly send: `{error:{message,code}}`,
 * `{error, error_description}` (OAuth), `{message, code}`, `{errors:[{message,code}]}`, `{title, detail}` (RFC 9457).
 */
export function extractProviderError(body: unknown): { message?: string; code?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const nested = typeof b.error === 'object' && b.error !== null ? (b.error as Record<string, unknown>) : undefined;
  const first = Array.isArray(b.errors) ? (b.errors[0] as Record<string, unknown> | undefined) : undefined;
  const firstObj = typeof first === 'object' && first !== null ? first : undefined;
  const message =
    str(nested?.message) ??
    str(b.error_description) ??
    str(b.message) ??
    str(firstObj?.message) ??
    str(b.detail) ??
    str(b.title) ??
    str(b.error);
  const code = codeOf(nested?.code) ?? codeOf(nested?.type) ?? str(b.error) ?? codeOf(b.code) ?? codeOf(firstObj?.code);
  const out: { message?: string; code?: string } = {};
  if (message !== undefined) out.message = message;
  if (code !== undefined) out.code = code;
  return out;
}

/** Reads at most `max` bytes of a body: an error page can be large, and only its start is shown. */
async function readCapped(response: Response, max = MAX_ERROR_BODY): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.subarray(0, max));
}

/** Parses a JSON or form-encoded body leniently; anything else stays text. */
export function parseLenient(text: string, contentType: string | null): unknown {
  const type = contentType?.toLowerCase() ?? '';
  if (type.includes('json') || /^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (type.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  return text;
}

/** `GET https://api.example.com/v1/me`: never the query string, which may hold an API key. */
export function describeRequest(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

export interface ResponseErrorContext {
  provider: string;
  method: string;
  url: URL;
  /** Values to strip from the message: whatever the auth provider put on the request. */
  secrets: Iterable<string>;
  /** Overrides the kind derived from the status (token endpoints report `auth` for every 4xx). */
  kind?: ErrorKind;
  now?: number;
}

/** Turns a non-2xx response into an IntegrationError. Consumes the body. Never looks at the request's headers. */
export async function errorFromResponse(response: Response, context: ResponseErrorContext): Promise<IntegrationError> {
  const { status } = response;
  const contentType = response.headers.get('content-type');
  let text = '';
  try {
    text = await readCapped(response);
  } catch {
    // The status alone is enough to classify the failure.
  }
  const body = parseLenient(text, contentType);
  const extracted = extractProviderError(body);
  const isHtml = contentType?.toLowerCase().includes('html') ?? false;
  const detail =
    extracted.message ?? (typeof body === 'string' && body.trim() && !isHtml ? body : response.statusText || '');
  const where = describeRequest(context.method, context.url);
  const message = redact(
    `${context.provider} ${where} returned ${status}${detail ? `: ${truncate(detail)}` : ''}`,
    context.secrets,
  );
  const kind = context.kind ?? kindFromStatus(status);
  const retryAfterMs =
    status === 429 || status === 503 ? parseRetryAfter(response.headers, context.now ?? Date.now()) : undefined;
  return new IntegrationError(kind, message, {
    provider: context.provider,
    status,
    code: extracted.code === undefined ? undefined : redact(truncate(extracted.code, 100), context.secrets),
    retryAfterMs,
  });
}

function isTimeoutReason(reason: unknown): boolean {
  if (IntegrationError.isInstance(reason)) return reason.kind === 'timeout';
  return typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError';
}

function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    if (current.message && !parts.includes(current.message)) parts.push(current.message);
    current = current.cause;
  }
  return parts.join(': ') || String(error);
}

/**
 * Maps whatever a request threw (fetch's network TypeError, an abort, a hook's error) to an IntegrationError.
 * An aborted signal wins: its reason says whether this was a timeout or a cancellation.
 */
export function errorFromFailure(
  error: unknown,
  context: { provider: string; what: string; signal?: AbortSignal | undefined; secrets?: Iterable<string> },
): IntegrationError {
  const { provider, what, signal } = context;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    const kind: ErrorKind = isTimeoutReason(reason) ? 'timeout' : 'cancelled';
    return new IntegrationError(kind, `${provider} ${what} ${kind === 'timeout' ? 'timed out' : 'was cancelled'}`, {
      provider,
      cause: reason,
    });
  }
  if (IntegrationError.isInstance(error)) {
    error.provider ??= provider;
    return error;
  }
  const kind = kindFromNetworkError(error) ?? 'internal';
  const message = redact(`${provider} ${what} failed: ${errorText(error)}`, context.secrets ?? []);
  return new IntegrationError(kind, message, { provider, cause: error });
}
