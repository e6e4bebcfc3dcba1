#!/usr/bin/env node
// Usage: catalog [repo root] [--check]
// Writes the connector catalog into README.md between <!-- catalog:start --> and <!-- catalog:end -->, from each
// connector's built definition (run `pnpm build` first). With --check, only fails when the table is stale.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { updateCatalog } from '../src/catalog.mjs';

const { values, positionals } = parseArgs({ options: { check: { type: 'boolean' } }, allowPositionals: true });
const root = resolve(positionals[0] ?? '.');
const { stale, problems, rows } = await updateCatalog(root, { check: values.check });
if (problems.length > 0) {
  console.error(`catalog: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
if (values.check && stale) {
  console.error('check-catalog: the connector catalog in README.md is stale: run `pnpm catalog` and commit README.md');
  process.exit(1);
}
console.log(
  values.check
    ? `check-catalog: README.md lists all ${rows} connector(s) as built`
    : `catalog: README.md ${stale ? 'updated' : 'already up to date'} (${rows} connector(s))`,
);
