/**
 * Per-call cost of a core pipeline (rate limit, breaker, retry, timeout) whose state lives in Redis, beside the
 * same pipeline on core's memory store, in one run: one call at a time, and 50 in flight.
 * Run: pnpm --filter @integrations/store-redis bench   (REDIS_URL, default redis://127.0.0.1:6379)
 */
import type { Pipeline, StateStore } from '@integrations/core';
import { createMemoryStore, createPipeline } from '@integrations/core/policies';
import { Redis } from 'ioredis';
import { createRedisStore } from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1_500);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 300);
const IN_FLIGHT = 50;
const prefix = `integrations-bench:${process.pid}:`;

const operation = async () => 1;
const options = { retrySafe: true };

function pipelineOn(store: StateStore): Pipeline {
  return createPipeline({
    // A bucket that never runs dry: the cost measured is the store round trip, not waiting.
    rateLimit: { requestsPerMinute: 1e12, burst: 1e9 },
    circuitBreaker: { failureThreshold: 5 },
    retry: { maxAttempts: 3 },
    timeoutMs: 10_000,
    store,
    key: 'bench/tenant',
  });
}

/** Calls for `ms` with `inFlight` callers each awaiting its own calls; returns ns per call. */
async function measure(
  pipeline: Pipeline,
  inFlight: number,
  ms: number,
): Promise<{ nsPerCall: number; calls: number }> {
  let calls = 0;
  const started = performance.now();
  const deadline = started + ms;
  const caller = async () => {
    while (performance.now() < deadline) {
      // Batches of 64 keep the clock read off the measured path.
      for (let i = 0; i < 64; i++) await pipeline.execute('op', operation, options);
      calls += 64;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  const elapsed = performance.now() - started;
  return { nsPerCall: (elapsed * 1e6) / calls, calls };
}

const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
try {
  await admin.connect();
  await admin.ping();
} catch (error) {
  console.error(`Redis is not reachable at ${REDIS_URL}: ${(error as Error).message}`);
  process.exit(1);
}
const info = await admin.info('server');
const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';

const redisStore = createRedisStore({ url: REDIS_URL, keyPrefix: prefix });
if (!(await redisStore.ready())) {
  console.error(`the store could not connect to ${REDIS_URL}`);
  process.exit(1);
}
const memory = pipelineOn(createMemoryStore());
const redis = pipelineOn(redisStore);

console.log(`Node ${process.version}, Redis ${version} at ${REDIS_URL}; ${ROUND_MS} ms per measurement`);
const rows: Array<Record<string, string | number>> = [];
for (const inFlight of [1, IN_FLIGHT]) {
  await measure(memory, inFlight, WARMUP_MS);
  await measure(redis, inFlight, WARMUP_MS);
  const onMemory = await measure(memory, inFlight, ROUND_MS);
  const onRedis = await measure(redis, inFlight, ROUND_MS);
  rows.push({
    mode: inFlight === 1 ? 'sequential' : `${inFlight} in flight`,
    'memory ns/call': Math.round(onMemory.nsPerCall),
    'redis ns/call': Math.round(onRedis.nsPerCall),
    'redis / memory': Number((onRedis.nsPerCall / onMemory.nsPerCall).toFixed(1)),
    'redis calls/s': Math.round(1e9 / onRedis.nsPerCall),
  });
}
console.table(rows);

await redisStore.close();
let cursor = '0';
do {
  const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
  if (keys.length > 0) await admin.del(...keys);
  cursor = next;
} while (cursor !== '0');
admin.disconnect();
