#!/usr/bin/env node
// Usage: check-conventions [repo root] [--only <connector id>]...
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkConventions } from '../src/checks.mjs';

const { values, positionals } = parseArgs({
  options: { only: { type: 'string', multiple: true } },
  allowPositionals: true,
});
const root = resolve(positionals[0] ?? '.');
const problems = await checkConventions(root, { only: values.only });
if (problems.length > 0) {
  console.error(`check-conventions: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('check-conventions: every connector has the shared layout and exports');
