import {
  type ErrorKind,
  IntegrationError,
  type IntegrationErrorOptions,
  kindFromNetworkError,
  kindFromStatus,
} from '@integrations/core';

const PROVIDER = 'gcp-bigquery';

/** One row BigQuery refused in a streaming insert. */
export interface FailedRow {
  /** Position of the row in the array given to insertRows. */
  index: number;
  /** The insertId the row was sent with (retry with the same id and BigQuery drops it if it did land). */
  insertId: string | undefined;
  errors: { reason: string; message: string; location: string | undefined }[];
}

/**
 * A streaming insert in which some rows were refused. `failedRows` are the rows BigQuery rejected (each with its
 * reasons); `stoppedRows` are valid rows that were not written because the request had invalid ones and
 * `skipInvalidRows` was off. Retryable only when every rejection is transient (e.g. `backendError`): a retry
 * re-sends the same insertIds, so rows that did land are not duplicated.
 */
export class PartialInsertError extends IntegrationError {
  readonly failedRows: readonly FailedRow[];
  readonly stoppedRows: readonly number[];

  constructor(failedRows: FailedRow[], stoppedRows: number[], options: IntegrationErrorOptions = {}) {
    const first = failedRows[0]?.errors[0];
    const detail = first ? `; first: row ${failedRows[0]?.index}: ${first.message || first.reason}` : '';
    const stopped =
      stoppedRows.length > 0 ? `; ${stoppedRows.length} valid row(s) not written because skipInvalidRows is off` : '';
    super(
      'invalid_request',
      `BigQuery rejected ${failedRows.length} row(s) (${failedRows.map((r) => r.index).join(', ')})${detail}${stopped}`,
      { provider: PROVIDER, code: 'partial_failure', ...options },
    );
    this.name = 'PartialInsertError';
    this.failedRows = failedRows;
    this.stoppedRows = stoppedRows;
  }

  static override isInstance(error: unknown): error is PartialInsertError {
    return IntegrationError.isInstance(error) && Array.isArray((error as { failedRows?: unknown }).failedRows);
  }
}

/** Row-level reasons that a retry of the same rows may clear. */
const TRANSIENT_ROW_REASONS = new Set(['backendError', 'internalError', 'timeout']);

/** BigQuery reports some conditions through `errors[].reason` with a status that says less (403 for quotas). */
const REASON_KINDS: Record<string, ErrorKind> = {
  rateLimitExceeded: 'rate_limited',
  userRateLimitExceeded: 'rate_limited',
  quotaExceeded: 'rate_limited',
  backendError: 'unavailable',
  internalError: 'unavailable',
  jobBackendError: 'unavailable',
  jobInternalError: 'unavailable',
  responseTooLarge: 'invalid_request',
  invalid: 'invalid_request',
  invalidQuery: 'invalid_request',
  billingNotEnabled: 'permission',
  accessDenied: 'permission',
  notFound: 'not_found',
  duplicate: 'conflict',
};

interface GoogleErrorItem {
  reason?: unknown;
  message?: unknown;
  location?: unknown;
}

interface SdkError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  type?: unknown;
  errors?: unknown;
  response?: {
    statusCode?: unknown;
    headers?: Record<string, unknown>;
    insertErrors?: unknown;
    status?: unknown;
    data?: unknown;
  };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
