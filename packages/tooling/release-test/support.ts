import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getPackages } from '@manypkg/get-packages';

/** The repository these tests run from: never written to, only copied. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child commands, without the npm/pnpm settings a `pnpm run` above us exported: each command
 * here reads only its own config (and what a test passes explicitly).
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_config_/i.test(key)));
}

/**
 * Runs a command to completion and throws with its output when it fails, so a failing step says what broke.
 * Output is kept, not streamed: each step prints one line of its own through `log`.
 */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions & { cwd: string }): RunResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
    env: { ...inheritedEnv(), ...options.env },
  });
  const out = { status: result.status ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  if (out.status !== 0) {
    const tail = `${out.stdout}\n${out.stderr}`.trim().split('\n').slice(-60).join('\n');
    throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${out.status}) in ${options.cwd}:\n${tail}`);
  }
  return out;
}

/** Output without terminal colours. */
export function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

export function log(message: string): void {
  process.stdout.write(`[release-test] ${message}\n`);
}

/** A temp dir removed by `cleanup`. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export function cleanup(...dirs: (string | undefined)[]): void {
  for (const dir of dirs) if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * Copies the repository's files (no node_modules, no build output) into `target`: what git tracks, plus untracked
 * files that are not ignored unless `tracked` (so local runs test the tree as it would be committed; in CI, a clean
 * clone, the two are the same).
 */
export function copyRepo(target: string, { tracked }: { tracked: boolean }): string[] {
  const args = ['ls-files', '-z', '--cached', ...(tracked ? [] : ['--others', '--exclude-standard'])];
  const files = run('git', args, { cwd: REPO })
    .stdout.split('\0')
    .filter((f) => f !== '' && existsSync(join(REPO, f)));
  for (const file of files) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(REPO, file), join(target, file));
  }
  return files;
}

/** Turns a temp copy into a git repository with one commit (changesets tags releases; biome reads .gitignore). */
export function gitInit(dir: string): void {
  const identity = ['-c', 'user.name=release-test', '-c', 'user.email=release-test@localhost'];
  run('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  run('git', ['add', '-A'], { cwd: dir });
  run('git', [...identity, 'commit', '-q', '-m', 'release test base'], { cwd: dir });
}

export interface WorkspacePackage {
  name: string;
  version: string;
  dir: string;
  private: boolean;
}

/** The workspace packages of a repository (or a copy of it). */
export async function workspacePackages(root: string): Promise<WorkspacePackage[]> {
  const { packages } = await getPackages(root);
  return packages
    .map((p) => ({
      name: p.packageJson.name,
      version: p.packageJson.version,
      dir: relative(root, p.dir),
      private: (p.packageJson as { private?: boolean }).private === true,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every package installed under `nodeModules`, nested ones included: name → versions. */
export function installedPackages(nodeModules: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const visit = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith('@') && entry.isDirectory()) {
        visit(path);
        continue;
      }
      const manifest = join(path, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name) found.set(pkg.name, (found.get(pkg.name) ?? new Set()).add(pkg.version ?? '?'));
      visit(join(path, 'node_modules'));
    }
  };
  visit(nodeModules);
  return found;
}

/** Size on disk, as `du -sk` counts it, in MiB. */
export function diskMiB(dir: string): number {
  const kib = Number(run('du', ['-sk', dir], { cwd: dir }).stdout.split('\t')[0]);
  return Math.round((kib / 1024) * 10) / 10;
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
