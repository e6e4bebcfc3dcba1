#!/usr/bin/env node
// Usage: check-changesets [base ref]   (default: the merge base with origin/main, else the last release tag)
// Fails when a publishable package changed since the base and no pending changeset in .changeset/ names it.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkChangesets } from '../src/changesets.mjs';

const { values, positionals } = parseArgs({
  options: { root: { type: 'string' } },
  allowPositionals: true,
});
const root = resolve(values.root ?? '.');
let result;
try {
  result = await checkChangesets(root, { base: positionals[0] });
} catch (error) {
  console.error(`check-changesets: ${error.message}`);
  process.exit(2);
}
if (result.skip) {
  console.log(`check-changesets: skipped: ${result.skip}`);
  process.exit(0);
}
const lines = result.problems.map((p) => `  ${p}`);
for (const { name, files } of result.missing) {
  const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? `, … (${files.length} files)` : '');
  lines.push(`  ${name} changed (${shown}) but no changeset names it: run \`pnpm changeset\``);
}
if (lines.length > 0) {
  console.error(`check-changesets: FAIL against the ${result.base}\n${lines.join('\n')}`);
  process.exit(1);
}
console.log(
  `check-changesets: ok against the ${result.base}: ${result.changed.length} changed publishable package(s), each with a changeset` +
    (result.changed.length > 0 ? ` (${result.changed.join(', ')})` : ''),
);
