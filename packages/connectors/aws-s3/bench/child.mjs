// One process of the stream benchmark (bench/stream.ts starts them). Plain JavaScript on purpose: a TypeScript
// loader would add ~35 MB of its own to the RSS this process reports.
//   BENCH_ROLE=server     s3rver on 127.0.0.1, prints {"port"} and runs until SIGTERM
//   BENCH_ROLE=raw        the AWS SDK alone    } one object up then down, prints timings and peak RSS
//   BENCH_ROLE=connector  through the registry }
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const CHUNK = 1024 * 1024;
const SAMPLE_MS = 50;
const env = process.env;

/** `size` bytes made on the fly, 1 MiB at a time (a fresh buffer each: the consumer may still hold the last). */
function generated(size) {
  const template = randomBytes(CHUNK);
  let sent = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      const n = Math.min(CHUNK, size - sent);
      if (n === 0) {
        this.push(null);
        return;
      }
      const chunk = Buffer.allocUnsafe(n);
      template.copy(chunk, 0, 0, n);
      sent += n;
      this.push(chunk);
    },
  });
}

function countingSink() {
  const sink = new Writable({
    highWaterMark: CHUNK,
    write(chunk, _encoding, callback) {
      sink.bytes += chunk.length;
      callback();
    },
  });
  sink.bytes = 0;
  return sink;
}

async function server() {
  const { default: S3rver } = await import('s3rver');
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: env.BENCH_DIR });
  const { port } = await s3rver.run();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  const stop = () => void s3rver.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  // stdin closes when the parent goes away, however it ended: never outlive it.
  process.stdin.once('end', stop).resume();
}

async function transfer(role) {
  const { BENCH_ENDPOINT: endpoint, BENCH_KEY: key, BENCH_BUCKET: bucket, BENCH_MODE: mode } = env;
  const bytes = Number(env.BENCH_BYTES);
  const partSize = Number(env.BENCH_PART_SIZE);
  const queueSize = Number(env.BENCH_QUEUE_SIZE);
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, SAMPLE_MS);

  let up;
  let down;
  let close;
  if (role === 'raw') {
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    up =
      mode === 'put'
        ? () =>
            client.send(
              new PutObjectCommand({ Bucket: bucket, Key: key, Body: generated(bytes), ContentLength: bytes }),
            )
        : () =>
            new Upload({
              client,
              params: { Bucket: bucket, Key: key, Body: generated(bytes) },
              partSize,
              queueSize,
            }).done();
    down = async () => (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
    close = async () => client.destroy();
  } else {
    const { createRegistry } = await import('@integrations/core/registry');
    const { awsS3 } = await import('../dist/index.js').catch(() => {
      throw new Error('dist/index.js not found: run `pnpm --filter @integrations/aws-s3... build` first');
    });
    const registry = createRegistry();
    const s3 = registry.register(awsS3, {
      name: 'bench',
      config: {
        endpoint,
        forcePathStyle: true,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        bucket,
        checksumMode: 'WHEN_REQUIRED',
      },
      // A gigabyte takes longer than the default per-attempt timeout; the bench measures the transfer alone.
      timeoutMs: false,
      healthCheck: false,
    });
    await registry.enableAll();
    up =
      mode === 'put'
        ? () => s3.put(key, generated(bytes), { contentLength: bytes })
        : () => s3.upload(key, generated(bytes), { partSize, queueSize });
    down = async () => (await s3.get(key)).body;
    close = () => registry.close();
  }

  const t0 = performance.now();
  await up();
  const t1 = performance.now();
  const sink = countingSink();
  await pipeline(await down(), sink);
  const t2 = performance.now();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  await close();
  return {
    upMs: t1 - t0,
    downMs: t2 - t1,
    bytesDown: sink.bytes,
    peakRssSampled: peak,
    // ru_maxrss is in KiB on Linux: the kernel's own peak, catching spikes between samples.
    peakRssKernel: process.resourceUsage().maxRSS * 1024,
  };
}

const role = env.BENCH_ROLE;
if (role === 'server') await server();
else if (role === 'raw' || role === 'connector') process.stdout.write(`${JSON.stringify(await transfer(role))}\n`);
else throw new Error(`BENCH_ROLE must be server, raw or connector (got ${role})`);
