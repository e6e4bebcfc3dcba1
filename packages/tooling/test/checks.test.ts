import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTOR_FILES, checkConventions, checkPackage, connectorNames } from '../src/checks.mjs';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tooling-checks-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(root: string, file: string, content: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
}

const goodManifest = (name: string) => ({
  name,
  version: '1.0.0',
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  files: ['dist'],
});

describe('checkPackage', () => {
  it('passes a package whose exports map points at real files', async () => {
    const dir = tempDir();
    write(dir, 'package.json', JSON.stringify(goodManifest('good-pkg')));
    write(dir, 'dist/index.js', 'export const x = 1;\n');
    write(dir, 'dist/index.d.ts', 'export declare const x = 1;\n');
    const result = await checkPackage(dir, { attw: false });
    expect(result.problems).toEqual([]);
  });

  it('fails a package whose exports map points at a file that does not exist', async () => {
    const dir = tempDir();
    const manifest = goodManifest('broken-pkg');
    manifest.exports['.'].default = './dist/missing.js';
    write(dir, 'package.json', JSON.stringify(manifest));
    write(dir, 'dist/index.js', 'export const x = 1;\n');
    write(dir, 'dist/index.d.ts', 'export declare const x = 1;\n');
    const result = await checkPackage(dir, { attw: false });
    expect(result.problems.join('\n')).toMatch(/publint error: .*dist\/missing\.js/);
  });

  it('fails a package whose types condition comes after default (types would never be found)', async () => {
    const dir = tempDir();
    const manifest = {
      ...goodManifest('misordered-pkg'),
      exports: { '.': { default: './dist/index.js', types: './dist/index.d.ts' } },
    };
    write(dir, 'package.json', JSON.stringify(manifest));
    write(dir, 'dist/index.js', 'export const x = 1;\n');
    write(dir, 'dist/index.d.ts', 'export declare const x = 1;\n');
    const result = await checkPackage(dir, { attw: false });
    expect(result.problems.join('\n')).toContain('pkg.exports["."].types should be the first');
  });

  it('fails a package whose ESM entry is typed by a CommonJS declaration file (attw)', async () => {
    const dir = tempDir();
    const manifest = {
      ...goodManifest('false-cjs-pkg'),
      exports: { '.': { types: './dist/index.d.cts', default: './dist/index.js' } },
    };
    write(dir, 'package.json', JSON.stringify(manifest));
    write(dir, 'dist/index.js', 'export const x = 1;\n');
    write(dir, 'dist/index.d.cts', 'export declare const x = 1;\n');
    const result = await checkPackage(dir);
    expect(result.problems.join('\n')).toMatch(/attw: [\s\S]*Masquerading as CJS/);
  });

  it('skips private packages', async () => {
    const dir = tempDir();
    write(dir, 'package.json', JSON.stringify({ name: 'internal', private: true }));
    expect(await checkPackage(dir)).toEqual({ skipped: true, problems: [] });
  });
});

/** Writes a connector that satisfies every convention, so each test can break exactly one thing. */
function writeConnector(root: string, id: string): string {
  const dir = join(root, 'packages', 'connectors', id);
  const { camel, pascal } = connectorNames(id);
  for (const file of CONNECTOR_FILES) write(dir, file, '');
  write(
    dir,
    'package.json',
    JSON.stringify({
      ...goodManifest(`@integrations/${id}`),
      peerDependencies: { '@integrations/core': 'workspace:^' },
      scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc', 'check:package': 'check-package' },
    }),
  );
  write(
    dir,
    'src/index.ts',
    `export { ${camel} } from './connector.js';\nexport type { ${pascal}Instance } from './connector.js';\nexport { ${camel}ConfigSchema, type ${pascal}Config } from './config.js';\n`,
  );
  write(
    dir,
    'dist/index.js',
    `export const ${camel} = { id: '${id}', displayName: 'Demo', type: 'external_api', category: 'testing', specificationVersion: 'v1', operations: { ping: { idempotent: true } }, create() {} };\nexport const ${camel}ConfigSchema = {};\nexport const VERSION = '1.0.0';\n`,
  );
  return dir;
}

describe('checkConventions', () => {
  it('passes a connector with every required file and export', async () => {
    const root = tempDir();
    writeConnector(root, 'demo-api');
    expect(await checkConventions(root)).toEqual([]);
  });

  it('fails a connector missing src/errors.ts', async () => {
    const root = tempDir();
    const dir = writeConnector(root, 'demo-api');
    rmSync(join(dir, 'src/errors.ts'));
    expect(await checkConventions(root)).toEqual(['packages/connectors/demo-api: missing required file src/errors.ts']);
  });

  it('fails a connector that does not export its definition under the camel-case name', async () => {
    const root = tempDir();
    const dir = writeConnector(root, 'demo-api');
    write(dir, 'dist/index.js', "export const demoApiConfigSchema = {};\nexport const VERSION = '1.0.0';\n");
    expect(await checkConventions(root)).toContain(
      'packages/connectors/demo-api: must export the connector definition as "demoApi"',
    );
  });

  it('fails a connector that depends on another connector or bundles core', async () => {
    const root = tempDir();
    const dir = writeConnector(root, 'demo-api');
    const manifest = {
      ...goodManifest('@integrations/demo-api'),
      scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc', 'check:package': 'check-package' },
      dependencies: { '@integrations/core': '^1.0.0', '@integrations/stripe': '^1.0.0' },
    };
    write(dir, 'package.json', JSON.stringify(manifest));
    const problems = await checkConventions(root);
    expect(problems).toContain('packages/connectors/demo-api: @integrations/core must be a peer dependency');
    expect(problems).toContain(
      'packages/connectors/demo-api: must not depend on @integrations/stripe (connectors depend on core only)',
    );
  });
});
