/**
 * Streams a generated object up to s3rver and back down, through the connector (core's registry and pipeline
 * included) and through the raw AWS SDK making the same requests, in the same run. Each run is its own child
 * process (bench/child.mjs, plain JS) so its peak RSS is its own; s3rver runs in a third process.
 *
 *   pnpm --filter @integrations/aws-s3... build && pnpm --filter @integrations/aws-s3 bench
 *   BENCH_BYTES=268435456 BENCH_MODES=upload pnpm --filter @integrations/aws-s3 bench
 *
 * Modes: `put` is one streaming PutObject of known length; `upload` is a multipart upload of a stream of unknown
 * length (lib-storage's defaults: 5 MiB parts, 4 in flight; BENCH_QUEUE_SIZE changes the 4 for both sides). Down is one GetObject piped into a byte-counting sink.
 * Each pair runs BENCH_ROUNDS times (default 3), alternating who goes first; the best time of each side is
 * reported (the machine is shared: the best run is the one least disturbed), and the highest RSS.
 * Targets: connector/raw throughput ≥ 0.9, peak RSS of every run < 150 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';

const BYTES = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
const MODES = (process.env.BENCH_MODES ?? 'put,upload').split(',').map((m) => m.trim());
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = Number(process.env.BENCH_QUEUE_SIZE ?? 4);
const BUCKET = 'bench';
const WARM_UP_BYTES = Math.min(BYTES, 64 * 1024 * 1024);
const RSS_TARGET = 150e6;

const child = join(dirname(fileURLToPath(import.meta.url)), 'child.mjs');
// The SDK warns on Node < 22 at the first client; the figures do not need it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface RunResult {
  upMs: number;
  downMs: number;
  bytesDown: number;
  peakRssSampled: number;
  peakRssKernel: number;
}

function start(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [child], {
    cwd: join(dirname(child), '..'),
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** The first line a child prints (its result), or an error if it exits first. */
function firstLine(process: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    process.stdout?.setEncoding('utf8');
    process.stdout?.on('data', (data: string) => {
      out += data;
      const newline = out.indexOf('\n');
      if (newline !== -1) resolve(out.slice(0, newline));
    });
    process.once('exit', (code) => reject(new Error(`a benchmark process exited with ${code} before reporting`)));
    process.once('error', reject);
  });
}

async function run(
  role: 'raw' | 'connector',
  mode: string,
  endpoint: string,
  bytes: number,
  admin: S3Client,
): Promise<RunResult> {
  const key = `${mode}-${role}.bin`;
  const result = JSON.parse(
    await firstLine(
      start({
        BENCH_ROLE: role,
        BENCH_MODE: mode,
        BENCH_ENDPOINT: endpoint,
        BENCH_BUCKET: BUCKET,
        BENCH_KEY: key,
        BENCH_BYTES: String(bytes),
        BENCH_PART_SIZE: String(PART_SIZE),
        BENCH_QUEUE_SIZE: String(QUEUE_SIZE),
      }),
    ),
  ) as RunResult;
  if (result.bytesDown !== bytes) throw new Error(`${role}/${mode}: read ${result.bytesDown} bytes, expected ${bytes}`);
  // Free the disk before the next run.
  await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  return result;
}

const mb = (bytes: number) => bytes / 1e6;
const rate = (bytes: number, ms: number) => mb(bytes) / (ms / 1000);
const cell = (value: number, width = 9) => value.toFixed(1).padStart(width);

