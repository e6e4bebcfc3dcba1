import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Runs the conformance suite over sample connectors in a separate vitest process (a suite that fails is the
 * expected outcome for the broken ones) and checks which rules each one broke, by test title and message.
 */

interface AssertionResult {
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages: string[];
}
interface JsonReport {
  testResults: { name: string; assertionResults: AssertionResult[] }[];
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const config = fileURLToPath(new URL('./fixtures/suites/vitest.config.ts', import.meta.url));

async function runSuites(outputFile: string): Promise<{ code: number | null; output: string }> {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('vitest/package.json');
  const bin = join(dirname(manifest), 'vitest.mjs');
  const env = { ...process.env };
  // The child is a fresh vitest run, not a worker of this one.
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  const child = spawn(
    process.execPath,
    [bin, 'run', '--config', config, '--reporter=json', `--outputFile=${outputFile}`],
    { cwd: packageDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c));
  child.stderr.on('data', (c: Buffer) => (output += c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

let suites: Map<string, AssertionResult[]>;
let run: { code: number | null; output: string };

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conformance-report-'));
  try {
    const report = join(dir, 'report.json');
    run = await runSuites(report);
    const parsed = JSON.parse(await readFile(report, 'utf8')) as JsonReport;
    suites = new Map(parsed.testResults.map((r) => [r.name.split('/').pop() ?? r.name, r.assertionResults]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000);

function failed(suite: string): Map<string, string> {
  const results = suites.get(suite);
  if (!results) throw new Error(`no results for ${suite}; vitest said:\n${run.output.slice(-3000)}`);
  expect(results.length).toBeGreaterThan(15);
  return new Map(results.filter((r) => r.status === 'failed').map((r) => [r.title, r.failureMessages.join('\n')]));
}

describe('describeConnector on sample connectors', () => {
  it('exits non-zero, because the broken samples fail', () => {
    expect(run.code).toBe(1);
  });

  it('passes a connector that follows every rule', () => {
    const results = suites.get('good.suite.ts') ?? [];
    expect(results.length).toBeGreaterThan(15);
    expect(results.filter((r) => r.status !== 'passed')).toEqual([]);
  });

  it('fails a connector that maps 429 to internal, naming the kind it got', () => {
    const failures = failed('rate-limit-as-internal.suite.ts');
    expect([...failures.keys()].sort()).toEqual([
      'errors: 429 with Retry-After → rate_limited, retried after the advised delay',
      'errors: 429 with retries off → rate_limited with retryAfterMs',
    ]);
    for (const message of failures.values()) {
      expect(message).toContain("[errors] 429 was mapped to kind 'internal'; expected 'rate_limited'");
    }
  });

  it('fails a connector that prints its credentials, without repeating the secret', () => {
    const failures = failed('leaks-secret.suite.ts');
    expect([...failures.keys()]).toEqual(['secrets: the canary never appears in errors, events, status or logs']);
    const message = [...failures.values()][0] ?? '';
    expect(message).toContain('[secrets] the secret leaked into console output');
    expect(message).toContain("authorization: 'Bearer <SECRET>'");
    expect(message).not.toMatch(/cnry[0-9a-f]{24}/);
  });

  it('fails a connector that retries a payment without an idempotency key', () => {
    const failures = failed('unsafe-payment-retries.suite.ts');
    expect([...failures.keys()]).toEqual([
      'idempotency: a non-idempotent operation is retried only with one idempotency key',
    ]);
    expect([...failures.values()][0]).toContain(
      '[idempotency] the side-effecting call was sent 2 times with no idempotency key after a 503',
    );
  });

  it('fails a connector whose health check and close do not touch the provider', () => {
    const failures = failed('lifecycle-flaws.suite.ts');
    expect([...failures.keys()].sort()).toEqual([
      'lifecycle: close is idempotent and leaves no sockets open',
      'lifecycle: unhealthy when the provider is down',
    ]);
    expect(failures.get('lifecycle: unhealthy when the provider is down')).toMatch(
      /\[lifecycle\] healthCheck reported 'healthy' with nothing listening at http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(failures.get('lifecycle: close is idempotent and leaves no sockets open')).toMatch(
      /\[lifecycle\] 1 connection\(s\) to the provider still open after close\(\) \(\d+ opened; .*\): close\(\) must release the SDK's connections/,
    );
  });

  it('fails a connector whose close() leaves its keep-alive agent pooling idle connections', () => {
    const failures = failed('leaks-keep-alive.suite.ts');
    expect([...failures.keys()]).toEqual(['lifecycle: close is idempotent and leaves no sockets open']);
    const message = [...failures.values()][0] ?? '';
    // The health check and the call share one pooled socket, which nobody closes.
    expect(message).toContain('[lifecycle] 1 connection(s) to the provider still open after close() (1 opened;');
    expect(message).toContain('keep-alive agent (or undici dispatcher) of its own and destroy it in close()');
  });
});
