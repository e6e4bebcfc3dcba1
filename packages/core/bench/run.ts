/**
 * Per-call overhead and heap growth of core's policies beside cockatiel and opossum, and of the path an
 * application actually takes: a registered integration's operation through its handle, ctx.call and the pipeline.
 * Also the cold import time of the built entries. Run: pnpm --filter @integrations/core bench (after a build)
 */
import { execFileSync } from 'node:child_process';
import {
  ConsecutiveBreaker,
  circuitBreaker as cockatielBreaker,
  bulkhead as cockatielBulkhead,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  ExponentialBackoff,
  handleAll,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import CircuitBreaker from 'opossum';
import { configSchema, defineConnector, IntegrationError, IntegrationType } from '../src/index.js';
import {
  createBulkhead,
  createCircuitBreaker,
  createPipeline,
  createRateLimiter,
  createRetry,
  createTimeout,
} from '../src/policies/index.js';
import { createRegistry } from '../src/registry.js';

type Call = () => Promise<unknown>;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with node --expose-gc (pnpm --filter @integrations/core bench does)');
  process.exit(1);
}

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 120);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const HEAP_CALLS = Number(process.env.BENCH_HEAP_CALLS ?? 1_000_000);
const IN_FLIGHT = 100;
const TIMEOUT_MS = 10_000;

const operation = async (_scope?: unknown) => 1;
const bare: Call = () => operation();

// Core: the full pipeline and each policy alone. The limiter's bucket is large enough never to run dry.
const limits = { requestsPerMinute: 1e12, burst: 1e9 };
const full = createPipeline({
  retry: { maxAttempts: 3 },
  circuitBreaker: { failureThreshold: 5 },
  rateLimit: limits,
  timeoutMs: TIMEOUT_MS,
  bulkhead: { maxConcurrent: 1_000, maxQueue: 1_000 },
});
const fullOptions = { retrySafe: true };
// How the registry calls it: every call carries the integration's signal.
const signalOptions = { retrySafe: true, signal: new AbortController().signal };
const coreRetry = createRetry({ maxAttempts: 3 });
const coreBreaker = createCircuitBreaker({ failureThreshold: 5 });
const coreTimeout = createTimeout(TIMEOUT_MS);
const coreBulkhead = createBulkhead({ maxConcurrent: 1_000, maxQueue: 1_000 });
const coreLimiter = createRateLimiter(limits);

// The registry path: the same policies, configured on a registered integration whose operation is ctx.call.
const benchConnector = defineConnector({
  id: 'bench',
  displayName: 'Bench',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '0.0.0',
  config: configSchema({}),
  operations: { 'things.get': { idempotent: true } },
  mapError: (error) => new IntegrationError('internal', String(error)),
  create: (_config, ctx) => ({
    client: {},
    things: { get: () => ctx.call('things.get', operation) },
    healthCheck: async () => undefined,
  }),
});
const registry = createRegistry();
registry.register(benchConnector, {
  name: 'bench',
  config: {},
  retry: { maxAttempts: 3 },
  circuitBreaker: { failureThreshold: 5 },
  rateLimit: limits,
  timeoutMs: TIMEOUT_MS,
  bulkhead: { maxConcurrent: 1_000, maxQueue: 1_000 },
  healthCheck: false,
});
await registry.enableAll();
const handle = registry.get<typeof benchConnector>('bench');

// Cockatiel: the same shapes.
const cRetry = cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
const cBreaker = cockatielBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
const cTimeout = cockatielTimeout(TIMEOUT_MS, TimeoutStrategy.Cooperative);
const cBulkhead = cockatielBulkhead(1_000, 1_000);
const cWrap = wrap(
  cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
  cockatielBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
  cockatielTimeout(TIMEOUT_MS, TimeoutStrategy.Cooperative),
);

// Opossum: a breaker with its default per-call timeout, like core's full pipeline.
const opossum = new CircuitBreaker(operation, { timeout: TIMEOUT_MS, errorThresholdPercentage: 50 });

interface Target {
  name: string;
  call: Call;
  heap?: boolean;
}

