import { createHash, randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  BlobServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { IntegrationError, type Registry, validateConfig } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  type AzuriteStandIn,
  azuriteConnectionString,
  createFaultProxy,
  type FaultProxy,
  faults,
  startAzurite,
} from '@integrations/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AzureBlobConfig, azureBlob } from '../src/index.js';
import { azureErrorResponse } from './azure-errors.js';

let azurite: AzuriteStandIn;
let proxy: FaultProxy;
let registry: Registry;
let count = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await createFaultProxy({ target: azurite.url, errorResponse: azureErrorResponse });
  registry = createRegistry();
});

afterAll(async () => {
  await registry?.close();
  await proxy?.close();
  await azurite?.stop();
});

afterEach(() => proxy.reset());

/** A running integration on Azurite (or on the fault proxy in front of it). */
async function blobs(config: AzureBlobConfig, settings: { retries?: number } = {}) {
  const name = `blobs_${++count}`;
  registry.register(azureBlob, {
    name,
    config,
    healthCheck: false,
    retry: { maxAttempts: settings.retries ?? 3, initialDelayMs: 1, maxDelayMs: 5 },
    circuitBreaker: false,
  });
  await registry.enable(name);
  return registry.get<typeof azureBlob>(name);
}

function direct(container: string): AzureBlobConfig {
  return { connectionString: azurite.connectionString, container };
}

function viaProxy(container: string): AzureBlobConfig {
  return {
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    endpoint: `${proxy.url}/${AZURITE_ACCOUNT}`,
    container,
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!IntegrationError.isInstance(error)) throw new Error(`expected an IntegrationError, got ${String(error)}`);
  return error;
}

