import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { IntegrationError, type IntegrationEvents, type Registry } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { createFaultProxy, type FaultProxy, faults, type S3rverStandIn, startS3rver } from '@integrations/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsS3Config, awsS3 } from '../src/index.js';
import { rawClient, s3ErrorResponse } from './support.js';

const BUCKET = 'objects';
const MiB = 1024 * 1024;

let s3rver: S3rverStandIn;
let proxy: FaultProxy;
let registry: Registry;
let raw: S3Client;
const failures: IntegrationEvents['call:failure'][] = [];
const warnings: string[] = [];

function config(overrides: Partial<AwsS3Config> = {}): AwsS3Config {
  return {
    endpoint: proxy.url,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    bucket: BUCKET,
    checksumMode: 'WHEN_REQUIRED',
    ...overrides,
  };
}

function register(name: string, overrides: Partial<AwsS3Config> = {}) {
  return registry.register(awsS3, {
    name,
    config: config(overrides),
    timeoutMs: 20_000,
    retry: { maxAttempts: 3, initialDelayMs: 5 },
    // These tests fail calls on purpose; an open breaker would turn later failures into circuit_open.
    circuitBreaker: false,
    healthCheck: false,
  });
}

let s3: ReturnType<typeof register>;

/** `size` deterministic bytes, 256 KiB at a time, and their sha256 once the stream has been read. */
function generated(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      const n = Math.min(256 * 1024, size - sent);
      if (n === 0) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(n, sent % 251);
      chunk.writeUInt32BE(sent >>> 0, 0);
      sent += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    if (IntegrationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  s3rver = await startS3rver({ buckets: [BUCKET] });
  proxy = await createFaultProxy({ target: s3rver.url, errorResponse: s3ErrorResponse });
  raw = rawClient(s3rver.url);
  const warn = (message: string, fields?: Record<string, unknown>) =>
    warnings.push(`${message} ${JSON.stringify(fields)}`);
  registry = createRegistry({ logger: { debug() {}, info() {}, warn, error: warn } });
  registry.events.on('call:failure', (event) => failures.push(event));
  s3 = register('objects');
  await registry.enableAll();
});

afterAll(async () => {
  raw?.destroy();
  await registry?.close();
  await proxy?.close();
  await s3rver?.stop();
});

beforeEach(() => {
  proxy.reset();
  failures.length = 0;
  warnings.length = 0;
});

describe('put and get', () => {
  it('round-trips a Buffer byte for byte, with type and metadata', async () => {
    const bytes = randomBytes(64 * 1024);
    const put = await s3.put('bytes.bin', bytes, {
      contentType: 'application/octet-stream',
      metadata: { origin: 'test' },
    });
    const got = await s3.get('bytes.bin');
    expect(sha256(await buffer(got.body))).toBe(sha256(bytes));
    expect(got).toMatchObject({
      contentLength: bytes.length,
      contentType: 'application/octet-stream',
      etag: put.etag,
      metadata: { origin: 'test' },
    });
  });

  it('round-trips a string as UTF-8', async () => {
    const value = 'héllo wörld ✓ — 日本';
    await s3.put('text.txt', value, { contentType: 'text/plain; charset=utf-8' });
    const got = await s3.get('text.txt');
    expect(await text(got.body)).toBe(value);
    expect(got.contentLength).toBe(Buffer.byteLength(value));
  });

  it('streams a body of known length as one PutObject, stored intact (read back with the raw SDK)', async () => {
    const chunks = [randomBytes(1000), randomBytes(70_000), randomBytes(1)];
    const whole = Buffer.concat(chunks);
    await s3.put('known-length.bin', Readable.from(chunks), { contentLength: whole.length });
    const puts = proxy.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]?.path).not.toContain('uploadId');
    const out = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'known-length.bin' }));
    expect(sha256(Buffer.from(await out.Body!.transformToByteArray()))).toBe(sha256(whole));
  });

  it('streams a body of unknown length through a managed upload', async () => {
    const { stream, digest } = generated(MiB + 17);
    await s3.put('unknown-length.bin', stream);
    const got = await s3.get('unknown-length.bin');
    expect(sha256(await buffer(got.body))).toBe(digest());
    expect(got.contentLength).toBe(MiB + 17);
  });

  it('reads a byte range', async () => {
    await s3.put('range.txt', '0123456789');
    const got = await s3.get('range.txt', { range: { start: 2, end: 5 } });
    expect(await text(got.body)).toBe('2345');
    expect(got.contentLength).toBe(4);
  });

  it("destroys the body when the caller's signal aborts after the headers arrived", async () => {
    await s3.put('abort-body.bin', randomBytes(4 * MiB));
    const controller = new AbortController();
    const got = await s3.get('abort-body.bin', { signal: controller.signal });
    controller.abort();
    await expect(buffer(got.body)).rejects.toMatchObject({ name: 'AbortError' });
    expect(got.body.destroyed).toBe(true);
  });
});

