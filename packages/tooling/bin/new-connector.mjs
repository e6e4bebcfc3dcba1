#!/usr/bin/env node
// Usage: new-connector <id> --name "Display Name" --category <c> --auth <kind> --sdk <package[@range]|none> [...]
// Writes packages/connectors/<id> from the connector template. Asks for missing flags on an interactive terminal.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  fillMissing,
  GeneratorError,
  generateConnector,
  missingFlags,
  parseFlags,
  resolveOptions,
  USAGE,
} from '../src/generator/index.mjs';

function findRoot(from) {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) throw new GeneratorError(`no pnpm-workspace.yaml above ${from}`);
  }
}

try {
  let raw = parseFlags(process.argv.slice(2));
  if (raw.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (missingFlags(raw).length > 0 && process.stdin.isTTY && process.stdout.isTTY) {
    const { input, select } = await import('@inquirer/prompts');
    raw = await fillMissing(raw, { input, select });
  }
  const root = raw.root ? resolve(raw.root) : findRoot(process.env.INIT_CWD ?? process.cwd());
  const options = resolveOptions(raw);
  const { dir, files, formatted } = generateConnector(root, options);
  console.log(`new-connector: wrote ${dir}${formatted ? ' (formatted with biome)' : ''}`);
  for (const file of files) console.log(`  ${file}`);
  console.log(`
Next:
  flock /tmp/pnpm-install.lock pnpm install
  pnpm --filter @integrations/${options.id}... build
  pnpm --filter @integrations/${options.id} test
  pnpm --filter @integrations/${options.id} typecheck
  pnpm --filter @integrations/${options.id} check:package
  pnpm check:conventions && pnpm check:deps
${options.sdk ? `Then finish the marked block in ${dir}/src/client.ts: build the ${options.sdk} client there.\n` : ''}`);
} catch (error) {
  if (error instanceof GeneratorError || error?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    console.error(`new-connector: ${error.message}`);
    process.exit(2);
  }
  if (error?.name === 'ExitPromptError') process.exit(130);
  throw error;
}
