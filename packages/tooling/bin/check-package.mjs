#!/usr/bin/env node
// Usage: check-package [dir]   (defaults to the current package)
import { resolve } from 'node:path';
import { checkPackage } from '../src/checks.mjs';

const dir = resolve(process.argv[2] ?? '.');
const { skipped, problems } = await checkPackage(dir);
if (skipped) {
  console.log(`check-package: ${dir} is private, not published, skipped`);
} else if (problems.length > 0) {
  console.error(`check-package: ${problems.length} problem(s) in ${dir}\n${problems.join('\n')}`);
  process.exit(1);
} else {
  console.log('check-package: publint and attw report no problems');
}
