import { addAbortSignal, Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { type CallOptions, IntegrationError } from '@integrations/core';
import { invalidRequest } from '../errors.js';
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
  untilSettled,
} from './shared.js';
import { runUpload } from './upload.js';

export interface PutOptions extends CallOptions, BucketOption {
  contentType?: string | undefined;
  /** User metadata, stored as `x-amz-meta-*` headers. */
  metadata?: Record<string, string> | undefined;
  /**
   * Byte length of a stream body. With it, the stream goes up as one PutObject; without it, as a multipart
   * upload that buffers one part (5 MiB) at a time. Ignored for Buffer and string bodies.
   */
  contentLength?: number | undefined;
}

export interface PutResult {
  etag: string | undefined;
  versionId: string | undefined;
}

export interface GetOptions extends CallOptions, BucketOption {
  /** Inclusive byte range; `end` defaults to the end of the object. */
  range?: { start: number; end?: number | undefined } | undefined;
}

export interface ObjectInfo {
  contentLength: number | undefined;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
  metadata: Record<string, string>;
}

export interface GetResult extends ObjectInfo {
  /** The object's bytes. Read or destroy it: an unread body holds its connection open. */
  body: Readable;
  contentRange: string | undefined;
}

export interface DeleteManyResult {
  /** Keys S3 reports deleted (including keys that did not exist: S3 treats those as deleted). */
  deleted: string[];
  /** Keys S3 refused, with its per-key error code. */
  errors: { key: string; code: string; message: string }[];
}

export interface ListOptions extends CallOptions, BucketOption {
  prefix?: string | undefined;
  /** Keys per page, 1 to 1000 (S3's maximum and default). */
  pageSize?: number | undefined;
  /** Groups keys sharing a prefix up to this character into `prefixes` (e.g. `/` for folders). */
  delimiter?: string | undefined;
  /** Start listing after this key. */
  startAfter?: string | undefined;
}

export interface S3Object {
  key: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
  storageClass: string | undefined;
}

export interface ListPage {
  objects: S3Object[];
  /** Common prefixes, when a delimiter was given. */
  prefixes: string[];
}

// DeleteObjects takes at most 1000 keys per request.
const DELETE_BATCH = 1000;
// A single PutObject is limited to 5 GiB; larger known-length streams go through a multipart upload.
const MAX_SINGLE_PUT = 5 * 1024 ** 3;
const MAX_OBJECT = 5 * 1024 ** 4;