describe('head, delete, not_found', () => {
  it('reads size, type, ETag and metadata without the body', async () => {
    const put = await s3.put('head.json', '{"a":1}', { contentType: 'application/json', metadata: { v: '2' } });
    const info = await s3.head('head.json');
    expect(info).toMatchObject({
      contentLength: 7,
      contentType: 'application/json',
      etag: put.etag,
      metadata: { v: '2' },
    });
    expect(info.lastModified).toBeInstanceOf(Date);
  });

  it('maps a missing key to not_found (get and head), without retrying', async () => {
    const onGet = await rejection(s3.get('missing.txt'));
    expect(onGet).toMatchObject({
      kind: 'not_found',
      status: 404,
      code: 'NoSuchKey',
      operation: 'get',
      retryable: false,
    });
    const onHead = await rejection(s3.head('missing.txt'));
    expect(onHead).toMatchObject({ kind: 'not_found', status: 404, operation: 'head' });
    expect(onHead.message).toContain('does not exist');
    expect(proxy.requests).toHaveLength(2);
  });

  it('maps a missing bucket to not_found with NoSuchBucket', async () => {
    const error = await rejection(s3.get('x', { bucket: 'no-such-bucket' }));
    expect(error).toMatchObject({ kind: 'not_found', code: 'NoSuchBucket' });
  });

  it('deletes one object; deleting a missing key succeeds', async () => {
    await s3.put('doomed.txt', 'bye');
    await s3.delete('doomed.txt');
    expect((await rejection(s3.head('doomed.txt'))).kind).toBe('not_found');
    await expect(s3.delete('doomed.txt')).resolves.toBeUndefined();
  });
});

describe('deleteMany', () => {
  it('deletes in batches of 1000 and reports every key', async () => {
    // Keys without a '/': s3rver races when concurrent deletes empty the same directory (a 500 S3 never sends).
    const existing = ['many-a', 'many-b', 'many-c'];
    for (const key of existing) await s3.put(key, key);
    proxy.reset();
    const missing = Array.from({ length: 2100 }, (_, i) => `many-missing-${i}`);
    const keys = [...existing, ...missing, 'many-a'];
    const result = await s3.deleteMany(keys);
    const batches = proxy.requests.filter((r) => r.method === 'POST' && /[?&]delete(=|&|$)/.test(r.path));
    expect(batches).toHaveLength(3);
    expect(result.errors).toEqual([]);
    expect(new Set(result.deleted)).toEqual(new Set([...existing, ...missing]));
    expect(result.deleted).toHaveLength(existing.length + missing.length);
    expect(failures).toEqual([]);
    for (const key of existing) expect((await rejection(s3.head(key))).kind).toBe('not_found');
  });

  it('reports the keys S3 refused, with their codes', async () => {
    // s3rver never refuses a key; S3 does (AccessDenied under a bucket policy). This is S3's documented answer.
    proxy.script(
      faults.status(200, {
        contentType: 'application/xml',
        body:
          '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          '<Error><Key>locked/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' +
          '</DeleteResult>',
      }),
    );
    const result = await s3.deleteMany(['locked/a', 'locked/b']);
    expect(result).toEqual({
      deleted: ['locked/a'],
      errors: [{ key: 'locked/b', code: 'AccessDenied', message: 'Access Denied' }],
    });
  });

  it('makes no request for an empty list', async () => {
    expect(await s3.deleteMany([])).toEqual({ deleted: [], errors: [] });
    expect(proxy.requests).toHaveLength(0);
  });
});

