import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';

// The README's quick start must run as written: take its code block, run it against the built package
// (it imports '@integrations/core', which resolves to this package), and compare what it prints with the
// `// expected` comments beside each console.log.
const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Quick start'));
const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
const file = join(import.meta.dirname, `readme-quick-start.${process.pid}.tmp.ts`);
afterAll(() => rmSync(file, { force: true }));

it('runs the quick start from the README and prints what its comments say', async () => {
  expect(code).toContain("from '@integrations/core'");
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  expect(expected.length).toBeGreaterThan(2);

  writeFileSync(file, code);
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  try {
    await import(file);
  } finally {
    log.mockRestore();
  }
  // `{ hash: 'SHA-256' }` in a comment is how util.inspect shows what JSON.stringify writes as {"hash":"SHA-256"}.
  const normalise = (text: string) => text.replace(/[{}"' ]/g, '');
  expect(printed.map(normalise)).toEqual(expected.map((e) => normalise(e ?? '')));
});
