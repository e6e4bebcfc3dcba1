import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { readFamilies, writeFamilies } from '../deps.mjs';
import { connectorNames } from '../names.mjs';
import * as t from './templates.mjs';

export const AUTH_CHOICES = Object.keys(t.AUTH_KINDS);

/** core's IntegrationType keys by catalog category; anything else is an external API. */
const TYPE_BY_CATEGORY = {
  storage: 'Storage',
  messaging: 'Messaging',
  queue: 'Messaging',
  email: 'Communication',
  sms: 'Communication',
  chat: 'Communication',
  communication: 'Communication',
  analytics: 'DataPipeline',
  data: 'DataPipeline',
  warehouse: 'DataPipeline',
  monitoring: 'Monitoring',
  observability: 'Monitoring',
  auth: 'Authentication',
  identity: 'Authentication',
  cloud: 'CloudService',
};
const TYPE_KEYS = {
  external_api: 'ExternalApi',
  cloud_service: 'CloudService',
  communication: 'Communication',
  authentication: 'Authentication',
  data_pipeline: 'DataPipeline',
  monitoring: 'Monitoring',
  messaging: 'Messaging',
  storage: 'Storage',
};

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** A bad flag or prompt answer, said so the user knows what to type instead. */
export class GeneratorError extends Error {
  name = 'GeneratorError';
}

/** `stripe@^23.1.0` → `{ name: 'stripe', range: '^23.1.0' }`; `@aws-sdk/client-s3` → no range. */
export function parseSdk(value) {
  if (value === undefined || value === 'none' || value === '') return { name: undefined, range: undefined };
  const at = value.lastIndexOf('@');
  const [name, range] = at > 0 ? [value.slice(0, at), value.slice(at + 1)] : [value, undefined];
  if (!NPM_NAME.test(name)) throw new GeneratorError(`--sdk "${value}" is not an npm package name (or "none")`);
  if (range !== undefined && range.trim() === '')
    throw new GeneratorError(`--sdk "${value}" has an empty version range`);
  return { name, range };
}

const titleCase = (id) => id.replace(/(^|-)([a-z0-9])/g, (_, dash, c) => `${dash ? ' ' : ''}${c.toUpperCase()}`);

const FLAGS = {
  name: { type: 'string' },
  category: { type: 'string' },
  auth: { type: 'string' },
  sdk: { type: 'string' },
  'base-url': { type: 'string' },
  'token-url': { type: 'string' },
  description: { type: 'string' },
  type: { type: 'string' },
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const USAGE = `usage: pnpm new-connector <id> --name "Display Name" --category <category>
         --auth ${AUTH_CHOICES.join('|')} --sdk <npm package[@range]|none>
         [--base-url <production URL>] [--token-url <OAuth token URL>] [--description "..."] [--type <integration type>]
Missing flags are asked for when the terminal is interactive.`;

/** Parses argv into raw answers (strings, possibly missing). */
export function parseFlags(argv) {
  const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  if (positionals.length > 1) throw new GeneratorError(`one connector id expected, got ${positionals.join(' ')}`);
  return { ...values, id: positionals[0] };
}

/** The questions for whatever the flags left out; `ask` is @inquirer/prompts (or a test double). */
export async function fillMissing(raw, ask) {
  const answers = { ...raw };
  if (!answers.id) {
    answers.id = await ask.input({
      message: 'Connector id (kebab-case, e.g. acme-pay):',
      validate: (v) => KEBAB.test(v) || 'lowercase kebab-case: letters, digits and single dashes',
    });
  }
  answers.name ??= await ask.input({ message: 'Display name:', default: titleCase(answers.id) });
  answers.category ??= await ask.input({
    message: 'Category (payments, storage, email, messaging, analytics, ...):',
    validate: (v) => KEBAB.test(v) || 'lowercase kebab-case',
  });
  answers.auth ??= await ask.select({
    message: 'Authentication:',
    choices: AUTH_CHOICES.map((value) => ({ value, name: `${value}: ${t.AUTH_KINDS[value].summary}` })),
  });
  answers.sdk ??= await ask.input({ message: 'Official SDK package (npm name[@range], or none):', default: 'none' });
  if (answers['base-url'] === undefined) {
    answers['base-url'] = await ask.input({ message: 'Production base URL (empty: make baseUrl required):' });
  }
  if (answers.auth === 'oauth2' && answers['token-url'] === undefined) {
    answers['token-url'] = await ask.input({ message: 'OAuth 2.0 token URL (empty: make tokenUrl required):' });
  }
  return answers;
}

/** The flags a non-interactive run must have. */
export function missingFlags(raw) {
  return ['id', 'name', 'category', 'auth', 'sdk'].filter((k) => raw[k] === undefined || raw[k] === '');
}

function checkUrl(value, flag) {
  if (value === undefined || value === '') return undefined;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new GeneratorError(`${flag} "${value}" must be an absolute http(s) URL`);
  }
  return value;
}

