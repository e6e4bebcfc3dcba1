/**
 * `pnpm new-connector` end to end, in a temp copy of the repository: generate one throwaway connector per auth kind
 * (one of them wired to an SDK), install, then build, typecheck, test, check and lint only those packages. If a
 * template drifts from the template's rules, from core's API or from the checks, this fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, copyRepo, log, plain, REPO, run, tempDir } from './support.js';

interface Case {
  id: string;
  args: string[];
}

let copy: string;
let cases: Case[];

beforeAll(() => {
  copy = tempDir('new-connector');
  const files = copyRepo(copy, { tracked: false });
  log(`copied ${files.length} files to ${copy}`);
  // The SDK case uses the Stripe SDK at the range the workspace already locks, so the install stays offline.
  const stripeRange = JSON.parse(readFileSync(join(copy, 'packages/connectors/stripe/package.json'), 'utf8'))
    .dependencies.stripe as string;
  cases = [
    { id: 'gen-check-key', args: ['--auth', 'api-key', '--sdk', 'none', '--base-url', 'https://api.gen.example'] },
    { id: 'gen-check-oauth', args: ['--auth', 'oauth2', '--sdk', 'none'] },
    { id: 'gen-check-open', args: ['--auth', 'none', '--sdk', 'none', '--base-url', 'https://open.gen.example/v2'] },
    { id: 'gen-check-sdk', args: ['--auth', 'sdk-credentials', '--sdk', `stripe@${stripeRange}`] },
  ];
  // Root dev tools first (biome formats what the generator writes), as on a developer's machine.
  run('pnpm', ['install', '--prefer-offline', '--ignore-scripts', '--filter', 'integrations-monorepo'], { cwd: copy });
});

afterAll(() => cleanup(copy));

describe('pnpm new-connector', () => {
  it('writes each package non-interactively from flags, with its changeset and SDK family', () => {
    for (const { id, args } of cases) {
      const out = run(
        'pnpm',
        ['new-connector', id, '--name', `Gen Check ${id.slice(10)}`, '--category', 'payments', ...args],
        { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(out.stdout).toContain(`wrote packages/connectors/${id} (formatted with biome)`);
      expect(readFileSync(join(copy, `.changeset/${id}-initial.md`), 'utf8')).toContain(`"@integrations/${id}": minor`);
    }
    const families = JSON.parse(readFileSync(join(copy, 'packages/tooling/src/sdk-families.json'), 'utf8'));
    expect(families['gen-check-sdk']).toEqual(['stripe', 'undici']);
    expect(families['gen-check-key']).toEqual(['undici']);
    log(`generated ${cases.map((c) => c.id).join(', ')}`);
  });

  it('installs', () => {
    const filters = cases.flatMap(({ id }) => ['--filter', `@integrations/${id}...`]);
    // New packages are not in the lockfile yet: this install writes them (CI would otherwise default to frozen).
    run(
      'pnpm',
      ['install', '--prefer-offline', '--no-frozen-lockfile', '--filter', 'integrations-monorepo', ...filters],
      {
        cwd: copy,
      },
    );
  });

  it('builds, typechecks, passes check:package and its tests (the conformance suite against its fake)', () => {
    const out = run(
      'pnpm',
      [
        'turbo',
        'run',
        'build',
        'typecheck',
        'check:package',
        '--filter=@integrations/gen-check-*',
        '--concurrency=2',
        '--output-logs=errors-only',
        // core, testkit and tooling come from the repository's turbo cache (read-only) when it has them.
        `--cache-dir=${join(REPO, '.turbo', 'cache')}`,
        '--cache=local:r,remote:',
      ],
      { cwd: copy },
    );
    expect(out.stdout).toMatch(/Tasks:\s+\d+ successful, \d+ total/);
    log(out.stdout.match(/Tasks:.*$/m)?.[0] ?? 'turbo finished');
    for (const { id } of cases) {
      // vitest's own summary per package: the conformance suite and the operation tests against the fake.
      const test = run('pnpm', ['--filter', `@integrations/${id}`, 'exec', 'vitest', 'run', '--reporter=verbose'], {
        cwd: copy,
        env: { NO_COLOR: '1' },
      });
      const summary = plain(`${test.stdout}${test.stderr}`);
      const tests = /Tests\s+(\d+) passed \((\d+)\)/.exec(summary);
      expect(tests, summary).not.toBeNull();
      expect(summary).toContain(`${id} conformance > errors: 429 with Retry-After`);
      log(`${id}: ${tests?.[1]} tests passed`);
    }
  });

  it('passes check-conventions, check-deps and biome', () => {
    const only = cases.flatMap(({ id }) => ['--only', id]);
    run('node', ['packages/tooling/bin/check-conventions.mjs', '.', ...only], { cwd: copy });
    run('node', ['packages/tooling/bin/check-deps.mjs', '.', ...only], { cwd: copy });
    run(
      'pnpm',
      [
        'exec',
        'biome',
        'check',
        ...cases.map(({ id }) => `packages/connectors/${id}`),
        'packages/tooling/src/sdk-families.json',
      ],
      { cwd: copy },
    );
  });
});
