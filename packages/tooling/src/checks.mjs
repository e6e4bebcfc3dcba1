import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { connectorNames } from './names.mjs';

const require = createRequire(import.meta.url);

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * publint (strict) and are-the-types-wrong over one package directory.
 * Private packages are not published, so they are not checked.
 * @returns {Promise<{ skipped: boolean, problems: string[] }>}
 */
export async function checkPackage(dir, { attw = true } = {}) {
  const pkg = readJson(join(dir, 'package.json'));
  if (pkg.private) return { skipped: true, problems: [] };
  const problems = [];

  const { messages } = await publint({ pkgDir: dir, strict: true, level: 'warning' });
  for (const message of messages) {
    problems.push(`publint ${message.type}: ${formatMessage(message, pkg, { color: false }) ?? message.code}`);
  }

  if (attw) {
    const bin = join(require.resolve('@arethetypeswrong/cli/package.json'), '..', 'dist', 'index.js');
    const run = spawnSync(process.execPath, [bin, '--pack', dir, '--profile', 'esm-only', '--format', 'ascii'], {
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      problems.push(`attw: ${(run.stdout + run.stderr).trim()}`);
    }
  }
  return { skipped: false, problems };
}

/** The files every connector package has, so that each one reads like the others. */
export const CONNECTOR_FILES = [
  'package.json',
  'README.md',
  'CHANGELOG.md',
  'tsconfig.json',
  'tsup.config.ts',
  'vitest.config.ts',
  'src/index.ts',
  'src/connector.ts',
  'src/config.ts',
  'src/errors.ts',
  'test/connector.test.ts',
];

export { connectorNames } from './names.mjs';

/**
 * Checks every package under packages/connectors for the shared layout, manifest and exports.
 * Runtime exports are read from the built dist/index.js, so run it after `pnpm build`.
 * @param {{ only?: string[] }} [options] check only these connector ids
 * @returns {Promise<string[]>} one line per problem, each naming the package and what is wrong
 */
export async function checkConventions(root, { only } = {}) {
  const base = join(root, 'packages', 'connectors');
  if (!existsSync(base)) return [];
  const problems = [];
  const dirs = readdirSync(base).filter(
    (d) => statSync(join(base, d)).isDirectory() && (only === undefined || only.includes(d)),
  );
  for (const id of dirs) {
    const dir = join(base, id);
    const where = relative(root, dir);
    const report = (what) => problems.push(`${where}: ${what}`);
    for (const file of CONNECTOR_FILES) {
      if (!existsSync(join(dir, file))) report(`missing required file ${file}`);
    }
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = readJson(join(dir, 'package.json'));
    const { camel, pascal } = connectorNames(id);
    if (pkg.name !== `@integrations/${id}`) report(`package name must be @integrations/${id}, found ${pkg.name}`);
    if (pkg.type !== 'module') report('package.json "type" must be "module"');
    if (pkg.sideEffects !== false) report('package.json "sideEffects" must be false');
    const main = pkg.exports?.['.'];
    if (main?.types !== './dist/index.d.ts' || main?.default !== './dist/index.js') {
      report('package.json exports["."] must be { types: "./dist/index.d.ts", default: "./dist/index.js" }');
    }
    if (!pkg.peerDependencies?.['@integrations/core']) report('@integrations/core must be a peer dependency');
    if (pkg.dependencies?.['@integrations/core']) report('@integrations/core must not be a runtime dependency');
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      if (dep.startsWith('@integrations/')) report(`must not depend on ${dep} (connectors depend on core only)`);
    }
    for (const script of ['build', 'test', 'typecheck', 'check:package']) {
      if (!pkg.scripts?.[script]) report(`package.json is missing the "${script}" script`);
    }

    const indexSource = existsSync(join(dir, 'src/index.ts')) ? readFileSync(join(dir, 'src/index.ts'), 'utf8') : '';
    for (const typeName of [`${pascal}Config`, `${pascal}Instance`]) {
      if (!new RegExp(`\\b${typeName}\\b`).test(indexSource)) report(`src/index.ts must export the type ${typeName}`);
    }

    const built = join(dir, 'dist', 'index.js');
    if (!existsSync(built)) {
      report('dist/index.js not found: build before checking conventions');
      continue;
    }
    const mod = await import(pathToFileURL(built).href);
    const definition = mod[camel];
    if (!definition) {
      report(`must export the connector definition as "${camel}"`);
    } else {
      if (definition.id !== id) report(`definition id must be "${id}", found "${definition.id}"`);
      for (const field of ['displayName', 'type', 'category', 'specificationVersion']) {
        if (typeof definition[field] !== 'string' || definition[field] === '') report(`definition.${field} is missing`);
      }
      if (typeof definition.create !== 'function') report('definition.create must be a function');
      if (!definition.operations || Object.keys(definition.operations).length === 0) {
        report('definition.operations must list at least one operation');
      }
    }
    if (typeof mod[`${camel}ConfigSchema`] !== 'object') report(`must export "${camel}ConfigSchema"`);
    if (mod.VERSION !== pkg.version) report(`must export VERSION equal to package.json version (${pkg.version})`);
  }
  return problems;
}
