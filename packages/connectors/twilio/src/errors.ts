import { type ErrorKind, IntegrationError, kindFromNetworkError, kindFromStatus } from '@integrations/core';
import { type RawResponse, responseOf } from './transport.js';

const PROVIDER = 'twilio';

/** Twilio error codes whose meaning is clearer than the status they come with. */
const KIND_BY_CODE: Readonly<Record<number, ErrorKind>> = {
  20003: 'auth', // Authentication failed
  20404: 'not_found', // The requested resource was not found
  20429: 'rate_limited', // Too many requests
};

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerOf(response: RawResponse | undefined, name: string): unknown {
  if (!response) return undefined;
  const headers = response.headers as Record<string, unknown> & { get?: (name: string) => unknown };
  return typeof headers.get === 'function' ? headers.get(name) : headers[name];
}

function parseBody(body: unknown): Record<string, unknown> | undefined {
  if (typeof body === 'object' && body !== null) return body as Record<string, unknown>;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What the SDK throws for an HTTP error: `RestException` (Twilio's JSON) or `TwilioServiceException` (RFC 9457). */
interface SdkHttpError {
  status: number;
  message?: string;
  code?: number;
  moreInfo?: string;
  title?: string;
  detail?: string;
  errors?: { detail?: string; pointer?: string }[];
}

function isSdkHttpError(error: unknown): error is SdkHttpError {
  if (!(error instanceof Error)) return false;
  return typeof (error as { status?: unknown }).status === 'number';
}

/** Validation messages of a problem+json body (the shape spec-validating stand-ins and gateways answer with). */
function problemDetails(body: Record<string, unknown> | undefined): string | undefined {
  const validation = body?.validation ?? body?.errors;
  if (!Array.isArray(validation)) return undefined;
  const messages = validation
    .map((item: { message?: unknown; detail?: unknown; pointer?: unknown }) => {
      const text = typeof item?.message === 'string' ? item.message : item?.detail;
      if (typeof text !== 'string') return undefined;
      return typeof item.pointer === 'string' ? `${item.pointer}: ${text}` : text;
    })
    .filter((m): m is string => m !== undefined);
  return messages.length > 0 ? messages.join('; ') : undefined;
}

function describe(error: SdkHttpError, body: Record<string, unknown> | undefined): string {
  const twilioMessage = typeof body?.message === 'string' ? body.message : undefined;
  const title = typeof body?.title === 'string' ? body.title : error.title;
  const detail = typeof body?.detail === 'string' ? body.detail : error.detail;
  // The SDK leaves `message` undefined when the body has none; never print "undefined".
  const sdkMessage = typeof error.message === 'string' && error.message !== '' ? error.message : undefined;
  const head = twilioMessage ?? title ?? sdkMessage ?? `HTTP ${error.status}`;
  const details = problemDetails(body);
  if (details) return `${head}: ${details}`;
  return detail && !twilioMessage ? `${head}: ${detail}` : head;
}

function fromHttpError(error: SdkHttpError): IntegrationError {
  const response = responseOf(error);
  const body = parseBody(response?.body);
  const status = error.status;
  const numericCode = typeof error.code === 'number' && error.code > 0 ? error.code : undefined;
  const code = numericCode ?? (typeof body?.code === 'number' ? body.code : undefined);
  const kind: ErrorKind = (code === undefined ? undefined : KIND_BY_CODE[code]) ?? kindFromStatus(status);
  const moreInfo = error.moreInfo ?? (typeof body?.more_info === 'string' ? body.more_info : undefined);
  const reference = code === undefined ? '' : ` (Twilio error ${code}${moreInfo ? `, ${moreInfo}` : ''})`;
  const retryAfterMs = kind === 'rate_limited' ? parseRetryAfter(headerOf(response, 'retry-after')) : undefined;
  const message =
    kind === 'auth'
      ? `Twilio rejected the Account SID and Auth Token${reference}`
      : `Twilio ${status}: ${describe(error, body)}${reference}`;
  return new IntegrationError(kind, message, {
    cause: error,
    provider: PROVIDER,
    status,
    ...(code === undefined ? {} : { code: String(code) }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** The one place Twilio SDK errors (and the transport errors under them) become core's kinds. */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  if (isSdkHttpError(error)) return fromHttpError(error);
  const message = error instanceof Error ? error.message : String(error);
  // Axios' timeout and cancellation codes included: core knows them.
  const kind = kindFromNetworkError(error);
  if (kind) {
    return new IntegrationError(kind, `Twilio request failed: ${message}`, {
      cause: error,
      provider: PROVIDER,
      ...(kind === 'cancelled' ? {} : { code: 'connection_error' }),
    });
  }
  return new IntegrationError('internal', `unexpected error from the Twilio SDK: ${message}`, {
    cause: error,
    provider: PROVIDER,
  });
}