/** A deterministic stream of `size` bytes in 64 KiB chunks, and its sha256. */
function generated(size: number, seed: number): { stream: Readable; sha256: string } {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < size; offset += 65_536) {
    const chunk = Buffer.alloc(Math.min(65_536, size - offset), (offset / 65_536 + seed) % 251);
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { stream: Readable.from(chunks), sha256: hash.digest('hex') };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('containers', () => {
  it('creates a container once, then reports it exists; deleteContainer removes it', async () => {
    const handle = await blobs(direct('made-here'));
    expect(await handle.createContainer()).toEqual({ created: true });
    expect(await handle.createContainer()).toEqual({ created: false });
    expect(await handle.createContainer('second-one')).toEqual({ created: true });
    const raw = BlobServiceClient.fromConnectionString(azurite.connectionString);
    expect(await raw.getContainerClient('made-here').exists()).toBe(true);
    expect(await handle.deleteContainer('second-one')).toEqual({ deleted: true });
    expect(await raw.getContainerClient('second-one').exists()).toBe(false);
    expect(await handle.deleteContainer('second-one')).toEqual({ deleted: false });
  });

  it('names the missing container when neither the call nor the config gives one', async () => {
    const handle = await blobs({ connectionString: azurite.connectionString });
    const error = await rejection(handle.upload('a.txt', 'x'));
    expect(error.kind).toBe('invalid_request');
    expect(error.code).toBe('container_required');
    expect(error.message).toMatch(/container/);
  });

  it('maps a missing container to not_found', async () => {
    const handle = await blobs(direct('never-created'));
    const error = await rejection(handle.upload('a.txt', 'x'));
    expect(error.kind).toBe('not_found');
    expect(error.code).toBe('ContainerNotFound');
    expect(error.status).toBe(404);
  });
});

describe('upload and download', () => {
  let handle: Awaited<ReturnType<typeof blobs>>;
  beforeAll(async () => {
    handle = await blobs(direct('round-trip'));
    await handle.createContainer();
  });

  it('round-trips a Buffer with its content type and metadata', async () => {
    const bytes = randomBytes(70_000);
    const uploaded = await handle.upload('bin/data.bin', bytes, {
      contentType: 'application/x-test',
      metadata: { origin: 'unit' },
    });
    expect(uploaded).toMatchObject({ container: 'round-trip', name: 'bin/data.bin' });
    expect(uploaded.etag).toBeTruthy();
    const downloaded = await handle.download('bin/data.bin');
    expect(downloaded.contentLength).toBe(70_000);
    expect(downloaded.contentType).toBe('application/x-test');
    expect(downloaded.metadata).toEqual({ origin: 'unit' });
    expect(downloaded.etag).toBe(uploaded.etag);
    expect((await readAll(downloaded.stream)).equals(bytes)).toBe(true);
  });

  it('round-trips a string as UTF-8', async () => {
    await handle.upload('text/greeting.txt', 'grüße 👋', { contentType: 'text/plain; charset=utf-8' });
    const downloaded = await handle.download('text/greeting.txt');
    expect((await readAll(downloaded.stream)).toString('utf8')).toBe('grüße 👋');
    expect((await handle.getProperties('text/greeting.txt')).contentLength).toBe(Buffer.byteLength('grüße 👋'));
  });

  it('streams a Readable up in several blocks and back down intact', async () => {
    const size = 5 * 1024 * 1024 + 123;
    const source = generated(size, 7);
    const progress: number[] = [];
    await handle.upload('stream/five-mb.bin', source.stream, {
      bufferSize: 1024 * 1024,
      maxConcurrency: 2,
      onProgress: ({ loadedBytes }) => progress.push(loadedBytes),
    });
    // One progress report per staged block: the stream really went up in pieces.
    expect(progress.length).toBe(6);
    expect(Math.max(...progress)).toBe(size);
    const raw = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const blocks = await raw
      .getContainerClient('round-trip')
      .getBlockBlobClient('stream/five-mb.bin')
      .getBlockList('committed');
    expect(blocks.committedBlocks).toHaveLength(6);

    const downloaded = await handle.download('stream/five-mb.bin');
    expect(downloaded.contentLength).toBe(size);
    expect(sha256(await readAll(downloaded.stream))).toBe(source.sha256);
  });

  it('streams in 4 MiB blocks unless told otherwise', async () => {
    const source = generated(9 * 1024 * 1024, 2);
    await handle.upload('stream/nine-mb.bin', source.stream);
    const raw = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const blocks = await raw
      .getContainerClient('round-trip')
      .getBlockBlobClient('stream/nine-mb.bin')
      .getBlockList('committed');
    expect(blocks.committedBlocks?.map((block) => block.size)).toEqual([4 << 20, 4 << 20, 1 << 20]);
    expect(sha256(await readAll((await handle.download('stream/nine-mb.bin')).stream))).toBe(source.sha256);
  });

  it('downloads a byte range', async () => {
    await handle.upload('range.txt', '0123456789');
    const part = await handle.download('range.txt', { offset: 3, count: 4 });
    expect(part.contentLength).toBe(4);
    expect((await readAll(part.stream)).toString()).toBe('3456');
  });

  it('rejects a body it cannot upload, and a bad blob name, as invalid_request', async () => {
    const body = 42 as unknown as string;
    const error = await rejection(handle.upload('x', body));
    expect(error.kind).toBe('invalid_request');
    expect(error.code).toBe('invalid_body');
    expect((await rejection(handle.upload('', 'x'))).code).toBe('invalid_blob_name');
  });

  it('maps a missing blob to not_found on download and getProperties', async () => {
    const download = await rejection(handle.download('nope.txt'));
    expect(download.kind).toBe('not_found');
    expect(download.code).toBe('BlobNotFound');
    expect(download.message).toMatch(/does not exist/);
    expect((await rejection(handle.getProperties('nope.txt'))).kind).toBe('not_found');
  });

  it('stops the body when the caller aborts after the call resolved', async () => {
    await handle.upload('abort/big.bin', Buffer.alloc(4 * 1024 * 1024, 1));
    const controller = new AbortController();
    const downloaded = await handle.download('abort/big.bin', {}, { signal: controller.signal });
    const failure = new Promise<unknown>((resolve) => downloaded.stream.once('error', resolve));
    downloaded.stream.once('data', () => controller.abort());
    downloaded.stream.resume();
    const error = await failure;
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect((error as IntegrationError).kind).toBe('cancelled');
    expect((error as IntegrationError).operation).toBe('download');
  });
});

describe('list', () => {
  it('pages through a prefix, more than two pages, and resumes from a token', async () => {
    const handle = await blobs(direct('listing'));
    await handle.createContainer();
    const names = Array.from({ length: 7 }, (_, i) => `logs/2026/${String(i).padStart(2, '0')}.txt`);
    for (const name of [...names, 'other/a.txt', 'logs-not/b.txt']) await handle.upload(name, name);

    const pages = [];
    for await (const page of handle.list({ prefix: 'logs/', pageSize: 3 })) pages.push(page);
    expect(pages.map((page) => page.blobs.length)).toEqual([3, 3, 1]);
    expect(pages.flatMap((page) => page.blobs.map((blob) => blob.name))).toEqual(names);
    expect(pages[0]?.blobs[0]).toMatchObject({ name: names[0], size: names[0]?.length });
    expect(pages[0]?.continuationToken).toBeTruthy();
    expect(pages[2]?.continuationToken).toBeUndefined();

    const resumed = [];
    for await (const page of handle.list({
      prefix: 'logs/',
      pageSize: 3,
      continuationToken: pages[1]?.continuationToken,
    })) {
      resumed.push(...page.blobs.map((blob) => blob.name));
    }
    expect(resumed).toEqual(names.slice(6));
  });

  it('retries one failed page on its own, not the whole listing', async () => {
    const handle = await blobs(viaProxy('listing-faults'));
    await handle.createContainer();
    for (const name of ['a', 'b', 'c', 'd', 'e']) await handle.upload(name, name);
    proxy.reset();
    const seen: string[] = [];
    const pages = handle.list({ pageSize: 2 });
    const first = await pages.next();
    seen.push(...(first.value?.blobs.map((blob) => blob.name) ?? []));
    proxy.script(faults.status(503));
    for await (const page of pages) seen.push(...page.blobs.map((blob) => blob.name));
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    // Page 1, then page 2 failed once and was asked again with the same marker, then page 3.
    const markers = proxy.requests.map((request) => new URL(request.path, proxy.url).searchParams.get('marker'));
    expect(markers).toHaveLength(4);
    expect(markers[0]).toBeNull();
    expect(markers[1]).toBeTruthy();
    expect(markers[2]).toBe(markers[1]);
    expect(markers[3]).not.toBe(markers[1]);
  });
});

describe('delete and exists', () => {
  it('deletes a blob once and reports whether it was there', async () => {
    const handle = await blobs(direct('deleting'));
    await handle.createContainer();
    await handle.upload('gone.txt', 'bye');
    expect(await handle.exists('gone.txt')).toBe(true);
    expect(await handle.delete('gone.txt')).toEqual({ deleted: true });
    expect(await handle.exists('gone.txt')).toBe(false);
    expect(await handle.delete('gone.txt')).toEqual({ deleted: false });
    expect((await rejection(handle.getProperties('gone.txt'))).kind).toBe('not_found');
  });
});

describe('SAS URLs', () => {
  it('signs a URL that fetch can GET, and that refuses what it was not granted', async () => {
    const handle = await blobs(direct('sas'));
    await handle.createContainer();
    await handle.upload('shared.txt', 'shared body', { contentType: 'text/plain' });
    const url = await handle.sasUrl('shared.txt', { permissions: 'r', expiresInSeconds: 300 });
    expect(new URL(url).searchParams.get('sp')).toBe('r');

    const get = await fetch(url);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('shared body');

    const put = await fetch(url, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'overwritten' });
    expect(put.status).toBe(403);
    await put.body?.cancel();
    const unsigned = await fetch(url.split('?')[0] as string);
    expect(unsigned.status).toBeGreaterThanOrEqual(400);
    await unsigned.body?.cancel();
    expect(await readAll((await handle.download('shared.txt')).stream)).toEqual(Buffer.from('shared body'));
  });

  it('grants write when asked, and the URL stops working once expired', async () => {
    const handle = await blobs(direct('sas-write'));
    await handle.createContainer();
    const writable = await handle.sasUrl('upload-here.txt', { permissions: 'cw' });
    const put = await fetch(writable, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'via sas' });
    expect(put.status).toBe(201);
    expect(await readAll((await handle.download('upload-here.txt')).stream)).toEqual(Buffer.from('via sas'));

    const expired = await handle.sasUrl('upload-here.txt', { expiresOn: new Date(Date.now() - 60_000) });
    const get = await fetch(expired);
    expect(get.status).toBe(403);
    await get.body?.cancel();
  });

  it('rejects unknown permission letters and a bad lifetime', async () => {
    const handle = await blobs(direct('sas'));
    const letters = await rejection(handle.sasUrl('a.txt', { permissions: 'rz' }));
    expect(letters.kind).toBe('invalid_request');
    expect(letters.code).toBe('invalid_permissions');
    expect((await rejection(handle.sasUrl('a.txt', { expiresInSeconds: -1 }))).code).toBe('invalid_expiry');
  });

  it('says why it cannot sign when the integration holds a SAS instead of a key', async () => {
    const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
    const service = new BlobServiceClient(`${azurite.url}/${AZURITE_ACCOUNT}`, key);
    const sas = service
      .generateAccountSasUrl(
        new Date(Date.now() + 3_600_000),
        AccountSASPermissions.parse('rwdlc'),
        AccountSASResourceTypes.parse('sco').toString(),
      )
      .split('?')[1];
    const handle = await blobs({
      connectionString: `BlobEndpoint=${azurite.url}/${AZURITE_ACCOUNT};SharedAccessSignature=${sas}`,
      container: 'sas-auth',
    });
    // The SAS works for ordinary calls...
    await handle.createContainer();
    await handle.upload('a.txt', 'a');
    expect(await handle.exists('a.txt')).toBe(true);
    // ...but there is no key to sign new URLs with.
    const error = await rejection(handle.sasUrl('a.txt'));
    expect(error.kind).toBe('invalid_config');
    expect(error.code).toBe('account_key_required');
  });
});

