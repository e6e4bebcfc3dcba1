import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import parseChangeset from '@changesets/parse';
import { getPackages } from '@manypkg/get-packages';

/** Run git in `cwd`; returns trimmed stdout, or undefined when git fails (a missing ref, no repository). */
function git(cwd, args) {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** Git's well-known empty tree: diffing against it lists every tracked file. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

const revParse = (cwd, ref) => git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);

/**
 * The commit to compare against, and how it was chosen:
 * an explicit base (branch, tag, HEAD~N) → its merge base with HEAD; else the merge base with origin/main (or, on
 * another branch, with the local main), unless that is HEAD on main itself; else the last release tag before HEAD;
 * else (nothing released yet) the empty tree.
 * @returns {{ sha: string, how: string } | { skip: string }}
 */
export function resolveBase(cwd, { base, mainBranch = 'main' } = {}) {
  const head = revParse(cwd, 'HEAD');
  if (!head) return { skip: 'not a git repository with commits: nothing to compare against' };
  if (base !== undefined) {
    if (!revParse(cwd, base)) throw new Error(`base "${base}" is not a commit in this repository`);
    const sha = git(cwd, ['merge-base', 'HEAD', base]);
    if (!sha) throw new Error(`HEAD and "${base}" share no history`);
    return { sha, how: `merge base of HEAD and ${base}` };
  }
  const candidates = [`origin/${mainBranch}`];
  const branch = git(cwd, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (branch !== mainBranch) candidates.push(mainBranch);
  for (const ref of candidates) {
    if (!revParse(cwd, ref)) continue;
    const sha = git(cwd, ['merge-base', 'HEAD', ref]);
    // On a branch the merge base is the base even before the first commit (the working tree is the change). On
    // main itself, a merge base equal to HEAD says nothing: compare with the last release instead.
    if (sha && (branch !== mainBranch || sha !== head)) return { sha, how: `merge base of HEAD and ${ref}` };
  }
  const tag = git(cwd, ['describe', '--tags', '--abbrev=0', 'HEAD']);
  if (tag) {
    const sha = revParse(cwd, tag);
    if (sha) return { sha, how: `last release tag ${tag}` };
  }
  // Nothing was ever released: every publishable package is new, and each needs a changeset for its first release.
  return { sha: EMPTY_TREE, how: 'first release (no release tag yet)' };
}

/**
 * Paths inside a package whose changes never reach users of the published package: tests, benchmarks, the
 * changelog (changesets writes it), test config and documentation.
 */
const UNPUBLISHED = [
  /^test\//,
  /^tests\//,
  /^bench\//,
  /^fixtures\//,
  /\.test\.[cm]?[jt]sx?$/,
  /^vitest\.config\.[cm]?[jt]s$/,
  /^CHANGELOG\.md$/,
  /^README\.md$/,
];

/** Files changed between `sha` and the working tree, committed or not, plus untracked ones. */
export function changedFiles(cwd, sha) {
  const diff = git(cwd, ['diff', '--name-only', '--no-renames', sha]);
  const untracked = git(cwd, ['ls-files', '--others', '--exclude-standard']);
  if (diff === undefined || untracked === undefined) throw new Error(`git could not list changes since ${sha}`);
  return [...new Set([...diff.split('\n'), ...untracked.split('\n')].filter(Boolean))].sort();
}

/** Package names each pending changeset releases, and the problems in reading them. */
export function readChangesets(root) {
  const dir = join(root, '.changeset');
  const named = new Map();
  const problems = [];
  if (!existsSync(dir)) return { named, problems };
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.md') || file === 'README.md') continue;
    try {
      const { releases } = parseChangeset(readFileSync(join(dir, file), 'utf8'));
      for (const { name } of releases) named.set(name, [...(named.get(name) ?? []), file]);
    } catch (error) {
      problems.push(`.changeset/${file}: ${error.message.split('\n')[0]}`);
    }
  }
  return { named, problems };
}

function versionAt(cwd, sha, manifestPath) {
  const text = git(cwd, ['show', `${sha}:${manifestPath}`]);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text).version;
  } catch {
    return undefined;
  }
}

/**
 * Every publishable package with a change users would get must be named by a pending changeset (or have had its
 * version bumped already, as `changeset version` does when it consumes them).
 * @returns {Promise<{ skip?: string, base?: string, changed: string[], missing: { name: string, files: string[] }[], problems: string[] }>}
 */
export async function checkChangesets(root, { base } = {}) {
  const resolved = resolveBase(root, { base });
  if ('skip' in resolved) return { skip: resolved.skip, changed: [], missing: [], problems: [] };
  const { packages } = await getPackages(root);
  const publishable = packages
    .filter((p) => !p.packageJson.private)
    .map((p) => ({ name: p.packageJson.name, version: p.packageJson.version, rel: relative(root, p.dir) }))
    // Longest path first, so a file belongs to the innermost package.
    .sort((a, b) => b.rel.length - a.rel.length);
  const allNames = new Set(packages.map((p) => p.packageJson.name));
  const privateNames = new Set(packages.filter((p) => p.packageJson.private).map((p) => p.packageJson.name));

  const byPackage = new Map();
  for (const file of changedFiles(root, resolved.sha)) {
    const pkg = publishable.find((p) => file.startsWith(`${p.rel.split(sep).join('/')}/`));
    if (!pkg) continue;
    const inside = file.slice(pkg.rel.length + 1);
    if (UNPUBLISHED.some((pattern) => pattern.test(inside))) continue;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), inside]);
  }

  const { named, problems } = readChangesets(root);
  for (const [name, files] of named) {
    if (!allNames.has(name)) problems.push(`${files.join(', ')}: names "${name}", which is not a workspace package`);
    else if (privateNames.has(name)) problems.push(`${files.join(', ')}: names "${name}", which is private`);
  }

  const missing = [];
  for (const [pkg, files] of byPackage) {
    if (named.has(pkg.name)) continue;
    const before = versionAt(root, resolved.sha, `${pkg.rel.split(sep).join('/')}/package.json`);
    if (before !== undefined && before !== pkg.version) continue;
    missing.push({ name: pkg.name, files });
  }
  missing.sort((a, b) => a.name.localeCompare(b.name));
  return {
    base: resolved.how,
    changed: [...byPackage.keys()].map((p) => p.name).sort(),
    missing,
    problems,
  };
}
