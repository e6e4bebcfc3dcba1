import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { detectStandIn, END, replaceBetweenMarkers, START, updateCatalog } from '../src/catalog.mjs';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'catalog.mjs');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(root: string, file: string, content: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
}

/** A built connector: package.json, dist/index.js with its definition, and its conformance test. */
function connector(root: string, id: string, camel: string, options: { version?: string; test: string }) {
  const dir = `packages/connectors/${id}`;
  write(
    root,
    `${dir}/package.json`,
    JSON.stringify({
      name: `@integrations/${id}`,
      version: options.version ?? '0.1.0',
      dependencies: { stripe: '^23.1.0' },
    }),
  );
  write(
    root,
    `${dir}/dist/index.js`,
    `export const ${camel} = { id: '${id}', displayName: 'Demo ${id}', category: 'payments', operations: { 'charges.create': { idempotent: false }, ping: { idempotent: true } } };\n`,
  );
  write(root, `${dir}/test/connector.test.ts`, options.test);
}

function fixture(): string {
  const root = mkdtempSync(join(tmpdir(), 'catalog-'));
  dirs.push(root);
  write(root, 'README.md', `# Project\n\nIntro.\n\n## Connectors\n\n${START}\n${END}\n\n## After\n\nMore.\n`);
  connector(root, 'demo-pay', 'demoPay', {
    test: "import { startStripeFake } from '@integrations/testkit/fakes/stripe';\n",
  });
  connector(root, 'demo-sms', 'demoSms', {
    test: "import { describeConnector, specPath, startPrism } from '@integrations/testkit';\nconst SPEC = specPath('twilio/twilio_api_v2010.json');\nstandIn: () => startPrism(SPEC),\n",
  });
  return root;
}

describe('detectStandIn', () => {
  it('reads the stand-in from how the conformance test starts it', () => {
    expect(detectStandIn("standIn: () => startPrism(specPath('spotify/fixed-spotify-open-api.yml'))")).toBe(
      'Prism (fixed-spotify-open-api.yml)',
    );
    expect(detectStandIn('const s = await startS3rver();')).toBe('s3rver');
    expect(detectStandIn('standIn: () => startAzurite({ inMemory: true })')).toBe('Azurite');
    expect(detectStandIn("import { startBigQueryFake } from '@integrations/testkit/fakes/bigquery';")).toBe(
      'in-repo fake (testkit/fakes/bigquery)',
    );
    expect(detectStandIn("import { errorBody, startAcmeFake } from './fake.js';")).toBe('in-repo fake (test/fake.ts)');
    expect(detectStandIn("standIn: async () => ({ url: 'redis://127.0.0.1:6379', stop: async () => {} })")).toBe(
      'Redis on 127.0.0.1:6379',
    );
    expect(detectStandIn("import { describeConnector } from '@integrations/testkit';")).toBeUndefined();
  });
});

describe('updateCatalog', () => {
  it('writes the table between the markers only, from the built definitions and package.json', async () => {
    const root = fixture();
    expect(await updateCatalog(root)).toEqual({ stale: true, problems: [], rows: 2 });
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme.startsWith('# Project\n\nIntro.\n\n## Connectors\n\n<!-- catalog:start -->\n')).toBe(true);
    expect(readme.endsWith('<!-- catalog:end -->\n\n## After\n\nMore.\n')).toBe(true);
    expect(readme).toContain(
      '| [`@integrations/demo-pay`](packages/connectors/demo-pay) (Demo demo-pay) | payments | 0.1.0 | `stripe` ^23.1.0 | 2: `charges.create`, `ping` | in-repo fake (testkit/fakes/stripe) |',
    );
    expect(readme).toContain('| Prism (twilio_api_v2010.json) |');
    expect(await updateCatalog(root, { check: true })).toEqual({ stale: false, problems: [], rows: 2 });
  });

  it('check fails when a version changed and the catalog was not regenerated, and names unbuilt connectors', async () => {
    const root = fixture();
    await updateCatalog(root);
    connector(root, 'demo-pay', 'demoPay', {
      version: '0.2.0',
      test: "import { startStripeFake } from '@integrations/testkit/fakes/stripe';\n",
    });
    const before = readFileSync(join(root, 'README.md'), 'utf8');
    expect(await updateCatalog(root, { check: true })).toMatchObject({ stale: true, problems: [] });
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toBe(before);

    write(root, 'packages/connectors/demo-new/package.json', JSON.stringify({ name: '@integrations/demo-new' }));
    expect((await updateCatalog(root, { check: true })).problems).toEqual([
      'packages/connectors/demo-new: dist/index.js not found: build before generating the catalog',
    ]);
  });

  it('says where the markers are missing', () => {
    expect(() => replaceBetweenMarkers('# no markers\n', 'x')).toThrow(/README\.md has no <!-- catalog:start -->/);
    expect(replaceBetweenMarkers(`a\n${START}\nold\n${END}\nb`, 'new')).toBe(`a\n${START}\nnew\n${END}\nb`);
  });
});

describe('catalog bin', () => {
  it('--check exits 1 on a stale catalog and 0 after `catalog`', () => {
    const root = fixture();
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, root, ...args], { encoding: 'utf8' });
    const stale = run('--check');
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain('the connector catalog in README.md is stale: run `pnpm catalog`');
    expect(run().stdout).toContain('catalog: README.md updated (2 connector(s))');
    const fresh = run('--check');
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toContain('check-catalog: README.md lists all 2 connector(s) as built');
  });
});
