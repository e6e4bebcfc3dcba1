import { type BucketLocationConstraint, CreateBucketCommand } from '@aws-sdk/client-s3';
import type { CallOptions } from '@integrations/core';
import { callOptions, resolveBucket, type S3Scope } from './shared.js';

export interface CreateBucketResult {
  /** False when the bucket already existed and belongs to this account. */
  created: boolean;
}

export function bucketOperations(scope: S3Scope, region: string) {
  return {
    /**
     * Creates a bucket (the config's default bucket when none is given) in the configured region. Idempotent:
     * a bucket this account already owns is success with `created: false`; a name taken by another account is
     * `conflict`.
     */
    async createBucket(bucket?: string, options: CallOptions = {}): Promise<CreateBucketResult> {
      const Bucket = resolveBucket(scope, 'createBucket', bucket);
      // us-east-1 is S3's default location and must not be named as a constraint.
      const CreateBucketConfiguration =
        region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint };
      return scope.ctx.call(
        'createBucket',
        async ({ signal }) => {
          try {
            await scope.client.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration }), {
              abortSignal: signal,
            });
            return { created: true };
          } catch (error) {
            if ((error as { name?: unknown }).name === 'BucketAlreadyOwnedByYou') return { created: false };
            throw error;
          }
        },
        callOptions(options),
      );
    },
  };
}
