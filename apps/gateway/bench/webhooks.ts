/**
 * Load figure (not a test): 1,000 concurrent Stripe webhook posts on loopback, with real signatures from the
 * Stripe SDK, 5% of them redeliveries of an event already sent. The gateway runs as its own process
 * (dist/main.js) with its PostgreSQL store and forwards every event to a receiver in this process. Prints
 * accepted, duplicates, errors, req/s and latency of the acknowledgements, then waits for delivery and checks that
 * every accepted event arrived (delivered = accepted, 0 lost).
 *
 *   pnpm --filter @integrations/gateway... build && pnpm --filter @integrations/gateway bench:webhooks
 *
 * Needs PostgreSQL (WEBHOOKS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); it works in a schema
 * of its own and drops it at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import Stripe from 'stripe';

const POSTS = Number(process.env.BENCH_WEBHOOKS ?? 1000);
const DUPLICATE_SHARE = 0.05;
const SECRET = 'whsec_bench_0123456789abcdefghij';
const DATABASE_URL = process.env.WEBHOOKS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const schema = `gw_bench_${process.pid}`;

const sql = postgres(DATABASE_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
try {
  await sql`SELECT 1`;
} catch (error) {
  console.error(`PostgreSQL is not reachable at ${DATABASE_URL}: ${(error as Error).message}`);
  process.exit(1);
}

// The receiver the gateway forwards to: counts each event id it is handed.
const deliveries = new Map<string, number>();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString('utf8');
  });
  req.on('end', () => {
    const { eventId } = JSON.parse(body) as { eventId: string };
    deliveries.set(eventId, (deliveries.get(eventId) ?? 0) + 1);
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;

const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-webhooks-'));
const file = join(dir, 'bench.yaml');
await writeFile(
  file,
  `server:
  host: 127.0.0.1
  port: 0
  webhooks:
    store: { kind: postgres, url: "${DATABASE_URL}", schema: ${schema}, maxConnections: ${Number(process.env.BENCH_PG_CONNECTIONS ?? 10)} }
    forwardUrl: ${receiverUrl}
    delivery: { concurrency: 16, pollIntervalMs: 500, timeoutMs: 5000 }
defaults:
  healthCheck: { intervalMs: 600000 }
integrations:
  payments:
    connector: stripe
    config: { apiKey: sk_test_bench_0123456789, apiBaseUrl: "http://127.0.0.1:9" }
    webhooks: { secrets: ["${SECRET}"] }
`,
);

const child = spawn(process.execPath, [MAIN, '--config', file], {
  // Requests and deliveries log at debug: info prints only startup, shutdown and problems.
  env: { PATH: process.env.PATH, LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
const ready = new Promise<string>((resolve, reject) => {
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"gateway ready"/.exec(output);
    if (match?.[1]) resolve(match[1]);
  });
  child.once('exit', (code) => reject(new Error(`gateway exited (${code}):\n${output}`)));
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

try {
  const url = await ready;
  const unique = Math.round(POSTS * (1 - DUPLICATE_SHARE));
  const events = Array.from({ length: unique }, (_, i) => ({
    id: `evt_bench_${process.pid}_${i}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'payment_intent.succeeded',
    data: { object: { id: `pi_bench_${i}`, object: 'payment_intent', amount: 1000 + i, currency: 'eur' } },
  }));
  // Redeliveries: the same event again, signed afresh (as Stripe does when it retries).
  const posts = [...events, ...events.slice(0, POSTS - unique)].map((event) => {
    const body = JSON.stringify(event);
    return { body, signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) };
  });

  const latencies: number[] = [];
  let accepted = 0;
  let duplicates = 0;
  let errors = 0;
  const began = performance.now();
  await Promise.all(
    posts.map(async ({ body, signature }) => {
      const start = performance.now();
      try {
        const response = await fetch(`${url}/webhooks/default/payments`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        });
        const answer = (await response.json()) as { duplicate?: boolean };
        if (response.status !== 200) errors++;
        else if (answer.duplicate) duplicates++;
        else accepted++;
      } catch {
        errors++;
      } finally {
        latencies.push(performance.now() - start);
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);

  // Delivery: every accepted event must reach the receiver.
  const deliveryStart = performance.now();
  while (deliveries.size < accepted && performance.now() - deliveryStart < 120_000) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const deliveryS = (performance.now() - deliveryStart) / 1000;
  const delivered = deliveries.size;
  const redelivered = [...deliveries.values()].filter((n) => n > 1).length;
  // The receiver answered before the worker recorded the delivery: let the last few commits land.
  const storeState = () =>
    sql.unsafe<{ stored: string; pending: string }[]>(
      `SELECT count(*) AS stored, count(*) FILTER (WHERE status <> 'delivered') AS pending FROM "${schema}".webhook_events`,
    );
  let [row] = await storeState();
  for (let i = 0; i < 100 && row?.pending !== '0'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    [row] = await storeState();
  }
  const lost = accepted - delivered;

  console.log(
    [
      `POST /webhooks/default/payments: ${POSTS} concurrent posts on loopback, real Stripe signatures, ${POSTS - unique} redeliveries`,
      `  accepted     ${accepted} (new events, stored before the 200)`,
      `  duplicates   ${duplicates} (acknowledged, not stored again)`,
      `  errors       ${errors}`,
      `  requests/s   ${(POSTS / elapsed).toFixed(0)} (${POSTS} in ${elapsed.toFixed(2)} s)`,
      `  latency      p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${(latencies.at(-1) ?? 0).toFixed(1)} ms`,
      `  delivered    ${delivered} distinct events in ${deliveryS.toFixed(2)} s after the last 200 (${redelivered} more than once)`,
      `  store        ${row?.stored} rows, ${row?.pending} not yet delivered`,
      `  lost         ${lost}`,
    ].join('\n'),
  );
  if (errors !== 0 || lost !== 0 || accepted + duplicates !== POSTS) process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  receiver.closeAllConnections();
  receiver.close();
  await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await sql.end({ timeout: 5 });
  await rm(dir, { recursive: true, force: true });
}
