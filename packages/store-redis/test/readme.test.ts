import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { deleteKeys, MAIN_REDIS_URL, requireMainRedis, testPrefix } from './helpers/redis.js';

// The README's quick start must run as written against the built package, printing what the `// expected`
// comments beside each console.log say. Only its key prefix is swapped for one of this run's own.
const available = await requireMainRedis();
const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Quick start'));
const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
const file = join(import.meta.dirname, `readme-quick-start.${process.pid}.tmp.ts`);
const prefix = testPrefix('readme');

afterAll(async () => {
  rmSync(file, { force: true });
  if (available) await deleteKeys(MAIN_REDIS_URL, prefix);
});

it.skipIf(!available)('runs the quick start from the README and prints what its comments say', async () => {
  expect(code).toContain("from '@integrations/store-redis'");
  expect(code).toContain("keyPrefix: 'myapp:'");
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  expect(expected.length).toBeGreaterThan(3);

  writeFileSync(file, code.replaceAll("keyPrefix: 'myapp:'", `keyPrefix: '${prefix}'`));
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  const previous = process.env.REDIS_URL;
  process.env.REDIS_URL = MAIN_REDIS_URL;
  try {
    await import(file);
  } finally {
    log.mockRestore();
    if (previous === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = previous;
  }
  expect(printed).toEqual(expected);
});