const targets: Target[] = [
  { name: 'bare async () => 1', call: bare },
  { name: 'core full pipeline', call: () => full.execute('op', operation, fullOptions), heap: true },
  {
    name: 'core full pipeline + caller signal',
    call: () => full.execute('op', operation, signalOptions),
    heap: true,
  },
  { name: 'core registry: handle.op() → ctx.call', call: () => handle.things.get(), heap: true },
  { name: 'cockatiel wrap(retry, breaker, timeout)', call: () => cWrap.execute(operation) },
  { name: 'opossum fire()', call: () => opossum.fire() },
  { name: 'core retry', call: () => coreRetry.execute(operation), heap: true },
  { name: 'cockatiel retry', call: () => cRetry.execute(operation) },
  { name: 'core circuit breaker', call: () => coreBreaker.execute(operation), heap: true },
  { name: 'cockatiel circuit breaker', call: () => cBreaker.execute(operation) },
  { name: 'core timeout', call: () => coreTimeout.execute(operation), heap: true },
  { name: 'cockatiel timeout', call: () => cTimeout.execute(operation) },
  { name: 'core bulkhead', call: () => coreBulkhead.execute(operation), heap: true },
  { name: 'cockatiel bulkhead', call: () => cBulkhead.execute(operation) },
  { name: 'core rate limiter', call: () => coreLimiter.execute(operation), heap: true },
];

// Count warnings (cockatiel's wrap adds an abort listener per call to a shared signal) instead of printing them.
const warnings = new Map<string, number>();
process.removeAllListeners('warning');
process.on('warning', (warning) => warnings.set(warning.name, (warnings.get(warning.name) ?? 0) + 1));

async function sequential(call: Call, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  return Number(process.hrtime.bigint() - start) / n;
}

async function worker(call: Call, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await call();
}

/** IN_FLIGHT loops share the work, so IN_FLIGHT calls are always pending at once. */
async function concurrent(call: Call, n: number): Promise<number> {
  const perWorker = Math.ceil(n / IN_FLIGHT);
  const workers: Promise<void>[] = [];
  const start = process.hrtime.bigint();
  for (let w = 0; w < IN_FLIGHT; w++) workers.push(worker(call, perWorker));
  await Promise.all(workers);
  return Number(process.hrtime.bigint() - start) / (perWorker * IN_FLIGHT);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Calls per round so that a round takes about ROUND_MS. */
async function calibrate(run: (n: number) => Promise<number>): Promise<number> {
  let n = 2_000;
  for (;;) {
    const ns = await run(n);
    if (ns * n >= 20e6 || n >= 5e6) return Math.max(1_000, Math.round((ROUND_MS * 1e6) / ns));
    n *= 4;
  }
}

async function heapGrowth(call: Call): Promise<number> {
  const settle = () => {
    for (let i = 0; i < 4; i++) gc!();
    return process.memoryUsage().heapUsed;
  };
  const before = settle();
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < HEAP_CALLS; i += IN_FLIGHT) {
      const batch = Math.min(IN_FLIGHT, HEAP_CALLS - i);
      const pending: Promise<unknown>[] = new Array(batch);
      for (let j = 0; j < batch; j++) pending[j] = call();
      await Promise.all(pending);
    }
  }
  return settle() - before;
}

interface Row {
  name: string;
  seq: number;
  par: number;
  heap: number | undefined;
}

