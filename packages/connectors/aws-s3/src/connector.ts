import { HeadBucketCommand, ListBucketsCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import {
  type ConfigOutput,
  type ConnectorContext,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationType,
  InvalidConfigError,
} from '@integrations/core';
import { awsS3ConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { bucketOperations } from './operations/buckets.js';
import { objectOperations } from './operations/objects.js';
import { presignOperations } from './operations/presign.js';
import type { S3Scope } from './operations/shared.js';
import { uploadOperations } from './operations/upload.js';
import { VERSION } from './version.js';

type ParsedConfig = ConfigOutput<typeof awsS3ConfigSchema.fields>;

function credentialsOf(config: ParsedConfig): S3ClientConfig['credentials'] {
  const { accessKeyId, secretAccessKey, sessionToken } = config;
  if (accessKeyId === undefined && secretAccessKey === undefined) {
    if (sessionToken !== undefined) {
      throw new InvalidConfigError('aws-s3', [
        { path: 'sessionToken', message: 'needs accessKeyId and secretAccessKey' },
      ]);
    }
    // Neither key given: the SDK's default chain (environment, shared profile, container or instance role).
    return undefined;
  }
  if (accessKeyId === undefined) {
    throw new InvalidConfigError('aws-s3', [{ path: 'accessKeyId', message: 'is required with secretAccessKey' }]);
  }
  if (secretAccessKey === undefined) {
    throw new InvalidConfigError('aws-s3', [{ path: 'secretAccessKey', message: 'is required with accessKeyId' }]);
  }
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** `@integrations/aws-s3/0.1.0 @integrations/core/0.1.0` as the SDK's [name, version] pairs. */
function userAgentPairs(userAgent: string): [string, string?][] {
  return userAgent
    .split(' ')
    .filter(Boolean)
    .map((token) => {
      const slash = token.lastIndexOf('/');
      return slash > 0 ? [token.slice(0, slash), token.slice(slash + 1)] : [token];
    });
}

function clientConfig(
  config: ParsedConfig,
  ctx: ConnectorContext,
  checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED',
): S3ClientConfig {
  return {
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: credentialsOf(config),
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    // Core's pipeline is the only retry layer: the SDK must not retry underneath it.
    maxAttempts: 1,
    customUserAgent: userAgentPairs(ctx.userAgent),
  };
}

export const awsS3 = defineConnector({
  id: 'aws-s3',
  displayName: 'Amazon S3',
  type: IntegrationType.Storage,
  category: 'storage',
  version: VERSION,
  config: awsS3ConfigSchema,
  operations: {
    put: { idempotent: true, description: 'Store an object from a Buffer or string (re-sendable, so retried).' },
    putStream: {
      idempotent: false,
      description: 'Store an object from a stream. A stream cannot be replayed, so it is never retried.',
    },
    get: { idempotent: true, description: 'Fetch an object as a stream with its size, type, ETag and metadata.' },
    head: { idempotent: true, description: "Read an object's size, type, ETag and metadata." },
    delete: { idempotent: true, description: 'Delete one object.' },
    deleteMany: { idempotent: true, description: 'Delete up to 1000 objects per request, reporting per-key errors.' },
    list: { idempotent: true, description: 'List objects, one page per call (ListObjectsV2).' },
    upload: {
      idempotent: false,
      description: 'Multipart upload of a large body with progress events. Not retried from scratch.',
    },
    createBucket: { idempotent: true, description: 'Create a bucket; one this account already owns is success.' },
  },
  mapError,
  create(config, ctx) {
    const client = new S3Client(clientConfig(config, ctx, config.checksumMode));
    // Presigned PUT URLs must not carry a checksum: the SDK would sign the CRC32 of the empty body it sees at
    // signing time, and S3 would reject every real upload to the URL. A second client signs without checksums.
    let presigner: S3Client | undefined;
    const presignClient = () => {
      presigner ??=
        config.checksumMode === 'WHEN_REQUIRED' ? client : new S3Client(clientConfig(config, ctx, 'WHEN_REQUIRED'));
      return presigner;
    };
    const scope: S3Scope = { client, ctx, bucket: config.bucket };

    return {
      client,
      ...objectOperations(scope),
      ...uploadOperations(scope),
      ...presignOperations(scope, presignClient),
      ...bucketOperations(scope, config.region),

      /** HeadBucket of the default bucket when one is configured (checks it exists and we may use it), else ListBuckets. */
      async healthCheck({ signal }: { signal: AbortSignal }) {
        try {
          if (config.bucket !== undefined) {
            await client.send(new HeadBucketCommand({ Bucket: config.bucket }), { abortSignal: signal });
            return { region: config.region, bucket: config.bucket };
          }
          const out = await client.send(new ListBucketsCommand({}), { abortSignal: signal });
          return { region: config.region, buckets: out.Buckets?.length ?? 0 };
        } catch (error) {
          throw mapError(error);
        }
      },

      close() {
        client.destroy();
        if (presigner !== undefined && presigner !== client) presigner.destroy();
      },
    };
  },
});

export type AwsS3Instance = ConnectorInstanceOf<typeof awsS3>;