describe('credentials', () => {
  it('maps a wrong account key to auth, for calls and health', async () => {
    const wrongKey = Buffer.from('not-the-account-key').toString('base64');
    const name = `wrong_key_${++count}`;
    registry.register(azureBlob, {
      name,
      config: { connectionString: azuriteConnectionString(azurite.url, wrongKey), container: 'anything' },
      retry: { maxAttempts: 3, initialDelayMs: 1 },
    });
    const report = await registry.enable(name);
    expect(report.status).toBe('unhealthy');
    expect(report.error?.kind).toBe('auth');
    const handle = registry.get<typeof azureBlob>(name);
    const error = await rejection(handle.upload('a.txt', 'x'));
    expect(error.kind).toBe('auth');
    expect(error.status).toBe(403);
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain(wrongKey);
  });

  it('validates the config, naming the field that is wrong', async () => {
    const cases: [unknown, string][] = [
      [{}, 'connectionString'],
      [{ accountName: 'devstoreaccount1' }, 'accountKey'],
      [{ accountKey: 'a2V5' }, 'accountName'],
      [{ connectionString: azurite.connectionString, accountName: 'devstoreaccount1' }, 'connectionString'],
      [{ connectionString: 'AccountName=only' }, 'connectionString'],
      [{ accountName: 'Bad_Name', accountKey: 'a2V5' }, 'accountName'],
      [{ accountName: 'devstoreaccount1', accountKey: 'a2V5', endpoint: 'not a url' }, 'endpoint'],
      [{ accountName: 'devstoreaccount1', accountKey: 'a2V5', endpoint: 'ftp://127.0.0.1/x' }, 'endpoint'],
      [{ connectionString: azurite.connectionString, container: 'Bad--Name' }, 'container'],
      [{ connectionString: azurite.connectionString, region: 'x' }, 'region'],
    ];
    const named = await rejection(
      validateConfig(azureBlob, { connectionString: 'UseDevelopmentStorage=true', container: 'x' }),
    );
    expect(named.message).toContain('container: must be 3 to 63 lowercase letters');
    for (const [config, path] of cases) {
      const error = await rejection(validateConfig(azureBlob, config));
      expect(error.kind, JSON.stringify(config)).toBe('invalid_config');
      const issues = (error as unknown as { issues: { path: string }[] }).issues;
      expect(
        issues.map((issue) => issue.path),
        JSON.stringify(config),
      ).toContain(path);
    }
    const bad = await rejection(validateConfig(azureBlob, { connectionString: 'AccountName=leakcheck;AccountKey=' }));
    expect(bad.message).not.toContain('leakcheck');
    await expect(validateConfig(azureBlob, { connectionString: 'UseDevelopmentStorage=true' })).resolves.toBeTruthy();
  });
});

