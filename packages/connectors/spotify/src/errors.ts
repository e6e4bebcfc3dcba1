import { IntegrationError, InvalidConfigError, kindFromNetworkError } from '@integrations/core';

export const PROVIDER = 'spotify';

/**
 * The one place failures become core's kinds. Core's HTTP client has already turned every non-2xx answer into an
 * IntegrationError: the kind from the status (401 auth, 403 permission, 404 not_found, 400 and Prism's 422
 * invalid_request, 429 rate_limited with `retryAfterMs` from Retry-After, 5xx unavailable), the message from
 * Spotify's `{ error: { status, message } }` body, credentials stripped. Token endpoint refusals arrive as `auth`
 * with the OAuth error (`invalid_grant`, `invalid_client`) as `code`. What is left is what never got a response.
 */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const kind = kindFromNetworkError(error);
  if (kind)
    return new IntegrationError(kind, `Spotify request failed: ${message}`, { provider: PROVIDER, cause: error });
  return new IntegrationError('internal', `unexpected error in the Spotify connector: ${message}`, {
    provider: PROVIDER,
    cause: error,
  });
}

/** A call the connector refuses before sending anything: bad arguments, never retried. */
export function invalidRequest(operation: string, message: string, code = 'invalid_argument'): IntegrationError {
  return new IntegrationError('invalid_request', `${operation}: ${message}`, {
    provider: PROVIDER,
    operation,
    code,
  });
}

/** A call the configured credentials can never make (a user action with app-only credentials). */
export function needsUserAuthorization(operation: string): IntegrationError {
  return new InvalidConfigError(
    PROVIDER,
    [
      {
        path: 'authMode',
        message: `${operation} acts for a Spotify user: set authMode to 'authorization_code' with the user's refreshToken`,
      },
    ],
    { operation, code: 'user_authorization_required' },
  );
}

/**
 * The same failure, its message extended (e.g. with how much of a multi-request write was done before it).
 * Keeps kind, status, code, retryAfterMs and where it happened.
 */
export function withContext(error: unknown, detail: string): IntegrationError {
  const original = mapError(error);
  const { kind, retryable, provider, operation, tenant, integration, status, code, retryAfterMs } = original;
  return new IntegrationError(kind, `${original.message} (${detail})`, {
    retryable,
    provider,
    operation,
    tenant,
    integration,
    status,
    code,
    retryAfterMs,
    cause: original,
  });
}
