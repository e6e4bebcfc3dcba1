#!/usr/bin/env node
// Fails when a stand-in started by tests (Prism, s3rver, Azurite, Verdaccio) is still running.
// Usage: check-leftovers [root]   (root: the repository; defaults to the current directory)
// Finds processes the testkit launched (they carry INTEGRATIONS_TESTKIT_STANDIN in their environment) and any
// process running a stand-in's script from under root (one a test spawned by hand).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const MARKER = 'INTEGRATIONS_TESTKIT_STANDIN';
const STANDIN = /(@stoplight[/\\]prism-cli|[/\\]prism(\s|$)|s3rver|azurite|verdaccio)/;

const root = resolve(process.argv[2] ?? '.');

function read(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Every process but this one: pid, its command line and (where readable) its environment. */
function processes() {
  if (existsSync('/proc/self/cmdline')) {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
      .map((pid) => {
        const cmdline = read(`/proc/${pid}/cmdline`)?.toString('utf8').split('\0').join(' ').trim() ?? '';
        const environ = read(`/proc/${pid}/environ`)?.toString('utf8').split('\0') ?? [];
        return { pid: Number(pid), cmdline, environ };
      })
      .filter((p) => p.cmdline !== '');
  }
  // No /proc (macOS): command lines only.
  const out = execFileSync('ps', ['-axo', 'pid=,command='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m) => m && Number(m[1]) !== process.pid)
    .map((m) => ({ pid: Number(m[1]), cmdline: m[2], environ: [] }));
}

const leftovers = processes().flatMap((p) => {
  const marker = p.environ.find((entry) => entry.startsWith(`${MARKER}=`));
  if (marker) return [{ ...p, what: marker.slice(MARKER.length + 1) }];
  if (p.cmdline.includes(root) && STANDIN.test(p.cmdline)) return [{ ...p, what: STANDIN.exec(p.cmdline)[1].trim() }];
  return [];
});

if (leftovers.length === 0) {
  console.log('check-leftovers: no stand-in processes left running');
  process.exit(0);
}
console.error(`check-leftovers: ${leftovers.length} stand-in process(es) still running after the tests:`);
for (const p of leftovers) console.error(`  pid ${p.pid} (${p.what}): ${p.cmdline.slice(0, 200)}`);
console.error('A test started a stand-in and did not stop it: call stop() in afterAll.');
process.exit(1);
