/**
 * Streams BENCH_BYTES (default 1 GiB) up and down through the connector and through the raw SDK, in the same run
 * against the same Azurite, and prints throughput, the connector/raw ratio (target ≥ 0.9) and the peak RSS of the
 * process doing the transfer (target < 150 MB).
 *
 * - Azurite keeps blobs on disk (--location), so its own memory is not part of the story.
 * - Each transfer runs in a fresh `node` process (bench/transfer.ts, bundled here first), so its RSS is its own:
 *   no TypeScript loader in it, and no memory left over from an earlier transfer.
 * - Rounds alternate which side goes first; each side's median round counts.
 *
 *   pnpm --filter @integrations/azure-blob bench
 *   BENCH_BYTES=268435456 BENCH_BLOCK_MIB=8 BENCH_CONCURRENCY=5 BENCH_ROUNDS=2 pnpm --filter @integrations/azure-blob bench
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { build } from 'esbuild';

const ACCOUNT = 'devstoreaccount1';
// Azurite's published development key: not a secret.
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const CONTAINER = 'bench';

function positiveInteger(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return value;
}

const bytes = positiveInteger('BENCH_BYTES', 1024 ** 3);
// The connector's defaults for streams.
const blockMib = positiveInteger('BENCH_BLOCK_MIB', 4);
const concurrency = positiveInteger('BENCH_CONCURRENCY', 3);
// Even, so each side goes first equally often.
const rounds = positiveInteger('BENCH_ROUNDS', 4);

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Bundles transfer.ts to plain JS inside the package (so its dependencies resolve), for plain `node`. */
async function bundleTransfer(): Promise<string> {
  const outDir = join(packageDir, 'node_modules', '.cache', 'bench');
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, 'transfer.mjs');
  await build({
    entryPoints: [join(packageDir, 'bench', 'transfer.ts')],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

async function startAzurite(location: string): Promise<{ url: string; child: ChildProcess }> {
  const manifestPath = require.resolve('azurite/package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { bin: Record<string, string> };
  const bin = join(dirname(manifestPath), manifest.bin['azurite-blob'] as string);
  const args = ['--blobHost', '127.0.0.1', '--blobPort', '0', '--location', location];
  args.push('--skipApiVersionCheck', '--disableTelemetry', '--silent');
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listens on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`azurite exited (${code}): ${output}`)));
  });
  return { url, child };
}

interface Measurement {
  seconds: number;
  /** CPU time the transfer's process spent (user + system): what the connector adds, even on a busy machine. */
  cpuSeconds: number;
  bytes: number;
  idleRss: number;
  peakRss: number;
}

const run = promisify(execFile);
const mb = (n: number) => n / 1e6;
const location = await mkdtemp(join(tmpdir(), 'azure-blob-bench-'));
const azurite = await startAzurite(location);
const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${azurite.url}/${ACCOUNT};`;

try {
  const transfer = await bundleTransfer();
  await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(CONTAINER).createIfNotExists();
  const env = {
    ...process.env,
    BENCH_CONNECTION_STRING: connectionString,
    BENCH_CONTAINER: CONTAINER,
    BENCH_BYTES: String(bytes),
    BENCH_BLOCK_MIB: String(blockMib),
    BENCH_CONCURRENCY: String(concurrency),
  };
  const measure = async (variant: string, op: string, blob: string): Promise<Measurement> => {
    // Flush what Azurite wrote for the previous transfer, so its write-back does not slow the next one down.
    await run('sync').catch(() => undefined);
    const { stdout } = await run(process.execPath, [transfer, variant, op, blob], { env, cwd: packageDir });
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measurement;
  };

  console.log(
    `azure-blob stream bench: ${mb(bytes).toFixed(0)} MB, blocks of ${blockMib} MiB × ${concurrency}, median of ${rounds} round(s)`,
  );
  const results = new Map<string, Measurement[]>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['raw', 'connector'] : ['connector', 'raw'];
    for (const op of ['upload', 'download']) {
      for (const variant of order) {
        const m = await measure(variant, op, `${variant}-${round}.bin`);
        console.log(
          `  round ${round + 1} ${`${variant} ${op}`.padEnd(18)} ${(mb(m.bytes) / m.seconds).toFixed(1).padStart(7)} MB/s  CPU ${m.cpuSeconds.toFixed(2)} s  peak RSS ${mb(m.peakRss).toFixed(0)} MB`,
        );
        results.set(`${variant} ${op}`, [...(results.get(`${variant} ${op}`) ?? []), m]);
      }
    }
  }

  // The median round: robust to a neighbour process stealing the CPU during one of them.
  const median = (key: string): Measurement => {
    const sorted = [...(results.get(key) ?? [])].sort((a, b) => a.seconds - b.seconds);
    return sorted[Math.floor((sorted.length - 1) / 2)] as Measurement;
  };
  const medianCpu = (key: string): number => {
    const sorted = (results.get(key) ?? []).map((m) => m.cpuSeconds).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] as number;
  };
  const peakOf = (key: string) => Math.max(...(results.get(key) ?? []).map((m) => m.peakRss));
  console.log('');
  for (const key of ['raw upload', 'connector upload', 'raw download', 'connector download']) {
    const m = median(key);
    console.log(
      `${key.padEnd(20)} ${(mb(m.bytes) / m.seconds).toFixed(1).padStart(7)} MB/s  ${m.seconds.toFixed(2).padStart(6)} s  CPU ${medianCpu(key).toFixed(2)} s (medians)  peak RSS ${mb(peakOf(key)).toFixed(0)} MB (idle ${mb(m.idleRss).toFixed(0)} MB)`,
    );
  }
  const ratio = (op: string) => median(`raw ${op}`).seconds / median(`connector ${op}`).seconds;
  const cpuRatio = (op: string) => medianCpu(`raw ${op}`) / medianCpu(`connector ${op}`);
  console.log(
    `ratio connector/raw: upload ${ratio('upload').toFixed(2)}, download ${ratio('download').toFixed(2)} (target ≥ 0.90)`,
  );
  console.log(
    `CPU efficiency connector/raw (raw CPU ÷ connector CPU): upload ${cpuRatio('upload').toFixed(2)}, download ${cpuRatio('download').toFixed(2)}`,
  );
  const peak = Math.max(peakOf('connector upload'), peakOf('connector download'));
  const rawPeak = Math.max(peakOf('raw upload'), peakOf('raw download'));
  console.log(
    `peak RSS of the connector's process: ${mb(peak).toFixed(0)} MB (target < 150 MB); the raw SDK's: ${mb(rawPeak).toFixed(0)} MB`,
  );
} finally {
  if (azurite.child.exitCode === null) {
    const exited = once(azurite.child, 'exit');
    azurite.child.kill();
    await exited;
  }
  await rm(location, { recursive: true, force: true });
}
