import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { resolveBin, type StandIn, spawnNode } from './process.js';

export interface VerdaccioOptions {
  /** Where published packages and the htpasswd file live. */
  storage: string;
  port?: number | undefined;
  readyTimeoutMs?: number | undefined;
}

export interface VerdaccioStandIn extends StandIn {
  readonly port: number;
  readonly pid: number;
  /** Registers a user (the config allows self-registration) and returns its auth token. */
  addUser(name: string, password: string): Promise<string>;
  /** `.npmrc` lines that send the `@integrations` scope here with `token`; everything else keeps its registry. */
  npmrc(token: string, scope?: string): string;
}

// Offline registry: no uplinks (nothing leaves the machine), self-registration for tests, publish when logged in.
function config(storage: string, port: number): string {
  const quoted = (value: string) => JSON.stringify(value);
  return [
    `storage: ${quoted(storage)}`,
    'auth:',
    '  htpasswd:',
    `    file: ${quoted(join(storage, 'htpasswd'))}`,
    '    max_users: 1000',
    'uplinks: {}',
    'packages:',
    "  '@*/*':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    'publish:',
    '  allow_offline: true',
    'web:',
    '  enable: false',
    'middlewares:',
    '  audit:',
    '    enabled: false',
    'log: { type: stdout, format: pretty, level: warn }',
    `listen: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Starts Verdaccio on 127.0.0.1 with no uplinks. */
export async function startVerdaccio(options: VerdaccioOptions): Promise<VerdaccioStandIn> {
  const bin = resolveBin(
    'verdaccio',
    'verdaccio',
    'add "verdaccio" (~6.8.0 on Node 20, with the node-fetch override the testkit README shows) to devDependencies',
  );
  const storage = resolve(options.storage);
  await mkdir(storage, { recursive: true });
  const port = options.port ?? (await freePort());
  const confDir = await mkdtemp(join(tmpdir(), 'verdaccio-conf-'));
  const configPath = join(confDir, 'config.yaml');
  await writeFile(configPath, config(storage, port));
  const managed = spawnNode(bin, ['--config', configPath, '--listen', `127.0.0.1:${port}`], 'verdaccio');
  const url = `http://127.0.0.1:${port}`;
  const stopAll = async () => {
    await managed.stop();
    await rm(confDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'verdaccio',
      async () => {
        try {
          const response = await fetch(`${url}/-/ping`);
          await response.body?.cancel();
          return response.ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: options.readyTimeoutMs ?? 30_000, failed: managed.exitError },
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    pid: managed.pid,
    async addUser(name, password) {
      const response = await fetch(`${url}/-/user/org.couchdb.user:${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, password }),
      });
      const body = (await response.json()) as { token?: string; error?: string };
      if (!response.ok || !body.token) {
        throw new Error(`verdaccio refused to register ${name}: HTTP ${response.status} ${body.error ?? ''}`.trim());
      }
      return body.token;
    },
    npmrc(token, scope = '@integrations') {
      const host = url.replace(/^http:/, '');
      return `${scope}:registry=${url}/\n${host}/:_authToken=${token}\n`;
    },
    stop: () => (stopping ??= stopAll()),
  };
}