async function main(): Promise<void> {
  if (!Number.isInteger(BYTES) || BYTES <= 0) throw new Error('BENCH_BYTES must be a positive integer');
  if (!Number.isInteger(ROUNDS) || ROUNDS <= 0) throw new Error('BENCH_ROUNDS must be a positive integer');
  for (const mode of MODES) {
    if (mode !== 'put' && mode !== 'upload') throw new Error(`BENCH_MODES: unknown mode "${mode}" (put, upload)`);
  }
  const directory = await mkdtemp(join(tmpdir(), 'aws-s3-bench-'));
  const server = start({ BENCH_ROLE: 'server', BENCH_DIR: directory });
  const results = new Map<string, { raw: RunResult[]; connector: RunResult[] }>(
    MODES.map((mode) => [mode, { raw: [], connector: [] }]),
  );
  try {
    const { port } = JSON.parse(await firstLine(server)) as { port: number };
    const endpoint = `http://127.0.0.1:${port}`;
    const admin = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
      // Warm s3rver (its JIT, the page cache) so the first measured run is not the slow one.
      await run('raw', MODES[0] ?? 'put', endpoint, WARM_UP_BYTES, admin);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [index, mode] of MODES.entries()) {
          const sides = (round + index) % 2 === 0 ? (['raw', 'connector'] as const) : (['connector', 'raw'] as const);
          for (const side of sides) {
            const r = await run(side, mode, endpoint, BYTES, admin);
            results.get(mode)?.[side].push(r);
            console.log(
              `round ${round + 1} ${mode} ${side}: up ${rate(BYTES, r.upMs).toFixed(1)} MB/s, ` +
                `down ${rate(BYTES, r.downMs).toFixed(1)} MB/s, max RSS ${mb(r.peakRssKernel).toFixed(1)} MB`,
            );
          }
        }
      }
    } finally {
      admin.destroy();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(directory, { recursive: true, force: true });
  }

  const best = (runs: RunResult[]): RunResult => ({
    upMs: Math.min(...runs.map((r) => r.upMs)),
    downMs: Math.min(...runs.map((r) => r.downMs)),
    bytesDown: BYTES,
    peakRssSampled: Math.max(...runs.map((r) => r.peakRssSampled)),
    peakRssKernel: Math.max(...runs.map((r) => r.peakRssKernel)),
  });
  const rows = MODES.map((mode) => {
    const runs = results.get(mode) ?? { raw: [], connector: [] };
    return { mode, raw: best(runs.raw), connector: best(runs.connector) };
  });

  console.log(
    `object ${mb(BYTES).toFixed(1)} MB · upload: ${PART_SIZE / 2 ** 20} MiB parts × ${QUEUE_SIZE} · ` +
      `best of ${ROUNDS} round(s) · Node ${process.version}`,
  );
  console.log(
    `${'mode'.padEnd(7)}${'run'.padEnd(10)}${'up MB/s'.padStart(9)}${'down MB/s'.padStart(10)}${'total'.padStart(9)}` +
      `${'RSS peak'.padStart(10)}${'RSS max'.padStart(9)}   (RSS in MB: sampled every 50 ms / kernel ru_maxrss)`,
  );
  let worstRss = 0;
  let worstRatio = Number.POSITIVE_INFINITY;
  for (const { mode, raw, connector } of rows) {
    for (const [name, r] of [
      ['raw SDK', raw],
      ['connector', connector],
    ] as const) {
      console.log(
        `${mode.padEnd(7)}${name.padEnd(10)}${cell(rate(BYTES, r.upMs))}${cell(rate(BYTES, r.downMs), 10)}` +
          `${cell(rate(2 * BYTES, r.upMs + r.downMs))}${cell(mb(r.peakRssSampled), 10)}${cell(mb(r.peakRssKernel))}`,
      );
      worstRss = Math.max(worstRss, r.peakRssKernel);
    }
    // Throughput ratio = raw time / connector time.
    const up = raw.upMs / connector.upMs;
    const down = raw.downMs / connector.downMs;
    const total = (raw.upMs + raw.downMs) / (connector.upMs + connector.downMs);
    worstRatio = Math.min(worstRatio, total);
    console.log(
      `${mode.padEnd(7)}connector/raw: up ${up.toFixed(3)} · down ${down.toFixed(3)} · total ${total.toFixed(3)}`,
    );
  }
  console.log(
    `targets: connector/raw ≥ 0.9 → worst ${worstRatio.toFixed(3)} ${worstRatio >= 0.9 ? 'ok' : 'MISSED'}; ` +
      `peak RSS < 150 MB → worst ${mb(worstRss).toFixed(1)} MB ${worstRss < RSS_TARGET ? 'ok' : 'MISSED'}`,
  );
}

await main();