function retryAfterMs(headers: Record<string, unknown> | undefined): number | undefined {
  const raw = headers?.['retry-after'];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function partialInsertError(error: SdkError): PartialInsertError {
  // The SDK lists failures in the order of the response's insertErrors; that list carries the row indexes.
  const items = Array.isArray(error.errors) ? (error.errors as { row?: { insertId?: unknown } }[]) : [];
  const insertErrors = Array.isArray(error.response?.insertErrors)
    ? (error.response.insertErrors as { index?: unknown; errors?: GoogleErrorItem[] }[])
    : [];
  const failed: FailedRow[] = [];
  const stopped: number[] = [];
  insertErrors.forEach((entry, i) => {
    const index = typeof entry.index === 'number' ? entry.index : i;
    const errors = (entry.errors ?? []).map((e) => ({
      reason: typeof e.reason === 'string' ? e.reason : 'unknown',
      message: typeof e.message === 'string' ? e.message : '',
      location: typeof e.location === 'string' && e.location !== '' ? e.location : undefined,
    }));
    if (errors.length > 0 && errors.every((e) => e.reason === 'stopped')) {
      stopped.push(index);
      return;
    }
    const insertId = items[i]?.row?.insertId;
    failed.push({ index, insertId: typeof insertId === 'string' ? insertId : undefined, errors });
  });
  const transient =
    failed.length > 0 && failed.every((r) => r.errors.every((e) => TRANSIENT_ROW_REASONS.has(e.reason)));
  return new PartialInsertError(failed, stopped, { retryable: transient, cause: error });
}

/**
 * The SDK error is kept as the cause, but it holds the request it answered: the HTTP response keeps the request
 * headers (`Authorization: Bearer …`), and google-auth-library's errors keep their request config (headers, and a
 * token request's form body). Those go before the error is kept anywhere.
 */
function dropCredentials(error: object): void {
  const e = error as { response?: Record<string, unknown>; config?: unknown };
  if (e.config !== undefined) delete e.config;
  const response = e.response;
  if (typeof response !== 'object' || response === null) return;
  if ('request' in response || 'config' in response) {
    // The live HTTP response (a stream holding its socket and the request that was sent) becomes a plain record.
    e.response = {
      statusCode: response.statusCode ?? response.status,
      statusMessage: response.statusMessage ?? response.statusText,
      headers: { ...(response.headers as Record<string, unknown> | undefined) },
      body: typeof response.body === 'object' && !isStream(response.body) ? response.body : undefined,
    };
  }
}

function isStream(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { pipe?: unknown }).pipe === 'function';
}

/** Maps anything the BigQuery SDK (or google-auth-library under it) throws to core's error kinds. */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  if (typeof error === 'object' && error !== null) dropCredentials(error);
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkError;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);

  if (e.name === 'PartialFailureError') return partialInsertError(e);

  // ApiError from @google-cloud/common: `code` is the HTTP status, `errors` Google's error list. A job that
  // failed (status.errorResult) arrives as an ApiError with the list and no status.
  const items = Array.isArray(e.errors) ? (e.errors as GoogleErrorItem[]) : [];
  const reason = items.map((i) => i.reason).find((r): r is string => typeof r === 'string' && r !== '');
  // A body without Google's `error.code` (an HTML page from a proxy, a bare JSON error) leaves `code` unset:
  // the HTTP status is still on the response the SDK attached.
  const httpStatus = typeof e.code === 'number' ? e.code : e.response?.statusCode;
  const status = typeof httpStatus === 'number' && httpStatus >= 400 ? httpStatus : undefined;
  if (status !== undefined || (e.name !== 'FetchError' && reason !== undefined)) {
    const kind =
      (reason !== undefined ? REASON_KINDS[reason] : undefined) ?? (status ? kindFromStatus(status) : 'internal');
    return new IntegrationError(kind, `BigQuery: ${message}`, {
      provider: PROVIDER,
      status,
      code: reason,
      retryAfterMs: kind === 'rate_limited' ? retryAfterMs(e.response?.headers) : undefined,
      cause: error,
    });
  }

  // google-auth-library (GaxiosError) when fetching or refreshing a token fails.
  const authStatus = e.response?.status;
  if (typeof authStatus === 'number' && authStatus >= 400) {
    const kind = authStatus === 400 || authStatus === 401 ? 'auth' : kindFromStatus(authStatus);
    return new IntegrationError(kind, `BigQuery credentials: ${message}`, {
      provider: PROVIDER,
      status: authStatus,
      code: 'token_request_failed',
      cause: error,
    });
  }
  if (/Could not load the default credentials|Could not refresh access token/i.test(message)) {
    return new IntegrationError('auth', `BigQuery credentials: ${message}`, {
      provider: PROVIDER,
      code: 'no_credentials',
      cause: error,
    });
  }

  // node-fetch under the SDK: its own socket timeout, then socket-level codes.
  if (e.type === 'request-timeout') {
    return new IntegrationError('timeout', `BigQuery: ${message}`, {
      provider: PROVIDER,
      code: 'request_timeout',
      cause: error,
    });
  }
  // A FetchError without a known socket code (premature close, unparsable body) is still a transport failure.
  const networkKind = kindFromNetworkError(error) ?? (e.name === 'FetchError' ? 'unavailable' : undefined);
  if (networkKind !== undefined) {
    return new IntegrationError(networkKind, `BigQuery: ${message}`, {
      provider: PROVIDER,
      code: typeof e.code === 'string' ? e.code : undefined,
      cause: error,
    });
  }
  return new IntegrationError('internal', `BigQuery: ${message}`, { provider: PROVIDER, cause: error });
}
