/** Runs the built gateway (dist/main.js) as a child process, the way `pnpm start` and the container do. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`pnpm --filter @integrations/gateway... build\` before these tests`);
  }
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export function runGateway(args: string[], env: Record<string, string | undefined> = {}): GatewayProcess {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], {
    // A clean environment: nothing from the developer's shell (INTEGRATIONS_CONFIG, NODE_ENV) leaks in.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  return {
    child,
    output: () => text,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (!done) child.kill(signal);
    },
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${text}`));
        }, timeoutMs);
        const check = () => {
          const match = pattern.exec(text);
          if (match) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(match);
          } else if (done) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`the gateway exited before ${pattern}; output:\n${text}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Polls `url` until `accept` says yes (readiness, not timing: the bound is only a safety net). */
export async function until(
  url: string,
  accept: (response: Response) => boolean,
  init: RequestInit = {},
  attempts = 200,
): Promise<Response> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const response = await fetch(url, init);
      if (accept(response)) return response;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never became ready: ${String(last)}`);
}