/** The latest version of an SDK on the registry, as a caret range. */
export function lookupSdkRange(name) {
  const run = spawnSync('npm', ['view', name, 'version', '--json'], { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new GeneratorError(`could not look up ${name} on the registry: ${(run.stderr || run.stdout).trim()}`);
  }
  const version = JSON.parse(run.stdout);
  return `^${Array.isArray(version) ? version.at(-1) : version}`;
}

/** Validates answers and derives every name the templates use. */
export function resolveOptions(raw, { lookup = lookupSdkRange } = {}) {
  const missing = missingFlags(raw);
  if (missing.length > 0) {
    throw new GeneratorError(`missing ${missing.map((m) => (m === 'id' ? '<id>' : `--${m}`)).join(', ')}\n${USAGE}`);
  }
  const { id } = raw;
  if (!KEBAB.test(id)) throw new GeneratorError(`connector id "${id}" must be lowercase kebab-case (e.g. acme-pay)`);
  const name = raw.name.trim();
  if (name === '') throw new GeneratorError('--name must not be empty');
  const category = raw.category.trim();
  if (!KEBAB.test(category)) throw new GeneratorError(`--category "${category}" must be lowercase kebab-case`);
  if (!AUTH_CHOICES.includes(raw.auth)) {
    throw new GeneratorError(`--auth "${raw.auth}" must be one of ${AUTH_CHOICES.join(', ')}`);
  }
  const sdk = parseSdk(raw.sdk);
  let typeKey = TYPE_BY_CATEGORY[category] ?? 'ExternalApi';
  if (raw.type !== undefined) {
    typeKey = TYPE_KEYS[raw.type];
    if (!typeKey) throw new GeneratorError(`--type "${raw.type}" must be one of ${Object.keys(TYPE_KEYS).join(', ')}`);
  }
  const { camel, pascal } = connectorNames(id);
  const description =
    raw.description?.trim() ||
    `${name} connector for @integrations: ping and create through ${sdk.name ? `the official ${sdk.name} SDK` : "core's HTTP client"}.`;
  return {
    id,
    name,
    category,
    auth: raw.auth,
    sdk: sdk.name,
    sdkRange: sdk.name ? (sdk.range ?? lookup(sdk.name)) : undefined,
    baseUrl: checkUrl(raw['base-url'], '--base-url'),
    tokenUrl: raw.auth === 'oauth2' ? checkUrl(raw['token-url'], '--token-url') : undefined,
    description,
    typeKey,
    camel,
    pascal,
    envPrefix: id.toUpperCase().replace(/-/g, '_'),
  };
}

/** Ranges of the shared dev tools, taken from core so that every package pins the same ones. */
export function devRanges(root) {
  const core = JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8'));
  const ranges = {};
  for (const name of ['@types/node', 'tsup', 'typescript', 'vitest']) {
    const range = core.devDependencies?.[name];
    if (!range) throw new GeneratorError(`packages/core/package.json has no devDependency ${name} to copy`);
    ranges[name] = range;
  }
  return ranges;
}

/** Every file of the package, relative to the repository root. */
export function renderConnector(root, o) {
  const dir = `packages/connectors/${o.id}`;
  const files = {
    [`${dir}/package.json`]: t.packageJson(o, devRanges(root)),
    [`${dir}/README.md`]: t.readme(o),
    [`${dir}/CHANGELOG.md`]: `# @integrations/${o.id}\n`,
    [`${dir}/tsconfig.json`]: t.TSCONFIG,
    [`${dir}/tsup.config.ts`]: t.TSUP_CONFIG,
    [`${dir}/vitest.config.ts`]: t.VITEST_CONFIG,
    [`${dir}/src/index.ts`]: t.indexTs(o),
    [`${dir}/src/version.ts`]: t.versionTs(),
    [`${dir}/src/config.ts`]: t.configTs(o),
    [`${dir}/src/errors.ts`]: t.errorsTs(o),
    [`${dir}/src/connector.ts`]: t.connectorTs(o),
    [`${dir}/src/transport.ts`]: t.transportTs(),
    ...(o.sdk ? { [`${dir}/src/client.ts`]: t.clientTs(o) } : {}),
    [`${dir}/test/fake.ts`]: t.fakeTs(o),
    [`${dir}/test/connector.test.ts`]: t.connectorTestTs(o),
    [`${dir}/test/operations.test.ts`]: t.operationsTestTs(o),
    [`.changeset/${o.id}-initial.md`]: t.changeset(o),
  };
  return { dir, files };
}

/**
 * Writes packages/connectors/<id>, its first changeset, and its allowed SDK family (for check-deps), then formats
 * what it wrote with the repository's biome. Refuses to overwrite an existing connector.
 */
export function generateConnector(root, o, { format = true } = {}) {
  const { dir, files } = renderConnector(root, o);
  if (existsSync(join(root, dir))) throw new GeneratorError(`${dir} already exists`);
  const changesetFile = `.changeset/${o.id}-initial.md`;
  if (existsSync(join(root, changesetFile))) throw new GeneratorError(`${changesetFile} already exists`);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), content);
  }
  const families = readFamilies(root);
  families[o.id] = [...(o.sdk ? [o.sdk] : []), 'undici'];
  const familiesFile = writeFamilies(root, families);
  const written = [...Object.keys(files), relative(root, familiesFile)];
  let formatted = false;
  const biome = join(root, 'node_modules', '.bin', 'biome');
  if (format && existsSync(biome)) {
    const run = spawnSync(biome, ['check', '--write', dir, relative(root, familiesFile)], {
      cwd: root,
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new GeneratorError(`biome could not format ${dir}:\n${run.stdout}${run.stderr}`);
    formatted = true;
  }
  return { dir, files: written, formatted };
}
