import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDeps, checkPackedManifest, inFamily, readFamilies } from '../src/deps.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(root: string, file: string, value: unknown): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

/** A small pnpm workspace: core, and connectors whose manifests each test shapes. */
function workspace(connectors: Record<string, Record<string, unknown>>, families: Record<string, string[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'check-deps-'));
  dirs.push(root);
  write(root, 'package.json', { name: 'fixture-root', private: true });
  write(root, 'pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - packages/connectors/*\n');
  write(root, 'packages/core/package.json', { name: '@integrations/core', version: '1.2.3' });
  write(root, 'packages/tooling/src/sdk-families.json', families);
  for (const [id, fields] of Object.entries(connectors)) {
    write(root, `packages/connectors/${id}/package.json`, {
      name: `@integrations/${id}`,
      version: '0.1.0',
      files: ['dist'],
      peerDependencies: { '@integrations/core': 'workspace:^' },
      devDependencies: { '@integrations/core': 'workspace:*' },
      ...fields,
    });
    write(root, `packages/connectors/${id}/dist/index.js`, 'export {};\n');
    // What `pnpm install` would link: pnpm reads the workspace package's version through it when packing.
    mkdirSync(join(root, `packages/connectors/${id}/node_modules/@integrations`), { recursive: true });
    symlinkSync(join(root, 'packages/core'), join(root, `packages/connectors/${id}/node_modules/@integrations/core`));
  }
  return root;
}

describe('checkPackedManifest', () => {
  const ok = { peerDependencies: { '@integrations/core': '^1.0.0' } };

  it('accepts the SDK family, a whole scope included', () => {
    expect(inFamily('@aws-sdk/lib-storage', ['@aws-sdk/*'])).toBe(true);
    expect(inFamily('@aws-sdk-evil/x', ['@aws-sdk/*'])).toBe(false);
    const manifest = { ...ok, dependencies: { '@aws-sdk/client-s3': '^3.0.0', '@aws-sdk/lib-storage': '^3.0.0' } };
    expect(checkPackedManifest('aws-s3', manifest, ['@aws-sdk/*'])).toEqual([]);
  });

  it('names a dependency outside the family, core outside peers, and a missing family', () => {
    const manifest = {
      dependencies: { stripe: '^23.0.0', lodash: '^4.0.0', '@integrations/core': '^1.0.0' },
      optionalDependencies: { '@azure/identity': '^4.0.0' },
    };
    expect(checkPackedManifest('stripe', manifest, ['stripe'])).toEqual([
      'dependencies has "lodash", outside stripe\'s SDK family (allowed: stripe)',
      'lists @integrations/core in dependencies: core must be a peerDependency only',
      'optionalDependencies has "@azure/identity", outside stripe\'s SDK family (allowed: stripe)',
      '@integrations/core is missing from peerDependencies',
    ]);
    expect(checkPackedManifest('spotify', { ...ok, dependencies: { axios: '^1.0.0' } }, [])).toEqual([
      'dependencies has "axios", outside spotify\'s SDK family (allowed: none)',
    ]);
    expect(checkPackedManifest('new-one', ok, undefined)).toEqual([
      'no SDK family declared for "new-one": add it to packages/tooling/src/sdk-families.json',
    ]);
  });

  it('fails a manifest that still has a workspace range or bundles its dependencies', () => {
    const manifest = { peerDependencies: { '@integrations/core': 'workspace:^' }, bundleDependencies: ['stripe'] };
    expect(checkPackedManifest('stripe', manifest, ['stripe'])).toEqual([
      'bundles dependencies into the tarball (bundleDependencies): users could not dedupe them',
      'peerDependencies["@integrations/core"] is still "workspace:^" after packing',
    ]);
  });
});

describe('checkDeps (packs with pnpm)', () => {
  it('passes connectors that depend on their own SDK, with workspace ranges rewritten by packing', () => {
    const root = workspace({ 'demo-pay': { dependencies: { stripe: '^23.1.0' } } }, { 'demo-pay': ['stripe'] });
    expect(checkDeps(root)).toEqual({ checked: ['@integrations/demo-pay@0.1.0'], problems: [] });
  });

  it('fails a fixture connector that pulls in another SDK and core', () => {
    const root = workspace(
      {
        'demo-pay': { dependencies: { stripe: '^23.1.0' } },
        'demo-mail': {
          dependencies: { '@sendgrid/mail': '^8.0.0', twilio: '^6.0.0', '@integrations/core': 'workspace:^' },
        },
      },
      { 'demo-pay': ['stripe'], 'demo-mail': ['@sendgrid/*'] },
    );
    const { checked, problems } = checkDeps(root);
    expect(checked).toEqual(['@integrations/demo-mail@0.1.0', '@integrations/demo-pay@0.1.0']);
    expect(problems).toEqual([
      'packages/connectors/demo-mail: dependencies has "twilio", outside demo-mail\'s SDK family (allowed: @sendgrid/*)',
      'packages/connectors/demo-mail: lists @integrations/core in dependencies: core must be a peerDependency only',
    ]);
    expect(checkDeps(root, { only: ['demo-pay'] }).problems).toEqual([]);
  });

  it('has a family for every connector in the repository', () => {
    const families = readFamilies(REPO);
    const base = join(REPO, 'packages/connectors');
    for (const id of readdirSync(base).filter((d) => existsSync(join(base, d, 'package.json')))) {
      expect(families[id], `${id} in sdk-families.json`).toBeInstanceOf(Array);
    }
    expect(families['aws-s3']).toContain('@aws-sdk/*');
  });
});
