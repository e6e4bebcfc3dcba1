/**
 * One measured transfer, in a process of its own so its peak RSS is its own: `transfer <raw|connector>
 * <upload|download> <blob>`. bench/stream.ts bundles this file and runs it with plain `node` (no TypeScript loader
 * in the measured process), then prints one JSON line: { seconds, cpuSeconds, bytes, idleRss, peakRss }.
 */
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { createRegistry } from '@integrations/core/registry';
import { azureBlob } from '../src/index.js';

const CHUNK = 1024 * 1024;
const [variant, op, blob] = process.argv.slice(2);
const connectionString = process.env.BENCH_CONNECTION_STRING as string;
const container = process.env.BENCH_CONTAINER as string;
const bytes = Number(process.env.BENCH_BYTES);
const bufferSize = Number(process.env.BENCH_BLOCK_MIB) * CHUNK;
const concurrency = Number(process.env.BENCH_CONCURRENCY);
if (!['raw', 'connector'].includes(variant ?? '') || !['upload', 'download'].includes(op ?? '') || !blob) {
  throw new Error('usage: transfer <raw|connector> <upload|download> <blob>');
}

/** `size` bytes made on the fly, one fresh 1 MiB chunk per read (as a file stream would hand them over). */
function generated(size: number): Readable {
  const pattern = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) pattern[i] = (i * 31) & 0xff;
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(CHUNK, size - sent);
      const chunk = Buffer.allocUnsafe(length);
      pattern.copy(chunk, 0, 0, length);
      // Stamp each chunk so no two are alike.
      if (length >= 8) chunk.writeBigUInt64BE(BigInt(index++), 0);
      sent += length;
      this.push(chunk);
    },
  });
}

async function drain(stream: NodeJS.ReadableStream): Promise<number> {
  let total = 0;
  for await (const chunk of stream) total += (chunk as Buffer).length;
  return total;
}

interface Transfers {
  upload(name: string, body: Readable | Buffer): Promise<unknown>;
  download(name: string): Promise<NodeJS.ReadableStream>;
  close(): Promise<void>;
}

async function rawSdk(): Promise<Transfers> {
  const client = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } });
  const blobs = client.getContainerClient(container);
  return {
    upload: (name, body) =>
      Buffer.isBuffer(body)
        ? blobs.getBlockBlobClient(name).uploadData(body)
        : blobs.getBlockBlobClient(name).uploadStream(body, bufferSize, concurrency),
    async download(name) {
      const response = await blobs.getBlockBlobClient(name).download(0, undefined, { maxRetryRequests: 0 });
      return response.readableStreamBody as NodeJS.ReadableStream;
    },
    close: async () => {},
  };
}

async function throughConnector(): Promise<Transfers> {
  const registry = createRegistry();
  registry.register(azureBlob, {
    name: 'bench',
    config: { connectionString, container },
    // One attempt carries the whole stream: give it time.
    timeoutMs: 30 * 60_000,
    healthCheck: false,
  });
  await registry.enable('bench');
  const blobs = registry.get<typeof azureBlob>('bench');
  return {
    upload: (name, body) => blobs.upload(name, body, { bufferSize, maxConcurrency: concurrency }),
    download: async (name) => (await blobs.download(name)).stream,
    close: () => registry.close(),
  };
}

const transfers = variant === 'raw' ? await rawSdk() : await throughConnector();
// Warm up (sockets, JIT) with a small single-shot upload and download before measuring.
await transfers.upload(`warm-${variant}`, Buffer.alloc(CHUNK, 1));
await drain(await transfers.download(`warm-${variant}`));

const idleRss = process.memoryUsage.rss();
let peakRss = idleRss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const started = performance.now();
const cpuBefore = process.cpuUsage();
let moved = bytes;
if (op === 'upload') await transfers.upload(blob, generated(bytes));
else moved = await drain(await transfers.download(blob));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage.rss());
await transfers.close();
if (moved !== bytes) throw new Error(`${variant} ${op} moved ${moved} bytes, expected ${bytes}`);
console.log(JSON.stringify({ seconds, cpuSeconds, bytes: moved, idleRss, peakRss }));
