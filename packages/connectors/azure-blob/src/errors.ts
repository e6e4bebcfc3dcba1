import { type ErrorKind, IntegrationError, kindFromNetworkError, kindFromStatus } from '@integrations/core';

const PROVIDER = 'azure-blob';

/**
 * Azure's error codes (the x-ms-error-code header / <Code> element) that say more than the status does.
 * https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
 */
const KIND_BY_CODE: Readonly<Record<string, ErrorKind>> = {
  // A bad shared key or SAS signature: the credentials are wrong, whatever the 403 says.
  AuthenticationFailed: 'auth',
  InvalidAuthenticationInfo: 'auth',
  NoAuthenticationInformation: 'auth',
  // The credentials are fine but do not allow this (SAS permissions, RBAC, IP or protocol rules).
  AuthorizationPermissionMismatch: 'permission',
  AuthorizationResourceTypeMismatch: 'permission',
  AuthorizationServiceMismatch: 'permission',
  AuthorizationSourceIPMismatch: 'permission',
  AuthorizationProtocolMismatch: 'permission',
  InsufficientAccountPermissions: 'permission',
  BlobNotFound: 'not_found',
  ContainerNotFound: 'not_found',
  ResourceNotFound: 'not_found',
  ContainerAlreadyExists: 'conflict',
  BlobAlreadyExists: 'conflict',
  ContainerBeingDeleted: 'conflict',
  ConditionNotMet: 'conflict',
  LeaseIdMissing: 'conflict',
  LeaseIdMismatchWithBlobOperation: 'conflict',
  LeaseAlreadyPresent: 'conflict',
  // Azure's throttling answer (503 or 500): the account is over its scalability targets, back off.
  ServerBusy: 'rate_limited',
  OperationTimedOut: 'timeout',
  InternalError: 'unavailable',
};

interface RestErrorLike {
  name: string;
  message: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/**
 * Shared-key failures come back as 403 AuthorizationFailure from Azurite ("Server failed to authenticate the
 * request"); the real service uses the same code for requests its network rules refuse. The first is bad
 * credentials (auth), the second a standing refusal (permission): the message tells them apart.
 */
function authorizationFailureKind(message: string): ErrorKind {
  return /authenticat/i.test(message) ? 'auth' : 'permission';
}

function retryAfterMs(error: RestErrorLike): number | undefined {
  const header = error.response?.headers?.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The service's message without the RequestId/Time lines Azure appends to every error. */
function firstLine(message: string): string {
  return message.split('\n', 1)[0]?.trim() ?? '';
}

function mapRestError(error: RestErrorLike): IntegrationError {
  const status = error.statusCode;
  const code = error.code;
  const serviceMessage = firstLine(error.message);
  if (status === undefined) {
    // No response at all: the request never got an answer (socket error, or a body we could not parse).
    const kind = kindFromNetworkError(error) ?? (code === 'PARSE_ERROR' ? 'internal' : 'unavailable');
    return new IntegrationError(kind, `Azure Blob request failed: ${serviceMessage || code || 'no response'}`, {
      provider: PROVIDER,
      code,
      cause: error,
    });
  }
  const kind =
    (code === 'AuthorizationFailure' ? authorizationFailureKind(serviceMessage) : code && KIND_BY_CODE[code]) ||
    kindFromStatus(status);
  const label = code ? `${code} (HTTP ${status})` : `HTTP ${status}`;
  return new IntegrationError(kind, `Azure Blob ${label}: ${serviceMessage || 'request failed'}`, {
    provider: PROVIDER,
    status,
    code,
    retryAfterMs: retryAfterMs(error),
    cause: error,
  });
}

/** Maps anything the Azure SDK (or a download stream) throws to core's error kinds. */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  if (isRestError(error)) return mapRestError(error);
  const networkKind = kindFromNetworkError(error);
  const message = error instanceof Error ? error.message : String(error);
  if (networkKind) {
    return new IntegrationError(networkKind, `Azure Blob request failed: ${message}`, {
      provider: PROVIDER,
      cause: error,
    });
  }
  // The SDK's download stream ended before Content-Length bytes arrived.
  if (error instanceof Error && /received less data than required/.test(error.message)) return incompleteBody(error);
  // The SDK checks arguments (SAS permissions, ranges) with RangeError before sending anything.
  const kind: ErrorKind = error instanceof RangeError ? 'invalid_request' : 'internal';
  return new IntegrationError(kind, `Azure Blob: ${message}`, { provider: PROVIDER, cause: error });
}

function incompleteBody(cause: unknown): IntegrationError {
  return new IntegrationError('unavailable', 'Azure Blob download ended early: the connection dropped mid-body', {
    provider: PROVIDER,
    code: 'incomplete_body',
    cause,
  });
}

/**
 * Errors a download body emits after the call resolved. The SDK reports a connection that closed mid-body as
 * an AbortError too, so an abort is a cancellation only when we asked for one (`aborted`).
 */
export function mapBodyError(error: unknown, aborted: boolean): IntegrationError {
  if (!aborted && !IntegrationError.isInstance(error) && kindFromNetworkError(error) === 'cancelled') {
    return incompleteBody(error);
  }
  return mapError(error);
}
