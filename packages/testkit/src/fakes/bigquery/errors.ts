/** One entry of Google's `error.errors` list (the discovery doc's ErrorProto, plus the `domain` Google sends). */
export interface GoogleErrorItem {
  reason: string;
  message: string;
  domain?: string;
  location?: string;
  locationType?: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** An error the fake answers with, in the JSON shape Google's APIs use. */
export class GoogleApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly location: string | undefined;

  constructor(status: number, reason: string, message: string, location?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.location = location;
  }

  toBody(): { error: { code: number; message: string; errors: GoogleErrorItem[]; status: string } } {
    const item: GoogleErrorItem = { message: this.message, domain: 'global', reason: this.reason };
    if (this.location !== undefined) item.location = this.location;
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [item],
        status: STATUS_NAMES[this.status] ?? 'UNKNOWN',
      },
    };
  }
}

export const notFound = (what: string) => new GoogleApiError(404, 'notFound', `Not found: ${what}`);
export const duplicate = (what: string) => new GoogleApiError(409, 'duplicate', `Already Exists: ${what}`);
export const invalid = (message: string, location?: string) => new GoogleApiError(400, 'invalid', message, location);
export const invalidQuery = (message: string) => new GoogleApiError(400, 'invalidQuery', message);

/** The body Google sends for a status the fake (or a fault proxy in front of it) injects. */
export function googleErrorBody(status: number, message?: string): string {
  const reasons: Record<number, string> = {
    400: 'invalid',
    401: 'authError',
    403: 'accessDenied',
    404: 'notFound',
    409: 'duplicate',
    429: 'rateLimitExceeded',
    500: 'internalError',
    503: 'backendError',
  };
  const reason = reasons[status] ?? (status >= 500 ? 'backendError' : 'invalid');
  return JSON.stringify(new GoogleApiError(status, reason, message ?? `injected ${status}`).toBody());
}
