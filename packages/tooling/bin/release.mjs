#!/usr/bin/env node
// Usage: release [changeset publish flags, e.g. --tag next]
// Builds every publishable package, runs the package checks on them, then `changeset publish`, which publishes each
// package whose version is not in the registry yet (pnpm publish underneath rewrites workspace: ranges).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { getPackages } from '@manypkg/get-packages';

const root = resolve('.');
const { packages } = await getPackages(root);
const publishable = packages.filter((p) => !p.packageJson.private).map((p) => p.packageJson.name);

function step(title, command, args) {
  console.log(`\nrelease: ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`release: FAILED at "${title}" (${command} ${args.join(' ')} exited ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

console.log(`release: ${publishable.length} publishable package(s): ${publishable.join(', ')}`);
step('build and check:package (publint, are-the-types-wrong)', 'pnpm', [
  'exec',
  'turbo',
  'run',
  'build',
  'check:package',
  ...publishable.map((name) => `--filter=${name}`),
]);
step('connector conventions', process.execPath, ['packages/tooling/bin/check-conventions.mjs']);
step('packed connector dependencies', process.execPath, ['packages/tooling/bin/check-deps.mjs']);
step('changeset publish', 'pnpm', ['exec', 'changeset', 'publish', ...process.argv.slice(2)]);
console.log('\nrelease: done');
