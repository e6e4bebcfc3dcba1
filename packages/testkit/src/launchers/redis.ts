import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { type StandIn, spawnManaged } from './process.js';

export interface RedisServerStandIn extends StandIn {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
}

export interface RedisServerOptions {
  /** Default: a free port. Pass the port of a stopped server to start it again where its clients expect it. */
  port?: number | undefined;
  /** Extra `redis-server` arguments (e.g. `['--cluster-enabled', 'yes']`). */
  args?: readonly string[] | undefined;
  readyTimeoutMs?: number | undefined;
}

/**
 * Starts a `redis-server` of the test's own on 127.0.0.1 (Debian's `redis-server` package), keeping nothing on
 * disk. For tests that stop Redis mid-run: never stop the machine's shared one.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerStandIn> {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'redis-standin-'));
  const managed = spawnManaged(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...(options.args ?? []),
    ],
    'redis-server',
  );
  const stopAll = async () => {
    await managed.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await managed.waitForOutput(/Ready to accept connections/, `redis-server on port ${port}`, options.readyTimeoutMs);
  } catch (error) {
    await stopAll();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: managed.pid,
    stop: () => (stopping ??= stopAll()),
  };
}
