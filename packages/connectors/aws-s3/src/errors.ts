import { type ErrorKind, IntegrationError, kindFromNetworkError, kindFromStatus } from '@integrations/core';

const PROVIDER = 'aws-s3';

/**
 * S3 error codes whose meaning is sharper than their status. The one that matters most: a wrong key id is a 403
 * on S3, but it is a credentials problem (auth), not a missing grant (permission).
 */
const KIND_BY_CODE: Readonly<Record<string, ErrorKind>> = {
  NoSuchKey: 'not_found',
  NoSuchBucket: 'not_found',
  NoSuchUpload: 'not_found',
  NoSuchVersion: 'not_found',
  NotFound: 'not_found',
  AccessDenied: 'permission',
  AllAccessDisabled: 'permission',
  AccountProblem: 'permission',
  InvalidAccessKeyId: 'auth',
  SignatureDoesNotMatch: 'auth',
  ExpiredToken: 'auth',
  InvalidToken: 'auth',
  TokenRefreshRequired: 'auth',
  CredentialsProviderError: 'auth',
  SlowDown: 'rate_limited',
  TooManyRequests: 'rate_limited',
  RequestTimeout: 'timeout',
  ServiceUnavailable: 'unavailable',
  InternalError: 'unavailable',
  BucketAlreadyExists: 'conflict',
  BucketAlreadyOwnedByYou: 'conflict',
  BucketNotEmpty: 'conflict',
  OperationAborted: 'conflict',
  PreconditionFailed: 'conflict',
};

/** Messages for errors whose SDK message says nothing (HEAD responses have no body to carry one). */
const FALLBACK_MESSAGE: Partial<Record<ErrorKind, string>> = {
  not_found: 'the bucket or object does not exist',
  permission: 'access denied',
  auth: 'the credentials were rejected',
  rate_limited: 'S3 asked us to slow down',
  unavailable: 'S3 is unavailable',
};

interface SdkError {
  name?: unknown;
  message?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, string | undefined> };
}

function statusOf(error: SdkError): number | undefined {
  const status = error.$metadata?.httpStatusCode ?? error.$response?.statusCode;
  return typeof status === 'number' && status > 0 ? status : undefined;
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerOf(error: SdkError, name: string): string | undefined {
  const headers = error.$response?.headers;
  if (!headers) return undefined;
  const hit = Object.keys(headers).find((key) => key.toLowerCase() === name);
  return hit === undefined ? undefined : headers[hit];
}

function usefulMessage(message: unknown, code: string | undefined): string | undefined {
  if (typeof message !== 'string' || message === '') return undefined;
  // The SDK's placeholder when the body carried no message, or was not S3's XML at all.
  if (message === 'UnknownError' || message === 'Unknown' || message === code) return undefined;
  return message.split('\n')[0];
}

/** The one place where anything the AWS SDK throws becomes one of core's error kinds. */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  if (typeof error !== 'object' || error === null) {
    return new IntegrationError('internal', `S3 call failed: ${String(error)}`, { provider: PROVIDER, cause: error });
  }
  const e = error as SdkError;
  const status = statusOf(e);
  const name = typeof e.name === 'string' ? e.name : undefined;
  const code = typeof e.Code === 'string' ? e.Code : name;

  if (status !== undefined) {
    const kind = (code !== undefined ? KIND_BY_CODE[code] : undefined) ?? kindFromStatus(status);
    const detail = usefulMessage(e.message, code) ?? FALLBACK_MESSAGE[kind] ?? 'request failed';
    const retryAfterMs = parseRetryAfter(headerOf(e, 'retry-after'));
    const known = code !== undefined && code !== 'Unknown' && code !== 'UnknownError' && !/^\d+$/.test(code);
    return new IntegrationError(kind, `S3 responded ${status}${known ? ` ${code}` : ''}: ${detail}`, {
      provider: PROVIDER,
      status,
      code: known ? code : undefined,
      retryAfterMs,
      cause: error,
    });
  }

  const networkKind = kindFromNetworkError(error);
  if (networkKind !== undefined) {
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(name);
    return new IntegrationError(networkKind, `S3 request failed: ${message}`, { provider: PROVIDER, cause: error });
  }

  if (name !== undefined && KIND_BY_CODE[name] === 'auth') {
    // Credential resolution failed before any request was sent (no keys configured, no role to assume).
    return new IntegrationError('auth', `S3 credentials could not be resolved: ${String(e.message)}`, {
      provider: PROVIDER,
      code: name,
      cause: error,
    });
  }

  const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'unknown error';
  return new IntegrationError('internal', `S3 call failed: ${message}`, { provider: PROVIDER, cause: error });
}

/** A typed error for bad arguments, raised before anything is sent. */
export function invalidRequest(operation: string, message: string): IntegrationError {
  return new IntegrationError('invalid_request', `aws-s3 ${operation}: ${message}`, {
    provider: PROVIDER,
    operation,
    retryable: false,
  });
}
