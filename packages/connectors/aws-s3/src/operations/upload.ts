import { AbortMultipartUploadCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { type Progress, Upload } from '@aws-sdk/lib-storage';
import type { CallOptions } from '@integrations/core';
import { invalidRequest, mapError } from '../errors.js';
import {
  type BucketOption,
  callOptions,
  checkBody,
  checkInteger,
  checkKey,
  checkMetadata,
  checkOptionalString,
  destroyOnFailure,
  type PutBody,
  resolveBucket,
  type S3Scope,
} from './shared.js';

export interface UploadProgress {
  /** Bytes S3 has acknowledged so far. Never decreases. */
  loaded: number;
  /** Total bytes, when known (a Buffer, or a stream with `contentLength`); the last event always has it. */
  total: number | undefined;
  /** The part that just completed. */
  part: number | undefined;
}

export interface UploadOptions extends CallOptions, BucketOption {
  contentType?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** Byte length of a stream body, so progress can report a total from the start. */
  contentLength?: number | undefined;
  /** Bytes per part, at least 5 MiB (S3's minimum). Default 5 MiB. Memory use is about partSize × queueSize. */
  partSize?: number | undefined;
  /** Parts sent at once. Default 4. */
  queueSize?: number | undefined;
  onProgress?: ((progress: UploadProgress) => void) | undefined;
}

export interface UploadResult {
  etag: string | undefined;
  versionId: string | undefined;
  location: string | undefined;
}

const MIN_PART = 5 * 1024 * 1024;
const MAX_PART = 5 * 1024 ** 3;

/**
 * lib-storage sends its requests without a signal. This view of the client adds the attempt's signal to every
 * request that moves data, so aborting stops the parts in flight, not only the ones not yet started.
 * The AbortMultipartUpload that cleans up after a failure gets the integration's signal instead (it must still
 * run when the attempt was aborted), and its own failure is logged rather than thrown: lib-storage would
 * otherwise report the cleanup's error in place of the one that failed the upload.
 */
function clientWithSignal(scope: S3Scope, signal: AbortSignal): S3Client {
  const { client, ctx } = scope;
  const send = async (command: Parameters<S3Client['send']>[0], options?: { abortSignal?: AbortSignal }) => {
    if (!(command instanceof AbortMultipartUploadCommand)) {
      return client.send(command, { ...options, abortSignal: signal });
    }
    try {
      return await client.send(command, { ...options, abortSignal: ctx.signal });
    } catch (error) {
      const { Bucket, Key, UploadId } = command.input;
      ctx.logger.warn(
        'could not abort a failed multipart upload; its parts remain until a lifecycle rule removes them',
        {
          bucket: Bucket,
          key: Key,
          uploadId: UploadId,
          error: mapError(error).message,
        },
      );
      return {};
    }
  };
  return new Proxy(client, {
    get(target, property) {
      if (property === 'send') return send;
      return Reflect.get(target, property, target);
    },
  });
}

interface RunOptions {
  partSize?: number | undefined;
  queueSize?: number | undefined;
  onProgress?: ((progress: UploadProgress) => void) | undefined;
}

/** One managed upload (a single PutObject when the body fits one part, else multipart). Used by `put` and `upload`. */
export async function runUpload(
  scope: S3Scope,
  params: PutObjectCommandInput & { Bucket: string; Key: string },
  signal: AbortSignal,
  options: RunOptions,
): Promise<UploadResult> {
  // A private controller: lib-storage takes over its signal's `onabort`, which must not touch the pipeline's.
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });

  const upload = new Upload({
    client: clientWithSignal(scope, controller.signal),
    params,
    partSize: options.partSize,
    queueSize: options.queueSize,
    leavePartsOnError: false,
    abortController: controller,
  });

  const onProgress = options.onProgress;
  let loaded = 0;
  let total: number | undefined;
  if (onProgress) {
    upload.on('httpUploadProgress', (event: Progress) => {
      // Parts finish out of order; report a running maximum so the figure never goes back.
      loaded = Math.max(loaded, event.loaded ?? 0);
      total = event.total ?? total;
      onProgress({ loaded, total, part: event.part });
    });
  }
  try {
    const out = await upload.done();
    if (onProgress && total === undefined) {
      // A stream of unknown length: its total is known only now.
      total = loaded;
      onProgress({ loaded, total, part: undefined });
    }
    return {
      etag: out.ETag,
      versionId: out.VersionId,
      location: out.Location,
    };
  } finally {
    signal.removeEventListener('abort', forward);
  }
}

export function uploadOperations(scope: S3Scope) {
  return {
    /**
     * A managed multipart upload for large bodies (lib-storage): parts go up `queueSize` at a time, memory stays
     * near partSize × queueSize, and a failed upload is aborted on S3 so no parts linger. Runs as operation
     * `upload`, which is not retried: a stream cannot be replayed, and restarting a half-sent upload from
     * scratch is the caller's decision (call again with a fresh stream).
     */
    async upload(key: string, body: PutBody, options: UploadOptions = {}): Promise<UploadResult> {
      const Bucket = resolveBucket(scope, 'upload', options.bucket);
      const Key = checkKey('upload', key);
      checkBody('upload', body);
      const Metadata = checkMetadata('upload', options.metadata);
      if (options.contentLength !== undefined) {
        checkInteger('upload', 'contentLength', options.contentLength, 0, 5 * 1024 ** 4);
      }
      if (options.partSize !== undefined) checkInteger('upload', 'partSize', options.partSize, MIN_PART, MAX_PART);
      if (options.queueSize !== undefined) checkInteger('upload', 'queueSize', options.queueSize, 1, 64);
      if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
        throw invalidRequest('upload', 'onProgress must be a function');
      }
      const params = {
        Bucket,
        Key,
        Body: body,
        ContentType: checkOptionalString('upload', 'contentType', options.contentType),
        Metadata,
        ContentLength: options.contentLength,
      };
      const sent = scope.ctx.call(
        'upload',
        ({ signal }) =>
          runUpload(scope, params, signal, {
            partSize: options.partSize,
            queueSize: options.queueSize,
            onProgress: options.onProgress,
          }),
        callOptions(options, false),
      );
      return destroyOnFailure(body, sent);
    },
  };
}
