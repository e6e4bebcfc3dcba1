import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ErrorResponse } from '@integrations/testkit';

/** The raw SDK pointed straight at the stand-in (no connector, no proxy): for seeding and cross-checking. */
export function rawClient(url: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

export async function seed(url: string, bucket: string, objects: Record<string, string>): Promise<void> {
  const client = rawClient(url);
  try {
    for (const [Key, Body] of Object.entries(objects)) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    }
  } finally {
    client.destroy();
  }
}

// The codes S3 itself sends with these statuses (429 is not one S3 sends; SlowDown is its throttling code).
const CODES: Record<number, [string, string]> = {
  400: ['InvalidRequest', 'Invalid Request'],
  401: ['Unauthorized', 'Unauthorized'],
  403: ['AccessDenied', 'Access Denied'],
  404: ['NoSuchKey', 'The specified key does not exist.'],
  409: ['OperationAborted', 'A conflicting conditional operation is currently in progress against this resource.'],
  429: ['SlowDown', 'Please reduce your request rate.'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['ServiceUnavailable', 'Service is unable to handle request.'],
};

/** An S3 error document (`<Error><Code/><Message/><RequestId/></Error>`) for an injected status. */
export function s3ErrorResponse(status: number): ErrorResponse {
  const [code, message] = CODES[status] ?? [`Http${status}`, `status ${status}`];
  return {
    contentType: 'application/xml',
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>`,
  };
}
