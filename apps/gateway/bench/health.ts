/**
 * Load figure (not a test): GET /integrations/health with 50 registered integrations, on loopback.
 * The gateway runs as its own process (dist/main.js, as in production) with 50 Stripe integrations against
 * the local Stripe stand-in; autocannon drives it from this process. Prints req/s, p99 latency and errors.
 *
 *   pnpm --filter @integrations/gateway... build && pnpm --filter @integrations/gateway bench
 * BENCH_NODE_ARGS passes Node flags to the gateway process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStripeFake } from '@integrations/testkit/fakes/stripe';
import autocannon from 'autocannon';

const INTEGRATIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ADMIN = 'bench-admin-key-0123456789';
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const stripe = await startStripeFake();
const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-'));
const integrations = Array.from(
  { length: INTEGRATIONS },
  (_, i) => `  payments_${String(i + 1).padStart(2, '0')}:
    connector: stripe
    config: { apiKey: sk_test_bench_${i}_0123, apiBaseUrl: "${stripe.url}" }`,
).join('\n');
const file = join(dir, 'bench.yaml');
await writeFile(
  file,
  `server: { host: 127.0.0.1, port: 0, adminApiKey: ${ADMIN} }
defaults:
  healthCheck: { intervalMs: 30000 }
integrations:
${integrations}
tenants:
  bench:
    apiKeys: [bench-tenant-key-0123456789]
`,
);

const child = spawn(
  process.execPath,
  [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), MAIN, '--config', file],
  {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let output = '';
const url = await new Promise<string>((resolve, reject) => {
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const match =
      /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output) ?? /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (match?.[1]) resolve(match[1]);
  });
  child.once('exit', (code) => reject(new Error(`gateway exited (${code}):\n${output}`)));
});

try {
  // Wait until every integration has had its first check, so the figure is for a steady state.
  for (;;) {
    const ready = await fetch(`${url}/integrations/health/ready`);
    if (ready.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const check = await (
    await fetch(`${url}/integrations/health`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).json();
  if (check.integrations.length !== INTEGRATIONS) throw new Error(`expected ${INTEGRATIONS} integrations`);

  const result = await autocannon({
    url: `${url}/integrations/health`,
    headers: { authorization: `Bearer ${ADMIN}` },
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  console.log(
    [
      `GET /integrations/health, ${INTEGRATIONS} integrations, ${CONNECTIONS} connections, ${DURATION_S} s on loopback`,
      `  requests/s   ${result.requests.average.toFixed(0)} (total ${result.requests.total})`,
      `  latency      p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
      `  throughput   ${(result.throughput.average / 1024 / 1024).toFixed(1)} MiB/s`,
      `  errors       ${errors} (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx})`,
    ].join('\n'),
  );
  if (errors !== 0) process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await stripe.stop();
  await rm(dir, { recursive: true, force: true });
}
