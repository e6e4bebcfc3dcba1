/**
 * Three gateway replicas (separate Node processes, each with its own core registry and Redis store) in front
 * of one node:http stand-in, sharing a Redis this test starts, stops and starts again.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyNames } from '../src/index.js';
import { eventually, freePort, OwnRedisServer, requireRedisServerBinary, serverTime } from './helpers/redis.js';

const available = requireRedisServerBinary();

const FIXTURE = fileURLToPath(new URL('./fixtures/replica.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const KEY_PREFIX = 'fleet:';
/** What the fixture configures for `limited`. */
const BURST = 100;
const PER_MS = 3_000 / 60_000;
/**
 * "burst + rate × elapsed" holds while the fleet asks faster than the bucket refills: a token nobody asks for is
 * not handed out. Each slice of the window must hold at least twice the refill in calls; one that does not is a
 * starved machine (not the store), and the measurement is taken again.
 */
const SLICE_MS = 200;
const MIN_CALLS_PER_SLICE = 2 * PER_MS * SLICE_MS;

interface CallResult {
  ok: boolean;
  kind?: string;
  code?: string;
  breaker: string | null;
}
interface HammerResult {
  accepted: number;
  rejected: number;
  /** Turned away by the `reject` replica because its store call timed out. */
  unavailable: number;
  other: string[];
  /** Wall-clock ms (one host, one clock) when each call started. */
  starts: number[];
}

/** One replica process and its IPC conversation. */
class Replica {
  readonly changes: string[] = [];
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (reply: never) => void>();
  private nextId = 1;
  private output = '';
  readonly started: Promise<void>;

  constructor(
    readonly name: string,
    redisUrl: string,
    standInUrl: string,
    readonly mode: 'local' | 'reject',
  ) {
    this.child = fork(FIXTURE, [redisUrl, KEY_PREFIX, standInUrl, name, mode], {
      cwd: PACKAGE_DIR,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-10_000);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.started = new Promise<void>((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`replica ${name} exited (${code}):\n${this.output}`)));
      this.child.on('message', (message: { id?: number; type?: string; change?: { type: string } }) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'store' && message.change) this.changes.push(message.change.type);
        else if (message.id !== undefined) {
          this.pending.get(message.id)?.(message as never);
          this.pending.delete(message.id);
        }
      });
    });
    this.started.catch(() => undefined);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  request<T>(message: Record<string, unknown>): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`replica ${this.name} is gone:\n${this.output}`));
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (reply: never) => void);
      this.child.send({ ...message, id });
    });
  }

  call(integration: string): Promise<CallResult> {
    return this.request({ type: 'call', integration });
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit', id: 0 });
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  }
}

