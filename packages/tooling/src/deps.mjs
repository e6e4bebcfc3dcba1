import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Where each connector's allowed runtime dependencies are listed (reviewed like code: a new SDK is a decision). */
export const FAMILIES_FILE = 'packages/tooling/src/sdk-families.json';

/** @returns {Record<string, string[]>} connector id → allowed dependency names, `@scope/*` for a whole scope */
export function readFamilies(root) {
  return JSON.parse(readFileSync(join(root, FAMILIES_FILE), 'utf8'));
}

/** Writes the families sorted by connector id; returns the file's path. */
export function writeFamilies(root, families) {
  const sorted = Object.fromEntries(Object.entries(families).sort(([a], [b]) => a.localeCompare(b)));
  const file = join(root, FAMILIES_FILE);
  // One connector a line, as the formatter prints it.
  const lines = Object.entries(sorted).map(
    ([id, family]) => `  ${JSON.stringify(id)}: ${JSON.stringify(family).replace(/","/g, '", "')}`,
  );
  writeFileSync(file, `{\n${lines.join(',\n')}\n}\n`);
  return file;
}

/** `@aws-sdk/*` matches every package of the scope; anything else matches itself only. */
export function inFamily(dependency, family) {
  return family.some((pattern) =>
    pattern.endsWith('/*') ? dependency.startsWith(pattern.slice(0, -1)) : dependency === pattern,
  );
}

const INSTALLED_FIELDS = ['dependencies', 'optionalDependencies'];

/**
 * The rules for a connector's packed manifest: what a user's install pulls in is the connector's own SDK family
 * and nothing else, core comes only as a peer, and no `workspace:` range survived packing.
 * @param {string} id connector id
 * @param {Record<string, any>} manifest the package.json inside the tarball
 * @param {string[] | undefined} family allowed dependencies, undefined when none is declared
 * @returns {string[]} problems
 */
export function checkPackedManifest(id, manifest, family) {
  const problems = [];
  if (family === undefined) {
    problems.push(`no SDK family declared for "${id}": add it to ${FAMILIES_FILE}`);
  }
  for (const field of INSTALLED_FIELDS) {
    for (const dependency of Object.keys(manifest[field] ?? {})) {
      if (dependency === '@integrations/core') {
        problems.push(`lists @integrations/core in ${field}: core must be a peerDependency only`);
      } else if (family !== undefined && !inFamily(dependency, family)) {
        const allowed = family.length > 0 ? family.join(', ') : 'none';
        problems.push(`${field} has "${dependency}", outside ${id}'s SDK family (allowed: ${allowed})`);
      }
    }
  }
  const bundled = manifest.bundleDependencies ?? manifest.bundledDependencies;
  if (bundled === true || (Array.isArray(bundled) && bundled.length > 0)) {
    problems.push('bundles dependencies into the tarball (bundleDependencies): users could not dedupe them');
  }
  const peer = manifest.peerDependencies?.['@integrations/core'];
  if (peer === undefined) problems.push('@integrations/core is missing from peerDependencies');
  for (const [field, value] of Object.entries(manifest)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    for (const [name, range] of Object.entries(value)) {
      if (typeof range === 'string' && range.startsWith('workspace:')) {
        problems.push(`${field}["${name}"] is still "${range}" after packing`);
      }
    }
  }
  return problems;
}

/** Packs a package with pnpm (as publishing does) and returns the package.json inside the tarball. */
export function packedManifest(dir) {
  const out = mkdtempSync(join(tmpdir(), 'check-deps-'));
  try {
    const pack = spawnSync('pnpm', ['pack', '--pack-destination', out], { cwd: dir, encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`pnpm pack failed in ${dir}:\n${pack.stdout}${pack.stderr}`);
    const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`pnpm pack wrote no tarball for ${dir}`);
    const untar = spawnSync('tar', ['-xzf', tarball, 'package/package.json'], { cwd: out, encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`could not read package.json from ${tarball}: ${untar.stderr}`);
    return JSON.parse(readFileSync(join(out, 'package', 'package.json'), 'utf8'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Packs every connector under packages/connectors (or `only` these ids) and checks its packed manifest.
 * @returns {{ checked: string[], problems: string[] }} problems name the package
 */
export function checkDeps(root, { families = readFamilies(root), only } = {}) {
  const base = join(root, 'packages', 'connectors');
  const dirs = existsSync(base)
    ? readdirSync(base)
        .filter((d) => statSync(join(base, d)).isDirectory() && existsSync(join(base, d, 'package.json')))
        .filter((d) => only === undefined || only.includes(d))
        .sort()
    : [];
  const problems = [];
  const checked = [];
  for (const id of dirs) {
    const dir = join(base, id);
    const where = relative(root, dir);
    const manifest = packedManifest(dir);
    checked.push(`${manifest.name}@${manifest.version}`);
    for (const problem of checkPackedManifest(id, manifest, families[id])) problems.push(`${where}: ${problem}`);
  }
  return { checked, problems };
}
