import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkChangesets, resolveBase } from '../src/changesets.mjs';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'check-changesets.mjs');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function write(root: string, file: string, content: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
}

const manifest = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, version: '0.1.0', ...extra }, null, 2);
const changeset = (releases: Record<string, string>) =>
  `---\n${Object.entries(releases)
    .map(([name, bump]) => `"${name}": ${bump}`)
    .join('\n')}\n---\n\nA change.\n`;

/** A workspace with two publishable packages and a private one, committed on main. */
function repo(): string {
  const root = mkdtempSync(join(tmpdir(), 'check-changesets-'));
  dirs.push(root);
  write(root, 'package.json', manifest('fixture-root', { private: true }));
  write(root, 'pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - packages/connectors/*\n');
  write(root, 'packages/core/package.json', manifest('@integrations/core'));
  write(root, 'packages/core/src/index.ts', 'export const a = 1;\n');
  write(root, 'packages/connectors/stripe/package.json', manifest('@integrations/stripe'));
  write(root, 'packages/connectors/stripe/src/index.ts', 'export const b = 1;\n');
  write(root, 'packages/tooling/package.json', manifest('@integrations/tooling', { private: true }));
  write(root, 'packages/tooling/src/index.mjs', 'export const c = 1;\n');
  write(root, '.changeset/README.md', '# Changesets\n');
  write(root, '.changeset/config.json', '{}\n');
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'base');
  return root;
}

function commitAll(root: string, message: string): void {
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', message);
}

describe('resolveBase', () => {
  it('on main with no remote and no tag, compares with the empty tree: every package is a first release', () => {
    const root = repo();
    expect(resolveBase(root)).toEqual({
      sha: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
      how: 'first release (no release tag yet)',
    });
  });

  it('on a branch, compares with the merge base of main; with a tag, with the last release', () => {
    const root = repo();
    const main = git(root, 'rev-parse', 'HEAD');
    git(root, 'checkout', '-q', '-b', 'feature');
    write(root, 'packages/core/src/index.ts', 'export const a = 2;\n');
    commitAll(root, 'feature work');
    expect(resolveBase(root)).toEqual({ sha: main, how: 'merge base of HEAD and main' });

    git(root, 'checkout', '-q', 'main');
    git(root, 'tag', '@integrations/core@0.1.0');
    write(root, 'packages/core/src/index.ts', 'export const a = 3;\n');
    commitAll(root, 'after the release');
    expect(resolveBase(root)).toEqual({ sha: main, how: 'last release tag @integrations/core@0.1.0' });
  });

  it('prefers origin/main when there is a remote', () => {
    const upstream = repo();
    const root = mkdtempSync(join(tmpdir(), 'check-changesets-clone-'));
    dirs.push(root);
    git(root, 'clone', '-q', upstream, '.');
    const main = git(root, 'rev-parse', 'HEAD');
    write(root, 'packages/connectors/stripe/src/index.ts', 'export const b = 2;\n');
    commitAll(root, 'local work on main');
    expect(resolveBase(root)).toEqual({ sha: main, how: 'merge base of HEAD and origin/main' });
  });

  it('takes an explicit base such as HEAD~1, and rejects one that does not exist', () => {
    const root = repo();
    write(root, 'packages/core/src/index.ts', 'export const a = 2;\n');
    commitAll(root, 'second');
    expect(resolveBase(root, { base: 'HEAD~1' })).toMatchObject({ how: 'merge base of HEAD and HEAD~1' });
    expect(() => resolveBase(root, { base: 'no-such-branch' })).toThrow(/base "no-such-branch" is not a commit/);
  });
});

describe('checkChangesets', () => {
  it('fails a changed publishable package without a changeset, naming it and its files', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '-b', 'feature');
    write(root, 'packages/connectors/stripe/src/index.ts', 'export const b = 2;\n');
    write(root, 'packages/connectors/stripe/src/new.ts', 'export const n = 1;\n');
    commitAll(root, 'stripe change');
    const result = await checkChangesets(root);
    expect(result.missing).toEqual([{ name: '@integrations/stripe', files: ['src/index.ts', 'src/new.ts'] }]);
    expect(result.problems).toEqual([]);
  });

  it('passes once a changeset names the package, and ignores private packages and test-only changes', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '-b', 'feature');
    write(root, 'packages/connectors/stripe/src/index.ts', 'export const b = 2;\n');
    write(root, 'packages/core/test/a.test.ts', 'it.todo;\n');
    write(root, 'packages/core/README.md', '# core\n');
    write(root, 'packages/tooling/src/index.mjs', 'export const c = 2;\n');
    // Not committed yet: the working tree counts too, so the check works before a commit.
    write(root, '.changeset/stripe-fix.md', changeset({ '@integrations/stripe': 'patch' }));
    const result = await checkChangesets(root);
    expect(result).toMatchObject({ changed: ['@integrations/stripe'], missing: [], problems: [] });
  });

  it('counts a package whose version was already bumped (changesets consumed) as covered', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '-b', 'release');
    write(root, 'packages/core/package.json', JSON.stringify({ name: '@integrations/core', version: '0.2.0' }));
    write(root, 'packages/core/CHANGELOG.md', '# @integrations/core\n\n## 0.2.0\n');
    write(root, 'packages/core/src/index.ts', 'export const a = 2;\n');
    commitAll(root, 'version packages');
    expect(await checkChangesets(root)).toMatchObject({ changed: ['@integrations/core'], missing: [] });
  });

  it('reports changesets that name unknown or private packages, or cannot be parsed', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '-b', 'feature');
    write(root, '.changeset/typo.md', changeset({ '@integrations/strpe': 'patch' }));
    write(root, '.changeset/private.md', changeset({ '@integrations/tooling': 'minor' }));
    write(root, '.changeset/broken.md', '---\n"@integrations/core": huge\n---\n\nx\n');
    const { problems } = await checkChangesets(root);
    expect(problems).toHaveLength(3);
    expect(problems).toContain('typo.md: names "@integrations/strpe", which is not a workspace package');
    expect(problems).toContain('private.md: names "@integrations/tooling", which is private');
    expect(problems.find((p) => p.startsWith('.changeset/broken.md: '))).toBeDefined();
  });
});

describe('check-changesets bin', () => {
  const bin = (root: string, ...args: string[]) =>
    spawnSync(process.execPath, [BIN, '--root', root, ...args], { encoding: 'utf8', cwd: root });

  it('exits 1 naming the package, 0 once a changeset names it; before any release, every package needs one', () => {
    const root = repo();
    const unreleased = bin(root);
    expect(unreleased.status).toBe(1);
    expect(unreleased.stderr).toContain('against the first release (no release tag yet)');
    expect(unreleased.stderr).toContain('@integrations/core changed (package.json, src/index.ts)');
    expect(unreleased.stderr).toContain('@integrations/stripe changed');
    write(root, 'packages/core/src/index.ts', 'export const a = 2;\n');
    commitAll(root, 'core change');
    const failing = bin(root, 'HEAD~1');
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain('@integrations/core changed (src/index.ts) but no changeset names it');
    write(root, '.changeset/core.md', changeset({ '@integrations/core': 'minor' }));
    const passing = bin(root, 'HEAD~1');
    expect(passing.status).toBe(0);
    expect(passing.stdout).toContain('1 changed publishable package(s), each with a changeset (@integrations/core)');
  });
});