describe.skipIf(!available)('three replicas sharing Redis', () => {
  let redis: OwnRedisServer;
  let admin: Redis;
  let standIn: Server;
  const hits = new Map<string, number>();
  /** `path replica` pairs the stand-in answers with 503. */
  const failing = new Set<string>();
  let replicas: Replica[] = [];

  const hitsOn = (path: string, replica?: string) =>
    [...hits]
      .filter(([key]) => key.startsWith(`${path} `) && (!replica || key === `${path} ${replica}`))
      .reduce((sum, [, n]) => sum + n, 0);

  beforeAll(async () => {
    redis = new OwnRedisServer(await freePort());
    await redis.start();
    admin = new Redis(redis.url);
    // The test stops this Redis on purpose: the admin connection just waits for it.
    admin.on('error', () => undefined);
    standIn = createServer((request, response) => {
      const key = `${request.url} ${request.headers['x-replica']}`;
      hits.set(key, (hits.get(key) ?? 0) + 1);
      response.writeHead(failing.has(key) ? 503 : 200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    const standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
    replicas = [
      new Replica('A', redis.url, standInUrl, 'local'),
      new Replica('B', redis.url, standInUrl, 'local'),
      new Replica('C', redis.url, standInUrl, 'reject'),
    ];
    await Promise.all(replicas.map((r) => r.started));
    await eventually('every replica subscribed to breaker announcements', async () => {
      const statuses = await Promise.all(
        replicas.map((r) => r.request<{ store: { pushing: boolean } }>({ type: 'status' })),
      );
      return statuses.every((s) => s.store.pushing);
    });
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    admin?.disconnect();
    await new Promise((resolve) => standIn?.close(resolve));
    await redis?.dispose();
  });

  /**
   * Hammers `limited` through all three replicas for `ms`, from a full bucket. Checks the hard ceiling (no more
   * than the burst plus what refilled up to the last take, on the server's clock) and that only accepted calls
   * reached the provider; returns accepted and expected = burst + rate × (first call to last call, fleet-wide).
   */
  async function hammer(ms: number) {
    const bucket = keyNames(KEY_PREFIX, 'acme/limited').bucket;
    for (let round = 1; ; round++) {
      await admin.del(bucket);
      const hitsBefore = hitsOn('/limited');
      const serverStart = await serverTime(admin);
      const until = Date.now() + ms;
      const results = await Promise.all(
        replicas.map((r) => r.request<HammerResult>({ type: 'hammer', integration: 'limited', until })),
      );
      for (const result of results) expect(result.other).toEqual([]);
      const accepted = results.reduce((sum, r) => sum + r.accepted, 0);
      const stored = await admin.hgetall(bucket);
      expect(accepted).toBeLessThanOrEqual(
        BURST + PER_MS * (Number(stored.at) - serverStart) - Number(stored.tokens) + 1e-6,
      );
      expect(hitsOn('/limited') - hitsBefore).toBe(accepted);

      const starts = results.flatMap((r) => r.starts).sort((x, y) => x - y);
      const first = starts[0]!;
      const elapsed = starts.at(-1)! - first;
      const slices = new Array<number>(Math.floor(elapsed / SLICE_MS)).fill(0);
      for (const start of starts) {
        const slice = Math.floor((start - first) / SLICE_MS);
        if (slice < slices.length) slices[slice]!++;
      }
      const thin = slices.filter((calls) => calls < MIN_CALLS_PER_SLICE).length;
      // A replica whose own event loop stalled past the command timeout: Redis handed out the token, the replica
      // no longer waited for it. The machine's doing, not the store's.
      const late = results.reduce((sum, r) => sum + r.unavailable, 0);
      if (thin === 0 && late === 0) return { results, accepted, expected: BURST + PER_MS * elapsed };
      const why = `${thin} of ${slices.length} slices had under ${MIN_CALLS_PER_SLICE} calls, ${late} calls outlived the command timeout`;
      if (round === 3) throw new Error(`the machine is too busy to measure a rate: ${why}`);
      console.warn(`${why} (a busy machine): measuring again`);
    }
  }

  /** Fails `fragile`-like integration on A only, then waits until B and C turn it away too (at most 1 s). */
  async function openOnAAndWatchOthers(integration: string) {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    // B and C use the integration while it is healthy for them: their breakers are closed and reading shared state.
    for (const replica of [b, c])
      expect(await replica.call(integration)).toMatchObject({ ok: true, breaker: 'closed' });

    failing.add(`/${integration} A`);
    const failuresBefore = hitsOn(`/${integration}`, 'A');
    for (let i = 0; i < 3; i++) expect(await a.call(integration)).toMatchObject({ ok: false, kind: 'unavailable' });
    const openedAt = Date.now();
    expect(await a.call(integration)).toMatchObject({ ok: false, kind: 'circuit_open', breaker: 'open' });

    // Poll the others: each poll is a call, which is when core's breaker consults the store.
    const seenOpen = new Set<string>();
    while (seenOpen.size < 2 && Date.now() - openedAt <= 1_000) {
      for (const replica of [b, c]) {
        if (seenOpen.has(replica.name)) continue;
        const result = await replica.call(integration);
        if (result.kind === 'circuit_open' && result.breaker === 'open') seenOpen.add(replica.name);
        else expect(result).toMatchObject({ ok: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect([...seenOpen].sort(), 'B and C saw the breaker open within 1 s of A opening it').toEqual(['B', 'C']);
    // Their breakers opened from the shared state alone: the stand-in never failed a call of theirs.
    expect(hitsOn(`/${integration}`, 'A')).toBe(failuresBefore + 3);
  }

  it('holds the whole fleet to one rate limit: accepted = burst + rate × elapsed, within 5%', async () => {
    const { results, accepted, expected } = await hammer(3_000);
    expect(Math.abs(accepted - expected)).toBeLessThanOrEqual(expected * 0.05);
    // Every replica took part, and each was turned away often.
    for (const result of results) {
      expect(result.accepted).toBeGreaterThan(0);
      expect(result.rejected).toBeGreaterThan(0);
    }
  });

  it('shows a breaker opened by failures on one replica as open on the others within 1 s', async () => {
    await openOnAAndWatchOthers('fragile');
  });

  it('keeps serving per onUnavailable while Redis is down, and shares state again once it is back', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    await redis.stop();
    await eventually('every replica noticed Redis is gone', () =>
      replicas.every((r) => r.changes.includes('store:unavailable')),
    );

    // "local" replicas limit on their own; the "reject" replica turns rate-limited calls away.
    const limitedBefore = hitsOn('/limited');
    expect(await a.call('limited')).toMatchObject({ ok: true });
    expect(await b.call('limited')).toMatchObject({ ok: true });
    expect(await c.call('limited')).toMatchObject({ ok: false, kind: 'rate_limited', code: 'store_unavailable' });
    expect(hitsOn('/limited')).toBe(limitedBefore + 2);
    // Integrations without a rate limit are untouched by the outage, on every replica.
    for (const replica of replicas) expect(await replica.call('fragile-again')).toMatchObject({ ok: true });
    for (const replica of replicas) {
      const status = await replica.request<{ store: { state: string; mode: string } }>({ type: 'status' });
      expect(status.store).toMatchObject({ state: 'down', mode: replica.mode });
    }

    await redis.start();
    await eventually(
      'every replica recovered',
      () => replicas.every((r) => r.changes.includes('store:recovered')),
      15_000,
    );
    await eventually('every replica subscribed again', async () => {
      const statuses = await Promise.all(
        replicas.map((r) => r.request<{ store: { pushing: boolean } }>({ type: 'status' })),
      );
      return statuses.every((s) => s.store.pushing);
    });
    for (const replica of replicas) expect(replica.changes).toEqual(['store:unavailable', 'store:recovered']);

    // Breakers are shared again...
    await openOnAAndWatchOthers('fragile-again');
    // ...and so is the bucket: the restarted Redis starts it full, and the fleet gets one limit, not three.
    const { accepted, expected } = await hammer(1_500);
    expect(Math.abs(accepted - expected)).toBeLessThanOrEqual(expected * 0.05);

    for (const replica of replicas) expect(replica.alive).toBe(true);
  });
});
