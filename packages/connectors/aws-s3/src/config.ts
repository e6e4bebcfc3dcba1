import { type ConfigInput, configSchema, field } from '@integrations/core';

// S3's bucket naming rules (lowercase letters, digits, dots, hyphens; 3-63 characters; alphanumeric at both ends).
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const awsS3ConfigSchema = configSchema({
  region: field.string({
    description: 'AWS region of the bucket, e.g. `eu-west-1`.',
    minLength: 1,
    default: 'us-east-1',
  }),
  endpoint: field.url({
    description: 'Custom endpoint (S3-compatible stores, local stand-ins). Leave unset for AWS.',
    optional: true,
  }),
  forcePathStyle: field.boolean({
    description: 'Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`.',
    default: false,
  }),
  accessKeyId: field.string({
    description:
      'Access key id. Leave both keys unset to use the SDK default credential chain (env, profile, IAM role).',
    minLength: 1,
    optional: true,
  }),
  secretAccessKey: field.secret({
    description: 'Secret access key (required with accessKeyId).',
    minLength: 1,
    optional: true,
  }),
  sessionToken: field.secret({ description: 'Session token for temporary credentials.', minLength: 1, optional: true }),
  bucket: field.string({
    description: 'Default bucket for operations that are not given one.',
    pattern: BUCKET_NAME,
    optional: true,
  }),
  checksumMode: field.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const, {
    description:
      'When the SDK adds request checksums and validates response checksums. `WHEN_REQUIRED` for S3-compatible ' +
      'stores that do not understand flexible checksums (s3rver, older MinIO, R2).',
    default: 'WHEN_SUPPORTED',
  }),
});

export type AwsS3Config = ConfigInput<typeof awsS3ConfigSchema.fields>;
