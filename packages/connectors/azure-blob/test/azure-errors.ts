/**
 * What the Blob service sends for an error: an XML body and the same code in `x-ms-error-code` (HEAD responses
 * have only the header). The fault proxy answers injected statuses with this, so the SDK parses them as it
 * parses the real service's.
 */
const ERRORS: Record<number, { code: string; message: string }> = {
  400: { code: 'InvalidInput', message: 'One of the request inputs is not valid.' },
  401: { code: 'NoAuthenticationInformation', message: 'Server failed to authenticate the request.' },
  403: {
    code: 'AuthorizationPermissionMismatch',
    message: 'This request is not authorized to perform this operation using this permission.',
  },
  404: { code: 'ResourceNotFound', message: 'The specified resource does not exist.' },
  409: { code: 'ContainerBeingDeleted', message: 'The specified container is being deleted.' },
  429: { code: 'ServerBusy', message: 'The server is busy.' },
};

const SERVER_ERROR = {
  code: 'InternalError',
  message: 'The server encountered an internal error. Please retry the request.',
};

export function azureErrorResponse(status: number): {
  contentType: string;
  body: string;
  headers: Record<string, string>;
} {
  const { code, message } = ERRORS[status] ?? (status >= 500 ? SERVER_ERROR : ERRORS[400]!);
  const body =
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<Error><Code>${code}</Code><Message>${message}\nRequestId:00000000-0000-0000-0000-000000000000\n` +
    `Time:${new Date().toISOString()}</Message></Error>`;
  return { contentType: 'application/xml', body, headers: { 'x-ms-error-code': code } };
}
