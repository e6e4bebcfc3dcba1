#!/usr/bin/env node
// Usage: check-size <entry.js> <max bytes, min+gzip>
// Bundles the entry with everything it imports, minifies it and gzips it: what a user's bundle pays for it.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const [entry, limitArg] = process.argv.slice(2);
const limit = Number(limitArg);
if (!entry || !Number.isFinite(limit)) {
  console.error('usage: check-size <entry.js> <max bytes>');
  process.exit(2);
}
const result = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'neutral',
  write: false,
  logLevel: 'silent',
});
const size = gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
const line = `check-size: ${entry} is ${size} bytes min+gzip (limit ${limit})`;
if (size > limit) {
  console.error(`${line}: too large`);
  process.exit(1);
}
console.log(line);
