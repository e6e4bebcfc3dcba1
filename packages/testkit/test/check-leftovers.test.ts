import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STANDIN_MARKER } from '../src/index.js';

const script = fileURLToPath(new URL('../bin/check-leftovers.mjs', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [script, ...args, root], { encoding: 'utf8' });
}

describe('check-leftovers', () => {
  it('fails naming a stand-in process that is still running, and passes it over once it is gone', async () => {
    // A process marked like the kit's launchers mark theirs.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { ...process.env, [STANDIN_MARKER]: 'leftover-probe' },
      stdio: 'ignore',
    });
    const pid = child.pid;
    expect(pid).toBeDefined();
    try {
      const found = run();
      expect(found.status).toBe(1);
      expect(found.stderr).toContain(`pid ${pid} (leftover-probe)`);
      expect(found.stderr).toContain('call stop() in afterAll');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    const after = run();
    // Other test files may have stand-ins running right now; only this probe must be gone.
    expect(after.stdout + after.stderr).not.toContain(`pid ${pid} `);
  });
});
