import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectorNames } from './names.mjs';

export const START = '<!-- catalog:start -->';
export const END = '<!-- catalog:end -->';

/** Services already running on the project's machines, by port, for connectors tested against one of them. */
const LOCAL_SERVICES = {
  5432: 'PostgreSQL',
  3306: 'MariaDB',
  6379: 'Redis',
  5672: 'RabbitMQ',
  1883: 'Mosquitto (MQTT)',
  4222: 'NATS',
};

/**
 * What a connector's conformance test runs against, read from test/connector.test.ts: a testkit launcher
 * (Prism with its spec, s3rver, Azurite), a testkit fake, a fake of its own, or a local service by port.
 * @returns {string | undefined} undefined when the file names none of them
 */
export function detectStandIn(source) {
  if (/\bstartPrism\s*\(/.test(source)) {
    const spec = /\bspecPath\(\s*['"`]([^'"`]+)['"`]/.exec(source)?.[1];
    return spec ? `Prism (${basename(spec)})` : 'Prism';
  }
  if (/\bstartS3rver\s*\(/.test(source)) return 's3rver';
  if (/\bstartAzurite\s*\(/.test(source)) return 'Azurite';
  const kitFake = /from\s+['"]@integrations\/testkit\/fakes\/([\w-]+)['"]/.exec(source)?.[1];
  if (kitFake) return `in-repo fake (testkit/fakes/${kitFake})`;
  for (const match of source.matchAll(
    /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]\.\/([\w./-]+?)(?:\.[jt]s)?['"]/g,
  )) {
    if (/\bstart\w*Fake\b|\bcreateFakeServer\b/.test(match[1] ?? '')) return `in-repo fake (test/${match[2]}.ts)`;
  }
  if (/\bcreateFakeServer\s*\(/.test(source)) return 'in-repo fake (test/connector.test.ts)';
  for (const match of source.matchAll(/127\.0\.0\.1:(\d+)/g)) {
    const service = LOCAL_SERVICES[Number(match[1])];
    if (service) return `${service} on 127.0.0.1:${match[1]}`;
  }
  return undefined;
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * One row per connector, from its built definition (dist/index.js), its package.json and its conformance test.
 * @returns {Promise<{ rows: object[], problems: string[] }>}
 */
export async function collectCatalog(root) {
  const base = join(root, 'packages', 'connectors');
  const ids = existsSync(base)
    ? readdirSync(base)
        .filter((d) => statSync(join(base, d)).isDirectory() && existsSync(join(base, d, 'package.json')))
        .sort()
    : [];
  const rows = [];
  const problems = [];
  for (const id of ids) {
    const dir = join(base, id);
    const where = `packages/connectors/${id}`;
    const pkg = readJson(join(dir, 'package.json'));
    const built = join(dir, 'dist', 'index.js');
    if (!existsSync(built)) {
      problems.push(`${where}: dist/index.js not found: build before generating the catalog`);
      continue;
    }
    const mod = await import(pathToFileURL(built).href);
    const definition =
      mod[connectorNames(id).camel] ??
      Object.values(mod).find((v) => typeof v === 'object' && v !== null && v.id === id && v.operations);
    if (!definition) {
      problems.push(`${where}: dist/index.js exports no connector definition with id "${id}"`);
      continue;
    }
    const testFile = join(dir, 'test', 'connector.test.ts');
    const standIn = existsSync(testFile) ? detectStandIn(readFileSync(testFile, 'utf8')) : undefined;
    if (!standIn) {
      problems.push(
        `${where}: cannot tell the stand-in from test/connector.test.ts (no testkit launcher, fake or local service)`,
      );
      continue;
    }
    rows.push({
      id,
      name: pkg.name,
      displayName: definition.displayName,
      category: definition.category,
      version: pkg.version,
      sdk: Object.entries(pkg.dependencies ?? {}).map(([name, range]) => ({ name, range })),
      operations: Object.keys(definition.operations),
      standIn,
    });
  }
  return { rows, problems };
}

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown that goes between the markers. */
export function renderCatalog(rows) {
  const lines = [
    '| package | category | version | SDK | operations | stand-in in tests |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const sdk =
      row.sdk.length > 0 ? row.sdk.map((d) => `\`${d.name}\` ${d.range}`).join(', ') : "none (core's HTTP client)";
    const operations = `${row.operations.length}: ${row.operations.map((o) => `\`${o}\``).join(', ')}`;
    lines.push(
      `| [\`${cell(row.name)}\`](packages/connectors/${row.id}) (${cell(row.displayName)}) | ${cell(row.category)} | ${cell(row.version)} | ${cell(sdk)} | ${cell(operations)} | ${cell(row.standIn)} |`,
    );
  }
  return [
    '',
    'Every connector, read from its built definition and package.json by `pnpm catalog`; `pnpm check:catalog` fails',
    'when this table no longer matches them.',
    '',
    ...lines,
    '',
  ].join('\n');
}

/** `text` with everything between the markers replaced by `content`. */
export function replaceBetweenMarkers(text, content, what = 'README.md') {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`${what} has no ${START} … ${END} section: add the two markers where the catalog goes`);
  }
  return `${text.slice(0, start + START.length)}\n${content}\n${text.slice(end)}`;
}

/**
 * Rewrites the catalog in README.md, or with `check` only reports whether it is stale.
 * @returns {Promise<{ stale: boolean, problems: string[], rows: number }>}
 */
export async function updateCatalog(root, { check = false } = {}) {
  const file = join(root, 'README.md');
  if (!existsSync(file)) return { stale: true, problems: [`README.md not found in ${root}`], rows: 0 };
  const { rows, problems } = await collectCatalog(root);
  if (problems.length > 0) return { stale: true, problems, rows: rows.length };
  const current = readFileSync(file, 'utf8');
  let next;
  try {
    next = replaceBetweenMarkers(current, renderCatalog(rows));
  } catch (error) {
    return { stale: true, problems: [error.message], rows: rows.length };
  }
  const stale = next !== current;
  if (stale && !check) writeFileSync(file, next);
  return { stale, problems: [], rows: rows.length };
}
