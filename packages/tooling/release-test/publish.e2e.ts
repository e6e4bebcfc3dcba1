/**
 * Publishing for real, to a local registry: every publishable package goes through `changeset publish` (pnpm
 * publish underneath, which turns `workspace:` ranges into versions) into Verdaccio on 127.0.0.1. Then a project
 * outside the workspace installs core and one connector from it and uses them, and a patch changeset for one
 * connector releases that connector alone. Works on a temp copy of the repository; the tree itself is not touched.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inFamily, readFamilies } from '../src/deps.mjs';
import {
  cleanup,
  copyRepo,
  diskMiB,
  gitInit,
  installedPackages,
  log,
  REPO,
  run,
  tempDir,
  type WorkspacePackage,
  workspacePackages,
  writeJson,
} from './support.js';

interface Verdaccio {
  url: string;
  addUser(name: string, password: string): Promise<string>;
  npmrc(token: string, scope?: string): string;
  stop(): Promise<void>;
}

/** Provider SDKs that must never arrive with core and the Stripe connector. */
const OTHER_SDKS = [/^@aws-sdk\//, /^@azure\//, /^@google-cloud\//, /^twilio$/, /^@sendgrid\//];
const BUMPED = '@integrations/stripe';
// Reuse the repository's turbo cache read-only: in CI the tree was just built, so the copy's builds are cache hits.
const TURBO_CACHE = [
  `--cache-dir=${join(REPO, '.turbo', 'cache')}`,
  '--cache=local:r,remote:',
  '--output-logs=errors-only',
];

let copy: string;
let storage: string;
let consumer: string;
let everything: string;
let userconfig: string;
let registry: Verdaccio | undefined;
let env: Record<string, string>;
let publishable: WorkspacePackage[];
const stripeBefore = readFileSync(join(REPO, 'packages/connectors/stripe/package.json'), 'utf8');

/** `npm view` against Verdaccio only; undefined when the package is not there. */
function registryVersions(name: string): string[] | undefined {
  try {
    const out = run('npm', ['view', name, 'versions', '--json', `--registry=${registry?.url}/`], {
      cwd: consumer,
      env,
    });
    const parsed = JSON.parse(out.stdout) as string | string[];
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return undefined;
  }
}

function changesetBin(): string {
  return join(copy, 'node_modules', '.bin', 'changeset');
}

beforeAll(async () => {
  copy = tempDir('release-copy');
  storage = tempDir('release-verdaccio');
  consumer = tempDir('release-consumer');
  everything = tempDir('release-everything');
  userconfig = join(tempDir('release-npmrc'), '.npmrc');
  // A user config of our own: no token or registry of the machine's user leaks in.
  writeFileSync(userconfig, '');

  // What a release is cut from: the repository's files (in CI, a clean clone), installed from the lockfile.
  const files = copyRepo(copy, { tracked: false });
  gitInit(copy);
  publishable = (await workspacePackages(copy)).filter((p) => !p.private);
  log(`copied ${files.length} files; ${publishable.length} publishable packages`);
  run('pnpm', ['install', '--prefer-offline', '--frozen-lockfile'], { cwd: copy });
  // The registry comes from the copy's own testkit, built first.
  run('pnpm', ['turbo', 'run', 'build', '--filter=@integrations/testkit...', ...TURBO_CACHE], { cwd: copy });
  const kit = (await import(pathToFileURL(join(copy, 'packages/testkit/dist/index.js')).href)) as {
    startVerdaccio(options: { storage: string }): Promise<Verdaccio>;
  };
  registry = await kit.startVerdaccio({ storage });
  const token = await registry.addUser('release-test', 'release-test-password');
  // The scope goes to Verdaccio, with the token; everything else keeps the normal registry.
  writeFileSync(join(copy, '.npmrc'), registry.npmrc(token));
  env = {
    npm_config_userconfig: userconfig,
    // changesets reads the scope's registry from here, not from .npmrc.
    'npm_config_@integrations:registry': `${registry.url}/`,
    NO_COLOR: '1',
  };
  log(`verdaccio on ${registry.url}`);
});

afterAll(async () => {
  await registry?.stop();
  cleanup(copy, storage, consumer, everything, userconfig ? join(userconfig, '..') : undefined);
});

describe('release through a real registry', () => {
  it('pnpm release builds, checks and publishes every publishable package, with workspace ranges rewritten', () => {
    const out = run('pnpm', ['release'], {
      cwd: copy,
      env: { ...env, TURBO_CACHE_DIR: join(REPO, '.turbo', 'cache'), TURBO_CACHE: 'local:r,remote:' },
    });
    expect(out.stdout).toContain('check-conventions: every connector has the shared layout and exports');
    expect(out.stdout).toMatch(/check-deps: \d+ packed connector manifest/);
    for (const p of publishable) {
      expect(registryVersions(p.name), `${p.name} in the registry`).toEqual([p.version]);
    }
    // pnpm publish turned `workspace:^` into a range users can install.
    const peers = JSON.parse(
      run('npm', ['view', BUMPED, 'peerDependencies', '--json', `--registry=${registry?.url}/`], { cwd: consumer, env })
        .stdout,
    ) as Record<string, string>;
    const core = publishable.find((p) => p.name === '@integrations/core');
    expect(peers).toEqual({ '@integrations/core': `^${core?.version}` });
    expect(out.stdout + out.stderr).toMatch(/published|success/i);
    log(`published ${publishable.map((p) => `${p.name}@${p.version}`).join(', ')}`);
  });

  it('a project outside the workspace installs core and stripe alone, and creates a customer', () => {
    writeJson(join(consumer, 'package.json'), { name: 'release-consumer', private: true, type: 'module' });
    writeFileSync(join(consumer, '.npmrc'), `@integrations:registry=${registry?.url}/\n`);
    run(
      'npm',
      ['install', '@integrations/core', BUMPED, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
      { cwd: consumer, env },
    );
    const installed = installedPackages(join(consumer, 'node_modules'));
    expect(installed.has('@integrations/core')).toBe(true);
    expect(installed.has(BUMPED)).toBe(true);
    expect(installed.has('stripe')).toBe(true);
    const strays = [...installed.keys()].filter(
      (name) =>
        OTHER_SDKS.some((pattern) => pattern.test(name)) ||
        (name.startsWith('@integrations/') && name !== '@integrations/core' && name !== BUMPED),
    );
    expect(strays, 'packages core + stripe must not pull in').toEqual([]);

    // The installed packages against the in-repo Stripe stand-in, from the (copied) workspace's built testkit.
    const fake = pathToFileURL(join(copy, 'packages/testkit/dist/fakes/stripe.js')).href;
    writeFileSync(
      join(consumer, 'create-customer.mjs'),
      `import { createRegistry } from '@integrations/core/registry';
import { stripe } from '@integrations/stripe';
import { startStripeFake } from ${JSON.stringify(fake)};

const fake = await startStripeFake();
const registry = createRegistry();
try {
  const payments = registry.register(stripe, { name: 'stripe', config: { apiKey: 'sk_test_release', apiBaseUrl: fake.url } });
  await registry.enableAll();
  const customer = await payments.customers.create({ email: 'ada@example.com', name: 'Ada Lovelace' });
  console.log(JSON.stringify({
    id: customer.id,
    email: customer.email,
    core: import.meta.resolve('@integrations/core'),
    connector: import.meta.resolve('@integrations/stripe'),
  }));
} finally {
  await registry.close();
  await fake.stop();
}
`,
    );
    const result = JSON.parse(run('node', ['create-customer.mjs'], { cwd: consumer, env }).stdout.trim()) as Record<
      string,
      string
    >;
    expect(result.id).toMatch(/^cus_/);
    expect(result.email).toBe('ada@example.com');
    // Both came from the consumer's own node_modules, i.e. from the registry, not from the workspace.
    expect(result.core).toContain(`${consumer}/node_modules/@integrations/core/`);
    expect(result.connector).toContain(`${consumer}/node_modules/@integrations/stripe/`);
    log(
      `core + stripe: ${installed.size} packages, ${diskMiB(join(consumer, 'node_modules'))} MiB on disk; created ${result.id}`,
    );
  });

  it('core + every connector brings every SDK (what the line above is measured against)', () => {
    const connectors = publishable.filter((p) => p.dir.startsWith('packages/connectors/')).map((p) => p.name);
    writeJson(join(everything, 'package.json'), { name: 'release-everything', private: true, type: 'module' });
    writeFileSync(join(everything, '.npmrc'), `@integrations:registry=${registry?.url}/\n`);
    run(
      'npm',
      [
        'install',
        '@integrations/core',
        ...connectors,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
      ],
      { cwd: everything, env },
    );
    const installed = installedPackages(join(everything, 'node_modules'));
    const lean = installedPackages(join(consumer, 'node_modules'));
    for (const name of connectors) expect(installed.has(name), name).toBe(true);
    // Every connector's SDK family is there, so the stray check above looks for what really arrives with them.
    const families = readFamilies(copy);
    for (const name of connectors) {
      for (const pattern of families[name.replace('@integrations/', '')] ?? []) {
        expect(
          [...installed.keys()].some((dep) => inFamily(dep, [pattern])),
          `${name} brings ${pattern}`,
        ).toBe(true);
      }
    }
    expect(installed.size).toBeGreaterThan(lean.size);
    log(
      `core + all ${connectors.length} connectors: ${installed.size} packages, ` +
        `${diskMiB(join(everything, 'node_modules'))} MiB on disk (core + stripe: ${lean.size} packages, ` +
        `${diskMiB(join(consumer, 'node_modules'))} MiB)`,
    );
  });

  it('a patch changeset for one connector releases that connector and nothing else', () => {
    const identity = ['-c', 'user.name=release-test', '-c', 'user.email=release-test@localhost'];
    // After the release above, the pending changesets are spent: start from none, then add one patch.
    for (const file of run('git', ['ls-files', '.changeset/*.md'], { cwd: copy }).stdout.split('\n')) {
      if (file && !file.endsWith('README.md')) run('git', ['rm', '-q', file], { cwd: copy });
    }
    mkdirSync(join(copy, '.changeset'), { recursive: true });
    writeFileSync(
      join(copy, '.changeset/release-test-patch.md'),
      `---\n"${BUMPED}": patch\n---\n\nRelease test: a patch release of one connector.\n`,
    );
    run('git', ['add', '-A'], { cwd: copy });
    run('git', [...identity, 'commit', '-q', '-m', 'patch changeset'], { cwd: copy });

    run(changesetBin(), ['version'], { cwd: copy, env });
    const versionNow = (p: WorkspacePackage) =>
      JSON.parse(readFileSync(join(copy, p.dir, 'package.json'), 'utf8')).version as string;
    const moved = publishable.filter((p) => versionNow(p) !== p.version).map((p) => p.name);
    expect(moved, 'packages changeset version bumped').toEqual([BUMPED]);
    const stripe = publishable.find((p) => p.name === BUMPED);
    const bumped = stripe ? versionNow(stripe) : '';
    expect(readFileSync(join(copy, stripe?.dir ?? '', 'CHANGELOG.md'), 'utf8')).toContain(
      'Release test: a patch release of one connector.',
    );
    run('git', ['add', '-A'], { cwd: copy });
    run('git', [...identity, 'commit', '-q', '-m', 'version packages'], { cwd: copy });

    run(changesetBin(), ['publish'], { cwd: copy, env });
    for (const p of publishable) {
      const expected = p.name === BUMPED ? [p.version, bumped] : [p.version];
      expect(registryVersions(p.name), `${p.name} versions in the registry`).toEqual(expected);
    }
    // The repository itself was never written to.
    expect(readFileSync(join(REPO, 'packages/connectors/stripe/package.json'), 'utf8')).toBe(stripeBefore);
    expect(existsSync(join(REPO, '.changeset/release-test-patch.md'))).toBe(false);
    log(`patch release: ${BUMPED} ${stripe?.version} → ${bumped}; ${publishable.length - 1} other packages unchanged`);
  });
});
