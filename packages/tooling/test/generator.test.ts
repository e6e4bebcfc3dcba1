import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTOR_FILES } from '../src/checks.mjs';
import {
  fillMissing,
  GeneratorError,
  generateConnector,
  parseFlags,
  parseSdk,
  renderConnector,
  resolveOptions,
} from '../src/generator/index.mjs';
import { UNDICI_RANGE } from '../src/generator/templates.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(REPO, 'packages/tooling/bin/new-connector.mjs');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A root with what the generator reads: core's dev ranges and the SDK families. */
function fixtureRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'generator-'));
  dirs.push(root);
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - packages/connectors/*\n');
  mkdirSync(join(root, 'packages/core'), { recursive: true });
  cpSync(join(REPO, 'packages/core/package.json'), join(root, 'packages/core/package.json'));
  mkdirSync(join(root, 'packages/tooling/src'), { recursive: true });
  writeFileSync(join(root, 'packages/tooling/src/sdk-families.json'), '{\n  "stripe": ["stripe"]\n}\n');
  return root;
}

const flags = (auth: string, sdk = 'none', extra: string[] = []) =>
  parseFlags(['acme-pay', '--name', 'Acme Pay', '--category', 'payments', '--auth', auth, '--sdk', sdk, ...extra]);

const noLookup = () => {
  throw new Error('no registry lookups in unit tests');
};

describe('resolveOptions', () => {
  it('derives the names and the integration type from the flags', () => {
    const o = resolveOptions(flags('api-key', 'none', ['--base-url', 'https://api.acme.example']), {
      lookup: noLookup,
    });
    expect(o).toMatchObject({
      id: 'acme-pay',
      camel: 'acmePay',
      pascal: 'AcmePay',
      typeKey: 'ExternalApi',
      sdk: undefined,
      baseUrl: 'https://api.acme.example',
      envPrefix: 'ACME_PAY',
    });
    expect(
      resolveOptions(parseFlags(['s', '--name', 'S', '--category', 'storage', '--auth', 'none', '--sdk', 'none'])),
    ).toMatchObject({ typeKey: 'Storage' });
  });

  it('names what is wrong with each bad answer', () => {
    const bad = (argv: string[]) => () => resolveOptions(parseFlags(argv), { lookup: noLookup });
    const base = ['--name', 'A', '--category', 'payments', '--auth', 'api-key', '--sdk', 'none'];
    expect(bad(['Acme_Pay', ...base])).toThrow(/connector id "Acme_Pay" must be lowercase kebab-case/);
    expect(bad(['acme', ...base.slice(0, 4), '--auth', 'password', '--sdk', 'none'])).toThrow(
      /--auth "password" must be one of api-key, oauth2, sdk-credentials, none/,
    );
    expect(bad(['acme', ...base, '--base-url', 'ftp://x'])).toThrow(/--base-url "ftp:\/\/x" must be an absolute/);
    expect(bad(['acme', ...base.slice(0, 6), '--sdk', 'Not A Package'])).toThrow(/is not an npm package name/);
    expect(bad(['acme', '--name', 'A'])).toThrow(/missing --category, --auth, --sdk/);
    expect(bad(['acme', ...base, '--type', 'robot'])).toThrow(/--type "robot" must be one of external_api/);
  });

  it('takes an SDK range from the flag, or asks the registry for the latest version', () => {
    expect(parseSdk('@aws-sdk/client-s3@^3.1.0')).toEqual({ name: '@aws-sdk/client-s3', range: '^3.1.0' });
    expect(parseSdk('stripe')).toEqual({ name: 'stripe', range: undefined });
    expect(parseSdk('none')).toEqual({ name: undefined, range: undefined });
    const looked: string[] = [];
    const o = resolveOptions(flags('api-key', 'stripe'), {
      lookup: (name) => {
        looked.push(name);
        return '^23.1.0';
      },
    });
    expect(looked).toEqual(['stripe']);
    expect(o.sdkRange).toBe('^23.1.0');
  });
});

describe('fillMissing', () => {
  it('asks only for what the flags left out', async () => {
    const asked: string[] = [];
    const ask = {
      input: async ({ message, default: d }: { message: string; default?: string }) => {
        asked.push(message);
        if (message.startsWith('Category')) return 'email';
        return d ?? '';
      },
      select: async ({ message }: { message: string }) => {
        asked.push(message);
        return 'oauth2';
      },
    };
    const answers = await fillMissing(parseFlags(['beta-mail', '--sdk', 'none']), ask);
    expect(answers).toMatchObject({
      id: 'beta-mail',
      name: 'Beta Mail',
      category: 'email',
      auth: 'oauth2',
      sdk: 'none',
    });
    expect(asked).toEqual([
      'Display name:',
      'Category (payments, storage, email, messaging, analytics, ...):',
      'Authentication:',
      'Production base URL (empty: make baseUrl required):',
      'OAuth 2.0 token URL (empty: make tokenUrl required):',
    ]);
    expect(resolveOptions(answers, { lookup: noLookup })).toMatchObject({ baseUrl: undefined, tokenUrl: undefined });
  });
});

describe('renderConnector', () => {
  const render = (auth: string, sdk = 'none') =>
    renderConnector(fixtureRoot(), resolveOptions(flags(auth, `${sdk}`), { lookup: () => '^1.0.0' }));

  it('writes every file the conventions check requires, plus the fake, the operation tests and a changeset', () => {
    const { dir, files } = render('api-key');
    for (const file of CONNECTOR_FILES) expect(Object.keys(files)).toContain(`${dir}/${file}`);
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining([
        `${dir}/src/version.ts`,
        `${dir}/test/fake.ts`,
        `${dir}/test/operations.test.ts`,
        '.changeset/acme-pay-initial.md',
      ]),
    );
    expect(files['.changeset/acme-pay-initial.md']).toMatch(/^---\n"@integrations\/acme-pay": minor\n---\n/);
    expect(files[`${dir}/CHANGELOG.md`]).toBe('# @integrations/acme-pay\n');
    expect(files[`${dir}/src/version.ts`]).toBe(readFileSync(join(REPO, 'packages/core/src/version.ts'), 'utf8'));
  });

  it('declares the secret fields each auth kind implies, and the conformance test puts the canary there', () => {
    const secretOf = (auth: string) => {
      const { dir, files } = render(auth);
      const config = files[`${dir}/src/config.ts`] ?? '';
      return {
        secrets: [...config.matchAll(/(\w+): field\.secret\(/g)].map((m) => m[1]),
        test: files[`${dir}/test/connector.test.ts`] ?? '',
      };
    };
    expect(secretOf('api-key').secrets).toEqual(['apiKey']);
    expect(secretOf('api-key').test).toContain('apiKey: secret');
    expect(secretOf('oauth2').secrets).toEqual(['clientSecret']);
    expect(secretOf('oauth2').test).toContain('clientSecret: secret');
    expect(secretOf('sdk-credentials').secrets).toEqual(['keySecret']);
    expect(secretOf('none').secrets).toEqual([]);
    expect(secretOf('none').test).toContain('noSecrets: true');
  });

  it('uses core HTTP for --sdk none and a marked SDK client block otherwise', () => {
    const http = render('api-key');
    expect(http.files[`${http.dir}/src/connector.ts`]).toContain("from '@integrations/core/http'");
    expect(http.files[`${http.dir}/src/client.ts`]).toBeUndefined();
    // Its only runtime dependency is the HTTP engine it owns its connection pool with.
    expect(JSON.parse(http.files[`${http.dir}/package.json`] ?? '{}').dependencies).toEqual({ undici: UNDICI_RANGE });
    expect(http.files[`${http.dir}/src/transport.ts`]).toContain('close: () => (closing ??= agent.destroy())');

    const sdk = render('sdk-credentials', '@acme/sdk@^2.0.0');
    const client = sdk.files[`${sdk.dir}/src/client.ts`] ?? '';
    expect(client).toContain("import * as sdk from '@acme/sdk';");
    expect(client).toContain('The provider client: finish this block.');
    expect(sdk.files[`${sdk.dir}/src/connector.ts`]).toContain("from './client.js'");
    const manifest = JSON.parse(sdk.files[`${sdk.dir}/package.json`] ?? '{}');
    expect(manifest.dependencies).toEqual({ '@acme/sdk': '^2.0.0', undici: UNDICI_RANGE });
    expect(manifest.peerDependencies).toEqual({ '@integrations/core': 'workspace:^' });
    const core = JSON.parse(readFileSync(join(REPO, 'packages/core/package.json'), 'utf8'));
    for (const tool of ['@types/node', 'tsup', 'typescript', 'vitest']) {
      expect(manifest.devDependencies[tool], tool).toBe(core.devDependencies[tool]);
    }
  });

  it('pins undici at the range the other connectors use', () => {
    const base = join(REPO, 'packages/connectors');
    const ranges = readdirSync(base)
      .map((id) => join(base, id, 'package.json'))
      .filter((file) => existsSync(file))
      .map((file) => JSON.parse(readFileSync(file, 'utf8')).dependencies?.undici as string | undefined)
      .filter((range) => range !== undefined);
    for (const range of ranges) expect(range).toBe(UNDICI_RANGE);
  });
});

describe('generateConnector', () => {
  it('writes the package and registers its SDK family, and refuses to overwrite', () => {
    const root = fixtureRoot();
    const o = resolveOptions(flags('oauth2', 'stripe@^23.1.0'), { lookup: noLookup });
    const { dir, files } = generateConnector(root, o, { format: false });
    expect(existsSync(join(root, dir, 'src/client.ts'))).toBe(true);
    expect(files).toContain('packages/tooling/src/sdk-families.json');
    expect(JSON.parse(readFileSync(join(root, 'packages/tooling/src/sdk-families.json'), 'utf8'))).toEqual({
      'acme-pay': ['stripe', 'undici'],
      stripe: ['stripe'],
    });
    expect(() => generateConnector(root, o, { format: false })).toThrow(GeneratorError);
    expect(() => generateConnector(root, o, { format: false })).toThrow(
      /packages\/connectors\/acme-pay already exists/,
    );
  });
});

describe('new-connector bin', () => {
  it('without a terminal, fails naming the missing flags instead of prompting', () => {
    const root = fixtureRoot();
    const result = spawnSync(process.execPath, [BIN, 'acme-pay', '--root', root, '--name', 'Acme'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('new-connector: missing --category, --auth, --sdk');
    expect(existsSync(join(root, 'packages/connectors/acme-pay'))).toBe(false);
  });

  it('runs fully from flags', () => {
    const root = fixtureRoot();
    const result = spawnSync(
      process.execPath,
      [
        BIN,
        'acme-pay',
        '--root',
        root,
        '--name',
        'Acme Pay',
        '--category',
        'payments',
        '--auth',
        'none',
        '--sdk',
        'none',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('new-connector: wrote packages/connectors/acme-pay');
    expect(existsSync(join(root, 'packages/connectors/acme-pay/test/fake.ts'))).toBe(true);
  });
});
