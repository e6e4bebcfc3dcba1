import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  type AnonymousCredential,
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import {
  type CallOptions,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationError,
  IntegrationType,
  InvalidConfigError,
} from '@integrations/core';
import { azureBlobConfigSchema } from './config.js';
import { mapBodyError, mapError } from './errors.js';
import { VERSION } from './version.js';

/** Which container a blob call addresses; defaults to the config's `container`. */
export interface ContainerParams {
  container?: string | undefined;
}

export interface TransferProgress {
  loadedBytes: number;
}

export interface UploadParams extends ContainerParams {
  contentType?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** Block size: each staged block of a stream (default 4 MiB), and of a buffer over 256 MiB. */
  bufferSize?: number | undefined;
  /** Blocks in flight at once (streams: default 3). A stream holds about bufferSize × maxConcurrency in memory. */
  maxConcurrency?: number | undefined;
  onProgress?: ((progress: TransferProgress) => void) | undefined;
}

export interface UploadResult {
  container: string;
  name: string;
  etag: string | undefined;
  lastModified: Date | undefined;
}

export interface BlobProperties {
  contentLength: number | undefined;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
  metadata: Record<string, string>;
}

export interface DownloadParams extends ContainerParams {
  /** First byte to read (default 0). */
  offset?: number | undefined;
  /** Bytes to read from offset (default: to the end). */
  count?: number | undefined;
  onProgress?: ((progress: TransferProgress) => void) | undefined;
}

export interface DownloadResult extends BlobProperties {
  /** The body. Errors it emits are IntegrationErrors; destroy it to stop reading early. */
  stream: Readable;
}

export interface ListParams extends ContainerParams {
  prefix?: string | undefined;
  /** Blobs per page (the service caps it at 5000). */
  pageSize?: number | undefined;
  /** Resume a listing from a page's continuationToken. */
  continuationToken?: string | undefined;
}

export interface BlobSummary {
  name: string;
  size: number | undefined;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
}

export interface ListPage {
  blobs: BlobSummary[];
  /** Pass it as `continuationToken` to resume after this page; undefined on the last page. */
  continuationToken: string | undefined;
}

export interface SasUrlParams extends ContainerParams {
  /** Azure's permission letters in any order, e.g. `r` (default), `rw`, `racwd`. */
  permissions?: string | undefined;
  /** When the URL stops working. Default: `expiresInSeconds` from now. */
  expiresOn?: Date | undefined;
  /** Lifetime when `expiresOn` is not given. Default 3600. */
  expiresInSeconds?: number | undefined;
  /** When the URL starts working (default: at once). */
  startsOn?: Date | undefined;
}

export type UploadBody = Buffer | Uint8Array | string | Readable;

// Below the SDK's 8 MiB × 5 so that streaming 1 GiB stays under 150 MB of RSS (bench/stream.ts: 4 MiB × 4 peaked at
// 152 MB, 4 MiB × 3 at 142 MB with no loss of throughput on loopback). Raise both on long, slow links, where more
// bytes in flight pay off.
const STREAM_BLOCK_SIZE = 4 * 1024 * 1024;
const STREAM_CONCURRENCY = 3;

function invalid(message: string, code: string): IntegrationError {
  return new IntegrationError('invalid_request', message, { provider: 'azure-blob', code });
}

function checkBlobName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024) {
    throw invalid('blob name must be a string of 1 to 1024 characters', 'invalid_blob_name');
  }
  return name;
}

/** Node streams from any copy of `stream` (or readable-stream), not only this one's Readable class. */
function isReadable(value: unknown): value is Readable {
  return (
    value instanceof Readable ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as Readable).pipe === 'function' &&
      typeof (value as Readable).on === 'function')
  );
}

/** Aborts `to` when `from` aborts; returns how to stop listening. */
function forwardAbort(from: AbortSignal, to: AbortController): () => void {
  const onAbort = () => to.abort(from.reason);
  if (from.aborted) onAbort();
  else from.addEventListener('abort', onAbort, { once: true });
  return () => from.removeEventListener('abort', onAbort);
}