async function main(): Promise<void> {
  const started = Date.now();
  // Rounds are interleaved (every target once per round) so that a noisy moment hits all targets alike.
  const plans = [];
  for (const target of targets) {
    plans.push({
      target,
      seqN: await calibrate((n) => sequential(target.call, n)),
      parN: await calibrate((n) => concurrent(target.call, n)),
      seq: [] as number[],
      par: [] as number[],
    });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const plan of plans) {
      plan.seq.push(await sequential(plan.target.call, plan.seqN));
      plan.par.push(await concurrent(plan.target.call, plan.parN));
    }
    process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
  }
  const rows: Row[] = [];
  for (const plan of plans) {
    const heap = plan.target.heap ? await heapGrowth(plan.target.call) : undefined;
    rows.push({ name: plan.target.name, seq: median(plan.seq), par: median(plan.par), heap });
  }
  opossum.shutdown();
  await registry.close();

  const base = rows[0]!;
  const byName = new Map(rows.map((row) => [row.name, row]));
  const cell = (value: number, width: number) => value.toFixed(0).padStart(width);
  const lines = [
    `Per-call cost on Node ${process.version}, median of ${ROUNDS} rounds of ~${ROUND_MS} ms; overhead = cost - bare call.`,
    `Heap growth: heapUsed after 2 x ${HEAP_CALLS.toExponential(0)} calls (${IN_FLIGHT} in flight) minus before, both after gc().`,
    '',
    `${'target'.padEnd(42)} ${'seq ns'.padStart(8)} ${'seq ovh'.padStart(8)} ${'100∥ ns'.padStart(8)} ${'100∥ ovh'.padStart(9)} ${'heap Δ KiB'.padStart(11)}`,
    '-'.repeat(91),
  ];
  for (const row of rows) {
    const heap = row.heap === undefined ? '' : (row.heap / 1024).toFixed(1);
    lines.push(
      `${row.name.padEnd(42)} ${cell(row.seq, 8)} ${cell(row.seq - base.seq, 8)} ${cell(row.par, 8)} ${cell(row.par - base.par, 9)} ${heap.padStart(11)}`,
    );
  }
  const overhead = (name: string, mode: 'seq' | 'par') => {
    const row = byName.get(name)!;
    return Math.max(1, row[mode] - base[mode]);
  };
  lines.push('');
  for (const mode of ['seq', 'par'] as const) {
    const label = mode === 'seq' ? 'sequential' : `${IN_FLIGHT} in flight`;
    const core = overhead('core full pipeline', mode);
    const ratioOpossum = core / overhead('opossum fire()', mode);
    const ratioCockatiel = overhead('cockatiel wrap(retry, breaker, timeout)', mode) / core;
    lines.push(
      `${label.padEnd(14)} core full / opossum = ${ratioOpossum.toFixed(3)} (target <= 0.5)   cockatiel wrap / core full = ${ratioCockatiel.toFixed(1)} (target >= 20)`,
    );
  }
  const registryPath = byName.get('core registry: handle.op() → ctx.call')!;
  const pipelineRow = byName.get('core full pipeline')!;
  lines.push(
    `registry path over the bare pipeline: +${(registryPath.seq - pipelineRow.seq).toFixed(0)} ns sequential, +${(registryPath.par - pipelineRow.par).toFixed(0)} ns ${IN_FLIGHT} in flight (handle, ctx.call, stats, error mapping)`,
  );
  const worst = Math.max(...rows.filter((row) => row.heap !== undefined).map((row) => row.heap!));
  lines.push(`largest core heap growth: ${(worst / 1024).toFixed(1)} KiB (target <= 64 KiB)`);
  for (const [name, count] of warnings) lines.push(`process warnings during the run: ${count} x ${name}`);
  lines.push(await summaryCost());
  lines.push('', ...importTimes());
  lines.push(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(lines.join('\n'));
}

/** What a status page pays per request: `registry.summary()` over 50 integrations with every policy configured. */
async function summaryCost(): Promise<string> {
  const fleet = createRegistry();
  for (let i = 0; i < 50; i++) {
    fleet.register(benchConnector, {
      name: `bench_${i}`,
      config: {},
      circuitBreaker: { failureThreshold: 5 },
      rateLimit: limits,
      metadata: { team: 'bench', index: i },
      healthCheck: false,
    });
  }
  await fleet.enableAll();
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) fleet.summary();
    samples.push((performance.now() - started) / 1_000);
  }
  await fleet.close();
  return `registry.summary() of 50 integrations: ${(median(samples) * 1000).toFixed(1)} µs (median of ${ROUNDS} x 1,000)`;
}

/**
 * Cold import of the built entries, each in a fresh Node process (what a user's process pays once at startup):
 * the median of 15 runs, measured inside the child from just before `import()` to its resolution.
 */
function importTimes(): string[] {
  const lines = ['Cold import time (fresh process, built dist/, median of 15):'];
  for (const entry of ['index', 'registry']) {
    const url = new URL(`../dist/${entry}.js`, import.meta.url).href;
    const script = `const t = performance.now(); await import(${JSON.stringify(url)}); console.log(performance.now() - t);`;
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      samples.push(Number(out.trim()));
    }
    const label = entry === 'index' ? '@integrations/core' : '@integrations/core/registry';
    lines.push(`  ${label.padEnd(30)} ${median(samples).toFixed(2)} ms`);
  }
  return lines;
}

await main();