describe('close', () => {
  it('releases the keep-alive connections it opened', async () => {
    // A plain TCP relay that counts open connections. (The fault proxy answers `Keep-Alive: timeout=1`, which
    // makes Node's agent drop idle sockets at once, so it cannot show whether close() released them.)
    const open = new Set<Socket>();
    const relay = createServer((client) => {
      open.add(client);
      const upstream = connect(azurite.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const drop = () => {
        open.delete(client);
        client.destroy();
        upstream.destroy();
      };
      client.once('close', drop);
      upstream.once('close', drop);
      client.once('error', drop);
      upstream.once('error', drop);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = relay.address() as AddressInfo;
      const handle = await blobs({
        connectionString: azuriteConnectionString(`http://127.0.0.1:${port}`),
        container: 'closing',
      });
      await handle.createContainer();
      await handle.upload('a.txt', 'a');
      // Both requests are done; their socket stays pooled (Azurite keeps idle connections for 5 s).
      expect(open.size).toBe(1);
      await handle.close();
      for (let i = 0; i < 50 && open.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(open.size).toBe(0);
    } finally {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});

describe('stream uploads are never replayed', () => {
  it('fails a stream upload on the first error instead of retrying it, and releases the stream', async () => {
    const handle = await blobs(viaProxy('stream-faults'));
    await handle.createContainer();
    proxy.reset();
    proxy.script(faults.status(503));
    const source = generated(200_000, 3);
    const error = await rejection(handle.upload('once.bin', source.stream, {}, { idempotencyKey: 'even-with-a-key' }));
    expect(error.kind).toBe('unavailable');
    expect(error.operation).toBe('uploadStream');
    // One staged block was refused; nothing was sent again.
    expect(proxy.requests).toHaveLength(1);
    expect(source.stream.destroyed).toBe(true);
    expect(await handle.exists('once.bin')).toBe(false);
  });

  it('retries the same upload from a Buffer, which can be sent again', async () => {
    const handle = await blobs(viaProxy('stream-faults'));
    proxy.reset();
    proxy.script(faults.status(503));
    await handle.upload('twice.bin', Buffer.alloc(200_000, 9));
    expect(proxy.requests.map((request) => request.method)).toEqual(['PUT', 'PUT']);
    expect((await handle.getProperties('twice.bin')).contentLength).toBe(200_000);
  });

  it('reports a body cut short mid-download as unavailable, not as a cancellation', async () => {
    const handle = await blobs(viaProxy('stream-faults'));
    await handle.upload('cut.bin', Buffer.alloc(300_000, 5));
    proxy.script(faults.truncate(100_000));
    const downloaded = await handle.download('cut.bin');
    const error = await readAll(downloaded.stream).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect((error as IntegrationError).kind).toBe('unavailable');
    expect((error as IntegrationError).code).toBe('incomplete_body');
  });
});