export const azureBlob = defineConnector({
  id: 'azure-blob',
  displayName: 'Azure Blob Storage',
  type: IntegrationType.Storage,
  category: 'storage',
  version: VERSION,
  config: azureBlobConfigSchema,
  operations: {
    createContainer: { idempotent: true, description: 'Create a container unless it exists.' },
    deleteContainer: { idempotent: true, description: 'Delete a container if it exists.' },
    upload: { idempotent: true, description: 'Write a blob from a Buffer, Uint8Array or string.' },
    uploadStream: {
      idempotent: false,
      description: 'Write a blob from a Readable stream. Never retried: a consumed stream cannot be replayed.',
    },
    download: { idempotent: true, description: 'Read a blob (or a byte range) as a Readable stream.' },
    getProperties: { idempotent: true, description: "Read a blob's size, type, etag and metadata." },
    exists: { idempotent: true, description: 'Whether a blob exists.' },
    list: { idempotent: true, description: 'List blobs by prefix, one page per call.' },
    delete: { idempotent: true, description: 'Delete a blob (and its snapshots) if it exists.' },
    sasUrl: { idempotent: true, description: 'Sign a time-limited blob URL (needs account key auth).' },
  },
  mapError,
  create(config, ctx) {
    let url: string;
    let credential: StorageSharedKeyCredential | AnonymousCredential;
    if (config.connectionString !== undefined) {
      try {
        // Let the SDK parse the connection string; the client we use is built below with our own options.
        const parsed = BlobServiceClient.fromConnectionString(config.connectionString);
        url = parsed.url;
        credential = parsed.credential as StorageSharedKeyCredential | AnonymousCredential;
      } catch {
        // The SDK's message may quote the string, which holds the key: say what is wrong without it.
        throw new InvalidConfigError('azure-blob', [
          { path: 'connectionString', message: 'is not a usable Azure Storage connection string' },
        ]);
      }
    } else {
      // The schema guarantees both are present when connectionString is absent.
      const accountName = config.accountName as string;
      url = (config.endpoint ?? `https://${accountName}.blob.core.windows.net`).replace(/\/+$/, '');
      credential = new StorageSharedKeyCredential(accountName, config.accountKey as string);
    }

    // The SDK shares one keep-alive agent across every client in the process; our own lets close() release
    // this integration's sockets without touching anyone else's.
    const agent = url.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    // `agent` is a core-rest-pipeline option the storage pipeline passes through but does not declare.
    const pipelineOptions: StoragePipelineOptions & { agent: HttpAgent } = {
      // One try: core's pipeline is the only retry layer.
      retryOptions: { maxTries: 1 },
      userAgentOptions: { userAgentPrefix: ctx.userAgent },
      agent,
    };
    const service = new BlobServiceClient(url, credential, pipelineOptions);

    function containerClient(container: string | undefined): ContainerClient {
      const name = container ?? config.container;
      if (!name) {
        throw invalid('no container: pass { container } or set `container` in the config', 'container_required');
      }
      return service.getContainerClient(name);
    }

    function blockBlob(name: string, container: string | undefined) {
      return containerClient(container).getBlockBlobClient(checkBlobName(name));
    }

    async function uploadBytes(name: string, bytes: Uint8Array, params: UploadParams, options?: CallOptions) {
      return ctx.call(
        'upload',
        async ({ signal }) => {
          const blob = blockBlob(name, params.container);
          const response = await blob.uploadData(bytes, {
            abortSignal: signal,
            blobHTTPHeaders: params.contentType ? { blobContentType: params.contentType } : undefined,
            metadata: params.metadata,
            blockSize: params.bufferSize,
            concurrency: params.maxConcurrency,
            onProgress: params.onProgress,
          });
          return { container: blob.containerName, name, etag: response.etag, lastModified: response.lastModified };
        },
        options,
      );
    }

    async function uploadFromStream(name: string, stream: Readable, params: UploadParams, options?: CallOptions) {
      // A stream is read once. Were the pipeline to retry after a failed attempt, the retry would upload
      // whatever was left in the stream as the whole blob. So the call is non-idempotent and carries no
      // idempotency key (Azure has no such header to make a replay safe): it is never retried.
      return ctx.call(
        'uploadStream',
        async ({ signal }) => {
          const blob = blockBlob(name, params.container);
          try {
            const bufferSize = params.bufferSize ?? STREAM_BLOCK_SIZE;
            const concurrency = params.maxConcurrency ?? STREAM_CONCURRENCY;
            const response = await blob.uploadStream(stream, bufferSize, concurrency, {
              abortSignal: signal,
              blobHTTPHeaders: params.contentType ? { blobContentType: params.contentType } : undefined,
              metadata: params.metadata,
              onProgress: params.onProgress,
            });
            return { container: blob.containerName, name, etag: response.etag, lastModified: response.lastModified };
          } catch (error) {
            // Half read, the stream is of no further use; release what it holds (a file descriptor, a socket).
            stream.destroy();
            throw error;
          }
        },
        { signal: options?.signal, timeoutMs: options?.timeoutMs },
      );
    }

    function propertiesOf(response: {
      contentLength?: number;
      contentType?: string;
      etag?: string;
      lastModified?: Date;
      metadata?: Record<string, string>;
    }): BlobProperties {
      return {
        contentLength: response.contentLength,
        contentType: response.contentType,
        etag: response.etag,
        lastModified: response.lastModified,
        metadata: response.metadata ?? {},
      };
    }

    /**
     * Body errors surface after the call returned, outside the pipeline: map them the same way here. The hook
     * sits in the SDK stream's own destroy (every error it emits goes through there), so the body reaches the
     * caller without an extra stream hop per chunk.
     */
    function withMappedErrors(source: Readable, aborted: AbortSignal, done: () => void): Readable {
      const destroy = source._destroy.bind(source);
      source._destroy = (error, callback) =>
        destroy(error, (failure) => {
          if (!failure) return callback(failure);
          const mapped = mapBodyError(failure, aborted.aborted);
          mapped.provider = ctx.provider;
          mapped.integration = ctx.integration;
          mapped.tenant = ctx.tenant;
          mapped.operation = 'download';
          callback(mapped);
        });
      source.once('close', done);
      return source;
    }

    return {
      client: service,

      async healthCheck({ signal }) {
        try {
          const info = await service.getAccountInfo({ abortSignal: signal });
          return { accountKind: info.accountKind, skuName: info.skuName };
        } catch (error) {
          throw mapError(error);
        }
      },

      close() {
        agent.destroy();
      },

      /** Creates the container (default: the config's) unless it exists. */
      createContainer(container?: string, options?: CallOptions): Promise<{ created: boolean }> {
        return ctx.call(
          'createContainer',
          async ({ signal }) => {
            const response = await containerClient(container).createIfNotExists({ abortSignal: signal });
            return { created: response.succeeded };
          },
          options,
        );
      },

      /** Deletes the container (default: the config's) and every blob in it, if it exists. */
      deleteContainer(container?: string, options?: CallOptions): Promise<{ deleted: boolean }> {
        return ctx.call(
          'deleteContainer',
          async ({ signal }) => {
            const response = await containerClient(container).deleteIfExists({ abortSignal: signal });
            return { deleted: response.succeeded };
          },
          options,
        );
      },

      /**
       * Writes a blob, replacing any blob of that name. Bytes and strings may be retried (the same PUT again);
       * a Readable is streamed in blocks of `bufferSize` and never retried.
       */
      upload(name: string, body: UploadBody, params: UploadParams = {}, options?: CallOptions): Promise<UploadResult> {
        if (typeof body === 'string') return uploadBytes(name, Buffer.from(body, 'utf8'), params, options);
        if (body instanceof Uint8Array) return uploadBytes(name, body, params, options);
        if (isReadable(body)) return uploadFromStream(name, body, params, options);
        return Promise.reject(
          invalid('upload body must be a Buffer, Uint8Array, string or Readable stream', 'invalid_body'),
        );
      },

      /**
       * Reads a blob. Resolves once the service answered with headers; the body then streams. Once the call
       * has resolved, the caller's signal and closing the integration still abort the body.
       */
      download(name: string, params: DownloadParams = {}, options?: CallOptions): Promise<DownloadResult> {
        return ctx.call(
          'download',
          async ({ signal }) => {
            const blob = blockBlob(name, params.container);
            const body = new AbortController();
            const stopAttempt = forwardAbort(signal, body);
            let response: Awaited<ReturnType<typeof blob.download>>;
            try {
              response = await blob.download(params.offset ?? 0, params.count, {
                abortSignal: body.signal,
                // The SDK would re-request the rest of a dropped body by itself; core is the only retry layer.
                maxRetryRequests: 0,
                onProgress: params.onProgress,
              });
            } finally {
              // Past this point the attempt is over: its timeout must not cut a body the caller is reading.
              stopAttempt();
            }
            const source = response.readableStreamBody as Readable | undefined;
            if (!source) throw new IntegrationError('internal', 'Azure Blob download returned no body');
            const stops = [forwardAbort(ctx.signal, body)];
            if (options?.signal) stops.push(forwardAbort(options.signal, body));
            const stream = withMappedErrors(source, body.signal, () => {
              for (const stop of stops) stop();
            });
            return { ...propertiesOf(response), stream };
          },
          options,
        );
      },

      /** Size, content type, etag and metadata of a blob (not_found when it does not exist). */
      getProperties(name: string, params: ContainerParams = {}, options?: CallOptions): Promise<BlobProperties> {
        return ctx.call(
          'getProperties',
          async ({ signal }) =>
            propertiesOf(await blockBlob(name, params.container).getProperties({ abortSignal: signal })),
          options,
        );
      },

      exists(name: string, params: ContainerParams = {}, options?: CallOptions): Promise<boolean> {
        return ctx.call(
          'exists',
          async ({ signal }) => blockBlob(name, params.container).exists({ abortSignal: signal }),
          options,
        );
      },

      /** Pages of blobs whose names start with `prefix`. Each page is one call through the pipeline. */
      async *list(params: ListParams = {}, options?: CallOptions): AsyncGenerator<ListPage, void, undefined> {
        let token = params.continuationToken;
        do {
          const page: ListPage = await ctx.call(
            'list',
            async ({ signal }) => {
              // A fresh iterator per page: each attempt gets its own signal and a retry re-reads the same page.
              const pages = containerClient(params.container)
                .listBlobsFlat({ prefix: params.prefix, abortSignal: signal })
                .byPage({ continuationToken: token, maxPageSize: params.pageSize });
              const next = await pages.next();
              if (next.done) return { blobs: [], continuationToken: undefined };
              return {
                blobs: next.value.segment.blobItems.map((item) => ({
                  name: item.name,
                  size: item.properties.contentLength,
                  contentType: item.properties.contentType,
                  etag: item.properties.etag,
                  lastModified: item.properties.lastModified,
                })),
                continuationToken: next.value.continuationToken || undefined,
              };
            },
            options,
          );
          yield page;
          token = page.continuationToken;
        } while (token);
      },

      /** Deletes a blob and its snapshots. `deleted` is false when there was nothing to delete. */
      delete(name: string, params: ContainerParams = {}, options?: CallOptions): Promise<{ deleted: boolean }> {
        return ctx.call(
          'delete',
          async ({ signal }) => {
            const response = await blockBlob(name, params.container).deleteIfExists({
              abortSignal: signal,
              deleteSnapshots: 'include',
            });
            return { deleted: response.succeeded };
          },
          options,
        );
      },

      /**
       * A URL that grants `permissions` on one blob until it expires, signed locally with the account key.
       * Integrations configured with a SAS connection string have no key to sign with.
       */
      sasUrl(name: string, params: SasUrlParams = {}, options?: CallOptions): Promise<string> {
        return ctx.call(
          'sasUrl',
          async () => {
            if (!(credential instanceof StorageSharedKeyCredential)) {
              throw new IntegrationError(
                'invalid_config',
                'sasUrl needs account key auth (accountKey, or a connection string with AccountKey); this integration has none',
                { provider: 'azure-blob', code: 'account_key_required', retryable: false },
              );
            }
            const letters = params.permissions ?? 'r';
            let permissions: BlobSASPermissions;
            try {
              permissions = BlobSASPermissions.parse(letters);
            } catch {
              throw invalid(
                `permissions "${letters}" must be Azure's permission letters (r, a, c, w, d, x, y, t, m, e, o, p, i)`,
                'invalid_permissions',
              );
            }
            const lifetime = params.expiresInSeconds ?? 3600;
            if (!(Number.isFinite(lifetime) && lifetime > 0)) {
              throw invalid('expiresInSeconds must be a positive number', 'invalid_expiry');
            }
            const expiresOn = params.expiresOn ?? new Date(Date.now() + lifetime * 1000);
            if (Number.isNaN(expiresOn.getTime())) throw invalid('expiresOn must be a valid Date', 'invalid_expiry');
            return blockBlob(name, params.container).generateSasUrl({
              permissions,
              expiresOn,
              startsOn: params.startsOn,
            });
          },
          options,
        );
      },
    };
  },
});

export type AzureBlobInstance = ConnectorInstanceOf<typeof azureBlob>;
