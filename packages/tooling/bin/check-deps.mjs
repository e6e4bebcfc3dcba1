#!/usr/bin/env node
// Usage: check-deps [repo root] [--only <connector id>]...
// Packs every connector as publishing would and checks the packed package.json: runtime dependencies only from
// the connector's own SDK family (src/sdk-families.json), @integrations/core only as a peer.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkDeps } from '../src/deps.mjs';

const { values, positionals } = parseArgs({
  options: { only: { type: 'string', multiple: true } },
  allowPositionals: true,
});
const root = resolve(positionals[0] ?? '.');
const { checked, problems } = checkDeps(root, { only: values.only });
if (problems.length > 0) {
  console.error(`check-deps: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`check-deps: ${checked.length} packed connector manifest(s) depend on their own SDK family only`);
