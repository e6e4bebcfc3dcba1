import { spawnSync } from 'node:child_process';
import { isPortOpen, type RedisServerStandIn, startRedisServer } from '@integrations/testkit';
import { Redis } from 'ioredis';

export { freePort, isPortOpen } from '@integrations/testkit';

/** The machine's Redis, shared by everyone: tests only ever touch keys under their own random prefix. */
export const MAIN_REDIS_PORT = Number(process.env.REDIS_PORT ?? 6379);
export const MAIN_REDIS_URL = `redis://127.0.0.1:${MAIN_REDIS_PORT}`;

const START_HINT =
  'start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no';

function onCi(): boolean {
  return /^(1|true)$/i.test(process.env.CI ?? '');
}

/** True when the main Redis answers. Under CI a missing Redis fails the test file; locally it is skipped, loudly. */
export async function requireMainRedis(): Promise<boolean> {
  if (await isPortOpen(MAIN_REDIS_PORT)) return true;
  const message = `Redis is not reachable at 127.0.0.1:${MAIN_REDIS_PORT}; ${START_HINT}`;
  if (onCi()) throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

/** True when `redis-server` can be started by the tests (for the outage tests, which stop their own server). */
export function requireRedisServerBinary(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message =
    'redis-server is not on PATH; the outage tests start and stop a Redis of their own (apt install redis-server)';
  if (onCi()) throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

/** A unique key prefix per test file run, so parallel runs and other users of the main Redis never meet. */
export function testPrefix(name: string): string {
  return `integrations-test:${name}:${process.pid}-${Math.random().toString(36).slice(2, 8)}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const keys = await scanKeys(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** The server's clock in ms, as the scripts read it. */
export async function serverTime(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys with. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of `key`, honouring a hash tag: the part between the first `{` and the next `}`, if not empty. */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  return crc16(bytes) & 0x3fff;
}

/**
 * A redis-server of the test's own (testkit's launcher), on a port that stays the same across stop() and start(), so
 * clients reconnect to it as they would to a restarted Redis. It may also be paused. Never the machine's Redis.
 */
export class OwnRedisServer {
  private server: RedisServerStandIn | undefined;

  constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) throw new Error('this redis-server is already running');
    this.server = await startRedisServer({ port: this.port, args: this.extraArgs });
  }

  /** Stops the server and waits until it is gone (its port is free again). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    // A paused process cannot act on SIGTERM: let it run to its end.
    this.signal(server, 'SIGCONT');
    await server.stop();
  }

  /** Freezes the server: connections stay open, nothing is answered (a stalled Redis). */
  pause(): void {
    if (this.server) this.signal(this.server, 'SIGSTOP');
  }

  resume(): void {
    if (this.server) this.signal(this.server, 'SIGCONT');
  }

  async dispose(): Promise<void> {
    await this.stop();
  }

  private signal(server: RedisServerStandIn, signal: NodeJS.Signals): void {
    try {
      process.kill(server.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Resolves when `probe` is true; fails with `what` after `timeoutMs`. Polls, so it asserts outcomes, not speed. */
export async function eventually(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