describe('list', () => {
  const keys = Array.from({ length: 7 }, (_, i) => `paged/${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    for (const key of keys) await s3.put(key, key);
  });

  it('pages with the continuation token, one request per page', async () => {
    proxy.reset();
    const pages: string[][] = [];
    for await (const page of s3.list({ prefix: 'paged/', pageSize: 3 })) pages.push(page.objects.map((o) => o.key));
    expect(pages).toEqual([keys.slice(0, 3), keys.slice(3, 6), keys.slice(6)]);
    const lists = proxy.requests.filter((r) => r.path.includes('list-type=2'));
    expect(lists).toHaveLength(3);
    expect(lists[1]?.path).toContain('continuation-token=');
  });

  it('retries a failed page on its own and carries on', async () => {
    proxy.reset();
    proxy.script(faults.pass(), faults.status(503));
    const seen: string[] = [];
    for await (const page of s3.list({ prefix: 'paged/', pageSize: 3 })) seen.push(...page.objects.map((o) => o.key));
    expect(seen).toEqual(keys);
    expect(proxy.requests).toHaveLength(4);
    expect(failures.map((f) => [f.operation, f.error.kind, f.willRetry])).toEqual([['list', 'unavailable', true]]);
  });

  it('groups keys by delimiter', async () => {
    for (const key of ['tree/a/1', 'tree/a/2', 'tree/b/1', 'tree/c']) await s3.put(key, key);
    const pages = [];
    for await (const page of s3.list({ prefix: 'tree/', delimiter: '/' })) pages.push(page);
    expect(pages.flatMap((p) => p.objects.map((o) => o.key))).toEqual(['tree/c']);
    expect(pages.flatMap((p) => p.prefixes)).toEqual(['tree/a/', 'tree/b/']);
  });

  it('reports sizes and ETags', async () => {
    const pages = [];
    for await (const page of s3.list({ prefix: 'paged/00' })) pages.push(page);
    expect(pages[0]?.objects).toEqual([
      expect.objectContaining({ key: 'paged/00', size: 8, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) }),
    ]);
  });
});

describe('upload (multipart)', () => {
  it('uploads a 20 MB stream in parts with monotonic progress ending at the total', async () => {
    const size = 20 * MiB + 12_345;
    const { stream, digest } = generated(size);
    const progress: { loaded: number; total: number | undefined }[] = [];
    const result = await s3.upload('big.bin', stream, {
      partSize: 5 * MiB,
      queueSize: 2,
      contentType: 'application/octet-stream',
      onProgress: ({ loaded, total }) => progress.push({ loaded, total }),
    });
    expect(result.etag).toBeTruthy();
    const parts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('uploadId='));
    expect(parts).toHaveLength(5);
    expect(progress.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
    }
    expect(progress.at(-1)).toEqual({ loaded: size, total: size });

    const got = await s3.get('big.bin');
    expect(got.contentLength).toBe(size);
    expect(sha256(await buffer(got.body))).toBe(digest());
  });

  it('reports the total from the first event when contentLength is given', async () => {
    const size = 6 * MiB;
    const totals = new Set<number | undefined>();
    await s3.upload('known.bin', generated(size).stream, {
      contentLength: size,
      onProgress: ({ total }) => totals.add(total),
    });
    expect([...totals]).toEqual([size]);
  });

  it('aborts the multipart upload when a part fails, reports the part failure, and does not retry', async () => {
    const { stream } = generated(11 * MiB);
    // CreateMultipartUpload passes, the first part gets a 503.
    proxy.script(faults.pass(), faults.status(503));
    const error = await rejection(s3.upload('failed.bin', stream, { queueSize: 1 }));
    expect(error).toMatchObject({ kind: 'unavailable', operation: 'upload' });
    expect(failures.map((f) => f.willRetry)).toEqual([false]);
    const methods = proxy.requests.map(
      (r) => `${r.method} ${r.path.includes('uploads') ? 'create' : r.path.includes('uploadId') ? 'upload' : 'other'}`,
    );
    expect(methods).toEqual(['POST create', 'PUT upload', 'DELETE upload']);
    expect(stream.destroyed).toBe(true);
    expect((await rejection(s3.head('failed.bin'))).kind).toBe('not_found');
    // s3rver does not implement AbortMultipartUpload (405): the cleanup's failure is logged, not reported instead.
    expect(warnings).toEqual([expect.stringContaining('could not abort a failed multipart upload')]);
    expect(warnings[0]).toContain('MethodNotAllowed');
  });
});

describe('retries and streams', () => {
  it('resends a Buffer put after a 503', async () => {
    proxy.script(faults.status(503));
    await s3.put('retried.bin', Buffer.from('buffer body'));
    expect(proxy.requests.map((r) => r.method)).toEqual(['PUT', 'PUT']);
    expect(failures.map((f) => [f.operation, f.error.kind, f.willRetry])).toEqual([['put', 'unavailable', true]]);
    expect(await text((await s3.get('retried.bin')).body)).toBe('buffer body');
  });

  it('does not resend a stream put after a 503, even with an idempotency key, and destroys the stream', async () => {
    proxy.script(faults.status(503));
    const stream = Readable.from([Buffer.from('stream body')]);
    const error = await rejection(s3.put('not-retried.bin', stream, { contentLength: 11, idempotencyKey: 'key-1' }));
    expect(error).toMatchObject({
      kind: 'unavailable',
      status: 503,
      code: 'ServiceUnavailable',
      operation: 'putStream',
    });
    expect(proxy.requests).toHaveLength(1);
    expect(failures.map((f) => f.willRetry)).toEqual([false]);
    expect(stream.destroyed).toBe(true);
  });

  it('classifies a non-XML error body by its status', async () => {
    proxy.script(faults.status(502, { contentType: 'text/html', body: '<html>bad gateway</html>' }));
    const error = await rejection(s3.put('html.txt', Readable.from([Buffer.from('x')])));
    expect(error).toMatchObject({ kind: 'unavailable', status: 502 });
  });
});

describe('presigned URLs', () => {
  it('GETs an object through a presigned URL', async () => {
    await s3.put('shared.txt', 'shared content', { contentType: 'text/plain' });
    const url = await s3.presignGet('shared.txt', { expiresIn: 60 });
    expect(url).toContain('X-Amz-Signature=');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('shared content');
  });

  it('PUTs an object through a presigned URL', async () => {
    const url = await s3.presignPut('incoming/upload.txt', { contentType: 'text/plain', expiresIn: 60 });
    const response = await fetch(url, {
      method: 'PUT',
      body: 'uploaded by a browser',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(200);
    const got = await s3.get('incoming/upload.txt');
    expect(await text(got.body)).toBe('uploaded by a browser');
    expect(got.contentType).toBe('text/plain');
  });

  it('signs PUT URLs without a checksum even when checksums are on', async () => {
    const checked = register('checksums-on', { checksumMode: 'WHEN_SUPPORTED' });
    await registry.enable('checksums-on');
    const url = new URL(await checked.presignPut('incoming/checked.txt'));
    expect([...url.searchParams.keys()].filter((k) => k.toLowerCase().includes('checksum'))).toEqual([]);
    const response = await fetch(url, { method: 'PUT', body: 'not empty' });
    expect(response.status).toBe(200);
    await registry.disable('checksums-on');
  });

  it('rejects an expiry beyond seven days', async () => {
    const error = await rejection(s3.presignGet('shared.txt', { expiresIn: 8 * 24 * 3600 }));
    expect(error).toMatchObject({ kind: 'invalid_request', operation: 'presignGet' });
    expect(error.message).toContain('expiresIn');
  });
});

describe('buckets and health', () => {
  it('creates a bucket, and treats one this account already owns as success', async () => {
    expect(await s3.createBucket('fresh-bucket')).toEqual({ created: true });
    proxy.script(
      faults.status(409, {
        contentType: 'application/xml',
        body:
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BucketAlreadyOwnedByYou</Code>' +
          '<Message>Your previous request to create the named bucket succeeded and you already own it.</Message></Error>',
      }),
    );
    expect(await s3.createBucket('fresh-bucket')).toEqual({ created: false });
    const taken = await rejection(s3.createBucket('fresh-bucket'));
    expect(taken).toMatchObject({ kind: 'conflict', code: 'BucketAlreadyExists' });
  });

  it('is unhealthy when the configured bucket does not exist', async () => {
    register('no-bucket', { bucket: 'does-not-exist' });
    const report = await registry.enable('no-bucket');
    expect(report.status).toBe('unhealthy');
    expect(report.error?.kind).toBe('not_found');
    await registry.disable('no-bucket');
  });
});

describe('bad input fails before any request', () => {
  it.each([
    ['an empty key', () => s3.put('', 'x'), 'key'],
    ['a key over 1024 bytes', () => s3.get('k'.repeat(1025)), 'key'],
    ['a body of the wrong type', () => s3.put('k', 42 as unknown as string), 'body'],
    ['non-string metadata', () => s3.put('k', 'x', { metadata: { n: 1 as unknown as string } }), 'metadata.n'],
    [
      'a content type that is not a string',
      () => s3.put('k', 'x', { contentType: 5 as unknown as string }),
      'contentType',
    ],
    ['an invalid bucket name', () => s3.head('k', { bucket: 'Bad_Bucket' }), 'bucket'],
    ['a part smaller than 5 MiB', () => s3.upload('k', 'x', { partSize: MiB }), 'partSize'],
    ['a page size over 1000', async () => s3.list({ pageSize: 1001 }), 'pageSize'],
    ['a negative range', () => s3.get('k', { range: { start: -1 } }), 'range.start'],
    ['a key list that is not an array', () => s3.deleteMany('k' as unknown as string[]), 'keys'],
  ])('%s', async (_what, run, named) => {
    const error = await rejection(run());
    expect(error).toMatchObject({ kind: 'invalid_request', retryable: false });
    expect(error.message).toContain(named);
    expect(proxy.requests).toHaveLength(0);
  });

  it('rejects a config with an access key id but no secret, naming the missing field', async () => {
    register('half-credentials', { secretAccessKey: undefined });
    const error = await rejection(registry.enable('half-credentials'));
    expect(error.kind).toBe('invalid_config');
    expect((error as IntegrationError & { issues: { path: string }[] }).issues).toEqual([
      { path: 'secretAccessKey', message: 'is required with accessKeyId' },
    ]);
  });

  it('needs a bucket from the config or the call', async () => {
    const bare = register('bare', { bucket: undefined });
    await registry.enable('bare');
    const error = await rejection(bare.get('k'));
    expect(error).toMatchObject({ kind: 'invalid_request' });
    expect(error.message).toContain('no bucket');
    await registry.disable('bare');
  });
});
