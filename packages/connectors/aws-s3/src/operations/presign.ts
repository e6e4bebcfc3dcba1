import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { mapError } from '../errors.js';
import {
  type BucketOption,
  checkInteger,
  checkKey,
  checkOptionalString,
  resolveBucket,
  type S3Scope,
} from './shared.js';

export interface PresignGetOptions extends BucketOption {
  /** Seconds the URL stays valid, 1 to 604800 (7 days, SigV4's limit). Default 900. */
  expiresIn?: number | undefined;
  /** Content-Type S3 answers the download with. */
  responseContentType?: string | undefined;
  /** Content-Disposition S3 answers the download with (e.g. `attachment; filename="a.pdf"`). */
  responseContentDisposition?: string | undefined;
}

export interface PresignPutOptions extends BucketOption {
  /** Seconds the URL stays valid, 1 to 604800 (7 days, SigV4's limit). Default 900. */
  expiresIn?: number | undefined;
  /** Signed into the URL: the uploader must send this exact Content-Type. */
  contentType?: string | undefined;
}

const MAX_EXPIRY = 7 * 24 * 3600;

/**
 * Presigned URLs are computed locally (no request to S3), so they do not run through the pipeline: a rate
 * limit or an open breaker has nothing to protect here. Bad input still fails with a typed error.
 */
export function presignOperations(scope: S3Scope, presigner: () => S3Client) {
  async function sign(operation: string, command: GetObjectCommand | PutObjectCommand, expiresIn: number) {
    try {
      return await getSignedUrl(presigner(), command, { expiresIn });
    } catch (error) {
      const mapped = mapError(error);
      mapped.operation = operation;
      throw mapped;
    }
  }

  return {
    /** A URL anyone can GET the object with until it expires. */
    async presignGet(key: string, options: PresignGetOptions = {}): Promise<string> {
      const Bucket = resolveBucket(scope, 'presignGet', options.bucket);
      const Key = checkKey('presignGet', key);
      const expiresIn = checkInteger('presignGet', 'expiresIn', options.expiresIn ?? 900, 1, MAX_EXPIRY);
      const command = new GetObjectCommand({
        Bucket,
        Key,
        ResponseContentType: checkOptionalString('presignGet', 'responseContentType', options.responseContentType),
        ResponseContentDisposition: checkOptionalString(
          'presignGet',
          'responseContentDisposition',
          options.responseContentDisposition,
        ),
      });
      return sign('presignGet', command, expiresIn);
    },

    /** A URL anyone can PUT one object's bytes to until it expires. */
    async presignPut(key: string, options: PresignPutOptions = {}): Promise<string> {
      const Bucket = resolveBucket(scope, 'presignPut', options.bucket);
      const Key = checkKey('presignPut', key);
      const expiresIn = checkInteger('presignPut', 'expiresIn', options.expiresIn ?? 900, 1, MAX_EXPIRY);
      const ContentType = checkOptionalString('presignPut', 'contentType', options.contentType);
      return sign('presignPut', new PutObjectCommand({ Bucket, Key, ContentType }), expiresIn);
    },
  };
}
