import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Set in every stand-in process the kit starts, so `check-leftovers` can find the ones a test forgot to stop. */
export const STANDIN_MARKER = 'INTEGRATIONS_TESTKIT_STANDIN';

/** What every launcher returns. */
export interface StandIn {
  /** Base URL on 127.0.0.1. */
  readonly url: string;
  /** Stops the stand-in and waits until it is gone. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Finds a package's bin script. The stand-ins are optional peer dependencies, so they are looked up from the
 * kit first and then from the project running the tests.
 */
export function resolveBin(pkg: string, bin: string, installHint: string): string {
  const bases = [import.meta.url, pathToFileURL(join(process.cwd(), 'package.json')).href];
  for (const base of bases) {
    try {
      const manifestPath = createRequire(base).resolve(`${pkg}/package.json`);
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: string | Record<string, string> };
      const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[bin];
      if (relative) return join(dirname(manifestPath), relative);
    } catch {
      // Not installed from this base: try the next.
    }
  }
  throw new Error(`${pkg} is not installed: ${installHint}`);
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process printed so far (stdout and stderr), for error messages. */
  output(): string;
  /** Resolves when `pattern` appears in the output; rejects if the process exits first or time runs out. */
  waitForOutput(pattern: RegExp, what: string, timeoutMs?: number): Promise<void>;
  /** Set once the process exited early, for readiness probes. */
  exitError(): Error | undefined;
  /** Kills the whole process group and waits for the exit. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

// A test run that dies without its afterAll still must not leave stand-ins behind.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const managed of live) {
      try {
        process.kill(-managed.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

/**
 * Spawns a Node script in its own process group (so stop() also reaches anything it forks), capturing output.
 * `nodeArgs` go to Node itself, before the script (`--openssl-legacy-provider`).
 */
export function spawnNode(
  script: string,
  args: readonly string[],
  name: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: readonly string[] } = {},
): ManagedProcess {
  return spawnManaged(process.execPath, [...(options.nodeArgs ?? []), script, ...args], name, options);
}

/** Spawns any executable the same way: its own process group, output captured, stopped with the test run. */
export function spawnManaged(
  command: string,
  args: readonly string[],
  name: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, [STANDIN_MARKER]: name },
  });
  if (child.pid === undefined) {
    // The 'error' event (ENOENT) follows on the next tick: this throw already reports it.
    child.once('error', () => {});
    throw new Error(`could not start ${name}: \`${command}\` was not found or is not executable`);
  }
  const pid = child.pid;
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    // Keep the tail only: a chatty stand-in must not grow memory without bound.
    text = (text + chunk.toString('utf8')).slice(-20_000);
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(managed);
      for (const listener of listeners) listener();
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;

  const managed: ManagedProcess = {
    child,
    pid,
    output: () => text,
    exitError: () =>
      exited && !stopping
        ? new Error(
            `${name} exited (code ${exited.code}, signal ${exited.signal}) before it was ready:\n${text.trim()}`,
          )
        : undefined,
    waitForOutput(pattern, what, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${what} was not ready after ${timeoutMs} ms; output:\n${text.trim()}`));
        }, timeoutMs);
        const check = () => {
          if (pattern.test(text)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
            return;
          }
          const error = managed.exitError();
          if (error) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(error);
          }
        };
        listeners.add(check);
        check();
      });
    },
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        signalGroup(pid, 'SIGTERM');
        const killer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(killer);
        // The leader is gone; make sure nothing it forked lingers in the group.
        signalGroup(pid, 'SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
      })();
      return stopping;
    },
  };
  live.add(managed);
  installExitHook();
  return managed;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}