export function objectOperations(scope: S3Scope) {
  const { client, ctx } = scope;

  return {
    /**
     * Stores an object. Buffer and string bodies run as operation `put` (idempotent: the pipeline may resend
     * them). A stream can be read only once, so a stream body runs as `putStream`, which is never retried.
     */
    async put(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
      const Bucket = resolveBucket(scope, 'put', options.bucket);
      const Key = checkKey('put', key);
      checkBody('put', body);
      const Metadata = checkMetadata('put', options.metadata);
      const ContentType = checkOptionalString('put', 'contentType', options.contentType);
      const length = options.contentLength;
      if (length !== undefined) checkInteger('put', 'contentLength', length, 0, MAX_OBJECT);

      if (!(body instanceof Readable)) {
        return ctx.call(
          'put',
          async ({ signal }) => {
            const out = await client.send(new PutObjectCommand({ Bucket, Key, Body: body, ContentType, Metadata }), {
              abortSignal: signal,
            });
            return { etag: out.ETag, versionId: out.VersionId };
          },
          callOptions(options),
        );
      }

      const sent = ctx.call(
        'putStream',
        async ({ signal }) => {
          if (length !== undefined && length <= MAX_SINGLE_PUT) {
            const out = await client.send(
              new PutObjectCommand({ Bucket, Key, Body: body, ContentLength: length, ContentType, Metadata }),
              { abortSignal: signal },
            );
            return { etag: out.ETag, versionId: out.VersionId };
          }
          const params = { Bucket, Key, Body: body, ContentLength: length, ContentType, Metadata };
          const out = await runUpload(scope, params, signal, {});
          return { etag: out.etag, versionId: out.versionId };
        },
        callOptions(options, false),
      );
      return destroyOnFailure(body, sent);
    },

    /**
     * Fetches an object as a stream. The attempt's deadline covers the wait for the response; after that the body
     * is governed by the caller's signal (aborting it destroys the body) and by closing the integration.
     */
    async get(key: string, options: GetOptions = {}): Promise<GetResult> {
      const Bucket = resolveBucket(scope, 'get', options.bucket);
      const Key = checkKey('get', key);
      let Range: string | undefined;
      if (options.range !== undefined) {
        const { start, end } = options.range;
        checkInteger('get', 'range.start', start, 0, Number.MAX_SAFE_INTEGER);
        if (end !== undefined) checkInteger('get', 'range.end', end, start, Number.MAX_SAFE_INTEGER);
        Range = `bytes=${start}-${end ?? ''}`;
      }
      const out = await ctx.call(
        'get',
        ({ signal }) =>
          untilSettled(signal, (abortSignal) =>
            client.send(new GetObjectCommand({ Bucket, Key, Range }), { abortSignal }),
          ),
        callOptions(options),
      );
      const body = out.Body;
      if (!(body instanceof Readable)) {
        throw new IntegrationError('internal', 'S3 returned no readable body for GetObject', {
          provider: 'aws-s3',
          operation: 'get',
        });
      }
      if (options.signal) addAbortSignal(options.signal, body);
      return {
        body,
        contentLength: out.ContentLength,
        contentType: out.ContentType,
        contentRange: out.ContentRange,
        etag: out.ETag,
        lastModified: out.LastModified,
        metadata: out.Metadata ?? {},
      };
    },

    /** Reads an object's size, type, ETag and metadata without its body. A missing object is `not_found`. */
    async head(key: string, options: CallOptions & BucketOption = {}): Promise<ObjectInfo> {
      const Bucket = resolveBucket(scope, 'head', options.bucket);
      const Key = checkKey('head', key);
      return ctx.call(
        'head',
        async ({ signal }) => {
          const out = await client.send(new HeadObjectCommand({ Bucket, Key }), { abortSignal: signal });
          return {
            contentLength: out.ContentLength,
            contentType: out.ContentType,
            etag: out.ETag,
            lastModified: out.LastModified,
            metadata: out.Metadata ?? {},
          };
        },
        callOptions(options),
      );
    },

    /** Deletes one object. Deleting a key that does not exist succeeds, as on S3. */
    async delete(key: string, options: CallOptions & BucketOption = {}): Promise<void> {
      const Bucket = resolveBucket(scope, 'delete', options.bucket);
      const Key = checkKey('delete', key);
      return ctx.call(
        'delete',
        async ({ signal }) => {
          await client.send(new DeleteObjectCommand({ Bucket, Key }), { abortSignal: signal });
        },
        callOptions(options),
      );
    },

    /**
     * Deletes many objects with DeleteObjects, 1000 keys per request, each request its own pipeline call.
     * Per-key refusals are reported in `errors`, not thrown; a failed request throws (re-running is safe).
     */
    async deleteMany(keys: readonly string[], options: CallOptions & BucketOption = {}): Promise<DeleteManyResult> {
      const Bucket = resolveBucket(scope, 'deleteMany', options.bucket);
      if (!Array.isArray(keys)) throw invalidRequest('deleteMany', 'keys must be an array of strings');
      for (const [index, key] of keys.entries()) checkKey('deleteMany', key, `keys[${index}]`);
      const unique = [...new Set(keys)];
      const result: DeleteManyResult = { deleted: [], errors: [] };
      for (let start = 0; start < unique.length; start += DELETE_BATCH) {
        const batch = unique.slice(start, start + DELETE_BATCH);
        const out = await ctx.call(
          'deleteMany',
          ({ signal }) =>
            client.send(
              new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
              { abortSignal: signal },
            ),
          callOptions(options),
        );
        const refused = new Map((out.Errors ?? []).map((error) => [error.Key, error]));
        for (const key of batch) {
          const error = refused.get(key);
          if (error === undefined) result.deleted.push(key);
          else result.errors.push({ key, code: error.Code ?? 'Unknown', message: error.Message ?? '' });
        }
      }
      return result;
    },

    /**
     * Lists objects page by page (ListObjectsV2 with its continuation token). Each page is fetched through the
     * pipeline when the loop asks for it, so a page that fails is retried on its own.
     */
    list(options: ListOptions = {}): AsyncIterableIterator<ListPage> {
      const Bucket = resolveBucket(scope, 'list', options.bucket);
      const MaxKeys =
        options.pageSize === undefined ? undefined : checkInteger('list', 'pageSize', options.pageSize, 1, 1000);
      const Prefix = checkOptionalString('list', 'prefix', options.prefix);
      const Delimiter = checkOptionalString('list', 'delimiter', options.delimiter);
      const StartAfter = checkOptionalString('list', 'startAfter', options.startAfter);
      const call = callOptions(options);

      return (async function* pages() {
        let ContinuationToken: string | undefined;
        do {
          const token = ContinuationToken;
          const out = await ctx.call(
            'list',
            ({ signal }) =>
              client.send(
                new ListObjectsV2Command({ Bucket, Prefix, Delimiter, StartAfter, MaxKeys, ContinuationToken: token }),
                { abortSignal: signal },
              ),
            call,
          );
          // A truncated page without a token would loop forever: stop instead.
          ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
          yield {
            objects: (out.Contents ?? []).map((object) => ({
              key: object.Key ?? '',
              size: object.Size ?? 0,
              etag: object.ETag,
              lastModified: object.LastModified,
              storageClass: object.StorageClass,
            })),
            prefixes: (out.CommonPrefixes ?? []).flatMap((p) => (p.Prefix === undefined ? [] : [p.Prefix])),
          };
        } while (ContinuationToken);
      })();
    },
  };
}
