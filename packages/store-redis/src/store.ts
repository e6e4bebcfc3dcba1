import {
  type BreakerState,
  IntegrationError,
  Redactor,
  type SharedBreakerState,
  type StateStore,
  type TokenBucketSpec,
} from '@integrations/core';
import { MemoryStore } from '@integrations/core/policies';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { breakerChannel, type KeyNames, keyNames } from './keys.js';
import {
  type RedisStoreOptions,
  type ResolvedOptions,
  resolveOptions,
  type StoreStateChange,
  type StoreStateListener,
  type UnavailableMode,
} from './options.js';
import { AVAILABLE_TOKENS, GET_BREAKER, SET_BREAKER, TAKE_TOKEN } from './scripts.js';

type Client = Redis | Cluster;

/** The scripts, as ioredis exposes them once defined (EVALSHA, EVAL on NOSCRIPT). */
interface ScriptCommands {
  integrationsTakeToken(key: string, capacity: number, refillPerMs: number): Promise<string>;
  integrationsAvailableTokens(key: string, capacity: number, refillPerMs: number): Promise<string>;
  integrationsSetBreaker(key: string, value: string, ttlMs: number, channel: string, message: string): Promise<number>;
  integrationsGetBreaker(key: string): Promise<[string | null, number]>;
}

/** `connecting` until the first answer or failure; `closed` after close(). */
export type StoreHealth = 'connecting' | 'up' | 'down' | 'closed';

export interface RedisStoreStatus {
  state: StoreHealth;
  /** What the store does while Redis is unavailable. */
  mode: UnavailableMode;
  /** When the current state began. */
  since: Date;
  /** Why Redis is unavailable, while it is. */
  reason: string | undefined;
  /** Breaker changes reach this process by pub/sub; otherwise each breaker read asks Redis. */
  pushing: boolean;
}

interface CachedBreaker {
  state: SharedBreakerState | undefined;
  /** Monotonic ms (performance.now()) when Redis drops the key. */
  expiresAt: number;
}

interface BreakerRead {
  promise: Promise<SharedBreakerState | undefined>;
  /** An announcement for the key arrived while the read was out: it is newer than the read's answer. */
  stale: boolean;
}

const ABSENT: CachedBreaker = Object.freeze({ state: undefined, expiresAt: Number.POSITIVE_INFINITY });
const BREAKER_STATES: ReadonlySet<string> = new Set<BreakerState>(['closed', 'open', 'half_open']);
/** How often a store that timed out on a live connection asks Redis whether it answers again. */
const PROBE_INTERVAL_MS = 500;
/** The longest wait between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1_000;
/** Error replies that mean Redis cannot serve us now, as opposed to a problem with one command. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOAUTH|WRONGPASS|NOPERM|OOM)\b/;

/** What ioredis (and `bounded`) reject a command with when it took longer than the command timeout. */
const TIMED_OUT = 'Command timed out';

const noop = () => {};

function parseState(value: unknown): SharedBreakerState | undefined {
  if (typeof value === 'string') {
    try {
      return parseState(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { state, openUntil } = value as Record<string, unknown>;
  if (typeof state !== 'string' || !BREAKER_STATES.has(state)) return undefined;
  if (typeof openUntil !== 'number' || !Number.isFinite(openUntil)) return undefined;
  return { state: state as BreakerState, openUntil };
}

function isCluster(client: Client): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function commandTimeoutOf(client: Client): number | undefined {
  return isCluster(client) ? client.options.redisOptions?.commandTimeout : client.options.commandTimeout;
}

/**
 * A StateStore in Redis: token buckets and breaker state shared by every process pointed at the same Redis.
 * Buckets live in one Lua script on the server's clock. Breaker writes are announced on a channel, and each
 * process keeps what it heard, so breaker reads (core makes one per `syncIntervalMs`) are answered from memory.
 * While Redis is unavailable the store falls back to `onUnavailable` and comes back by itself.
 */
export class RedisStore implements StateStore {
  readonly mode: UnavailableMode;
  readonly keyPrefix: string;
  private readonly client: Client;
  private readonly commands: ScriptCommands;
  private readonly ownsClient: boolean;
  private readonly subscriber: Client;
  private readonly channel: string;
  /** Set for a caller's client without a command timeout of its own: the store bounds its commands itself. */
  private readonly ownTimeoutMs: number | undefined;
  /** The fallback for `local` (and for breakers in either mode). A new one per outage: each starts full. */
  private memory = new MemoryStore();
  private readonly redactor = new Redactor();
  private readonly listeners = new Set<StoreStateListener>();
  private readonly names = new Map<string, KeyNames>();
  private readonly detachers: Array<() => void> = [];

  private health: StoreHealth = 'connecting';
  private since = Date.now();
  private reason: string | undefined;
  private lastError: string | undefined;
  private readonly gate: Promise<void>;
  private openGate: () => void = noop;
  private gateTimer: ReturnType<typeof setTimeout> | undefined;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private closing: Promise<void> | undefined;
  /** A PING is out to tell a stalled Redis from a late reply. */
  private confirming = false;

  /** The announcement channel is subscribed: the cache hears every breaker write. */
  private subscribed = false;
  /** Bumped whenever the cache is dropped, so a read begun before then does not fill it. */
  private epoch = 0;
  private readonly cache = new Map<string, CachedBreaker>();
  private readonly reads = new Map<string, BreakerRead>();

  constructor(options: RedisStoreOptions) {
    const resolved = resolveOptions(options);
    this.mode = resolved.onUnavailable;
    this.keyPrefix = resolved.keyPrefix;
    this.channel = breakerChannel(resolved.keyPrefix);
    if (resolved.onStateChange) this.listeners.add(resolved.onStateChange);
    this.gate = new Promise<void>((resolve) => {
      this.openGate = resolve;
    });

    if (resolved.client !== undefined) {
      this.client = resolved.client;
      this.ownsClient = false;
      this.ownTimeoutMs = commandTimeoutOf(resolved.client) === undefined ? resolved.commandTimeoutMs : undefined;
      this.learnSecrets(isCluster(resolved.client) ? resolved.client.options.redisOptions : resolved.client.options);
    } else {
      this.client = new Redis(resolved.url!, this.clientOptions(resolved));
      this.ownsClient = true;
      this.ownTimeoutMs = undefined;
      this.learnSecrets(this.client.options);
      this.learnUrlSecrets(resolved.url!);
    }
    this.client.defineCommand('integrationsTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
    this.client.defineCommand('integrationsAvailableTokens', { numberOfKeys: 1, lua: AVAILABLE_TOKENS });
    this.client.defineCommand('integrationsSetBreaker', { numberOfKeys: 1, lua: SET_BREAKER });
    this.client.defineCommand('integrationsGetBreaker', { numberOfKeys: 1, lua: GET_BREAKER });
    this.commands = this.client as unknown as ScriptCommands;
    this.subscriber = this.createSubscriber(resolved);

    this.listen(this.client, 'ready', () => this.markUp());
    this.listen(this.client, 'error', (error: unknown) => {
      this.lastError = this.describe(error);
    });
    this.listen(this.client, 'close', () => this.markDown(this.lastError ?? 'connection closed'));
    this.listen(this.client, 'end', () => this.markDown(this.lastError ?? 'connection ended'));
    if (this.client.status === 'ready') this.markUp();
    else if (this.client.status === 'wait') this.client.connect().catch(noop);

    // A connection attempt that neither succeeds nor fails in time still must not hold calls back.
    const limit = resolved.connectTimeoutMs + resolved.commandTimeoutMs;
    this.gateTimer = setTimeout(() => {
      this.gateTimer = undefined;
      if (this.health === 'connecting') this.markDown(`no connection to Redis within ${limit} ms`);
    }, limit);
    this.gateTimer.unref?.();
  }

  /** Takes a token from the shared bucket: 0 when taken, else the ms until one will be there. */
  takeToken(key: string, bucket: TokenBucketSpec): number | Promise<number> {
    const health = this.health;
    if (health === 'up') {
      return this.bounded(
        this.commands.integrationsTakeToken(this.keys(key).bucket, bucket.capacity, bucket.refillPerMs),
      ).then(
        (reply) => {
          const wait = Number(reply);
          return Number.isFinite(wait) && wait > 0 ? wait : 0;
        },
        (error: unknown) => {
          this.failed(error);
          return this.takeUnavailable(key, bucket);
        },
      );
    }
    if (health === 'connecting') return this.gate.then(() => this.takeToken(key, bucket));
    return this.takeUnavailable(key, bucket);
  }

  availableTokens(key: string, bucket: TokenBucketSpec): number | Promise<number> {
    const health = this.health;
    if (health === 'up') {
      return this.bounded(
        this.commands.integrationsAvailableTokens(this.keys(key).bucket, bucket.capacity, bucket.refillPerMs),
      ).then(Number, (error: unknown) => {
        this.failed(error);
        return this.availableUnavailable(key, bucket);
      });
    }
    if (health === 'connecting') return this.gate.then(() => this.availableTokens(key, bucket));
    return this.availableUnavailable(key, bucket);
  }

  getBreaker(key: string): SharedBreakerState | undefined | Promise<SharedBreakerState | undefined> {
    const health = this.health;
    if (health === 'connecting') return this.gate.then(() => this.getBreaker(key));
    if (health !== 'up') return this.memory.getBreaker(key);
    if (this.subscribed) {
      const cached = this.cache.get(key);
      if (cached !== undefined) {
        if (cached.expiresAt > performance.now()) return cached.state;
        // Redis dropped the key at the same moment: nothing is shared for it any more.
        this.cache.set(key, ABSENT);
        return undefined;
      }
    }
    return this.readBreaker(key);
  }

  setBreaker(key: string, state: SharedBreakerState, ttlMs: number): void | Promise<void> {
    const health = this.health;
    if (health === 'connecting') return this.gate.then(() => this.setBreaker(key, state, ttlMs));
    if (health !== 'up') {
      this.memory.setBreaker(key, state, ttlMs);
      return;
    }
    const shared: SharedBreakerState = { state: state.state, openUntil: state.openUntil };
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const value = JSON.stringify(shared);
    const announcement = JSON.stringify({ key, state: shared, ttlMs: ttl });
    this.remember(key, shared, ttl);
    return this.bounded(
      this.commands.integrationsSetBreaker(this.keys(key).breaker, value, ttl, this.channel, announcement),
    ).then(noop, (error: unknown) => {
      this.failed(error);
      this.memory.setBreaker(key, state, ttlMs);
    });
  }

  /** Where the store stands now (for status pages). */
  get status(): RedisStoreStatus {
    return {
      state: this.health,
      mode: this.mode,
      since: new Date(this.since),
      reason: this.health === 'down' ? this.reason : undefined,
      pushing: this.subscribed,
    };
  }

  /**
   * Resolves once the first connection attempt is over: true when Redis answered, false when the store started
   * in its `onUnavailable` mode (it keeps reconnecting). Never rejects.
   */
  async ready(): Promise<boolean> {
    await this.gate;
    return this.health === 'up';
  }

  /** Calls `listener` on `store:unavailable`, `store:recovered` and `store:error`. Returns the unsubscribe. */
  onStateChange(listener: StoreStateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Closes the connections the store opened (not a client you passed in). Later calls return the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.health = 'closed';
      this.since = Date.now();
      this.subscribed = false;
      this.dropCache();
      this.openGate();
      if (this.gateTimer !== undefined) clearTimeout(this.gateTimer);
      if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
      for (const detach of this.detachers) detach();
      this.listeners.clear();
      const quits = [quit(this.subscriber)];
      if (this.ownsClient) quits.push(quit(this.client));
      await Promise.all(quits);
    })();
    return this.closing;
  }

  private clientOptions(resolved: ResolvedOptions): RedisOptions {
    return {
      // Nothing queues while Redis is away: a call is answered by the fallback at once instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: resolved.commandTimeoutMs,
      connectTimeout: resolved.connectTimeoutMs,
      retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
      connectionName: 'integrations-store',
    };
  }

  private createSubscriber(resolved: ResolvedOptions): Client {
    const client = this.client;
    let subscriber: Client;
    if (isCluster(client)) {
      subscriber = client.duplicate();
    } else {
      subscriber = client.duplicate({
        enableOfflineQueue: false,
        enableAutoPipelining: false,
        autoResubscribe: false,
        maxRetriesPerRequest: 0,
        commandTimeout: undefined,
        connectTimeout: resolved.connectTimeoutMs,
        retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
        lazyConnect: false,
        connectionName: 'integrations-store-sub',
      });
    }
    subscriber.on('error', noop);
    subscriber.on('message', (channel: string, message: string) => this.onAnnouncement(channel, message));
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(() => {
        if (this.health === 'closed') return;
        // Everything cached before this moment may have missed announcements.
        this.dropCache();
        this.subscribed = true;
      }, noop);
    });
    subscriber.on('close', () => {
      this.subscribed = false;
      this.dropCache();
    });
    return subscriber;
  }

  /** An announcement of a breaker write, from any process (this one too). */
  private onAnnouncement(channel: string, message: string): void {
    if (channel !== this.channel || !this.subscribed) return;
    let parsed: { key?: unknown; state?: unknown; ttlMs?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    const state = parseState(parsed.state);
    const { key, ttlMs } = parsed;
    if (state === undefined || typeof key !== 'string' || typeof ttlMs !== 'number' || !(ttlMs > 0)) return;
    // Only keys this process uses are kept; any other is read from Redis when first asked for.
    if (this.cache.has(key) || this.reads.has(key)) this.remember(key, state, ttlMs);
  }

  private remember(key: string, state: SharedBreakerState, ttlMs: number): void {
    if (!this.subscribed) return;
    const read = this.reads.get(key);
    if (read !== undefined) read.stale = true;
    this.cache.set(key, { state, expiresAt: performance.now() + ttlMs });
  }

  private readBreaker(key: string): Promise<SharedBreakerState | undefined> {
    const pending = this.reads.get(key);
    if (pending !== undefined) return pending.promise;
    const epoch = this.epoch;
    const read: BreakerRead = { promise: undefined as never, stale: false };
    read.promise = this.bounded(this.commands.integrationsGetBreaker(this.keys(key).breaker)).then(
      (reply) => {
        if (this.reads.get(key) === read) this.reads.delete(key);
        if (read.stale) return this.cache.get(key)?.state;
        const [value, pttl] = reply;
        const state = parseState(value);
        if (this.subscribed && epoch === this.epoch) {
          const expiresAt = pttl > 0 ? performance.now() + pttl : Number.POSITIVE_INFINITY;
          this.cache.set(key, state === undefined || pttl === -2 ? ABSENT : { state, expiresAt });
        }
        return state;
      },
      (error: unknown) => {
        if (this.reads.get(key) === read) this.reads.delete(key);
        this.failed(error);
        return this.memory.getBreaker(key);
      },
    );
    this.reads.set(key, read);
    return read.promise;
  }

  private dropCache(): void {
    this.epoch++;
    this.cache.clear();
    this.reads.clear();
  }

  private takeUnavailable(key: string, bucket: TokenBucketSpec): number {
    if (this.mode === 'local') return this.memory.takeToken(key, bucket);
    throw new IntegrationError(
      'rate_limited',
      `rate limit state is unavailable (Redis: ${this.reason ?? 'not connected'}) and onUnavailable is "reject"`,
      { retryable: false, code: 'store_unavailable', retryAfterMs: MAX_RECONNECT_DELAY_MS },
    );
  }

  private availableUnavailable(key: string, bucket: TokenBucketSpec): number {
    return this.mode === 'local' ? this.memory.availableTokens(key, bucket) : 0;
  }

  private keys(key: string): KeyNames {
    let names = this.names.get(key);
    if (names === undefined) {
      names = keyNames(this.keyPrefix, key);
      this.names.set(key, names);
    }
    return names;
  }

  /** A command failed: Redis is unavailable, or it refused this one command. */
  private failed(error: unknown): void {
    const reason = this.describe(error);
    const name = error instanceof Error ? error.name : '';
    if (name === 'ReplyError' && !UNAVAILABLE_REPLY.test(reason)) {
      this.emit({ type: 'store:error', reason, at: new Date() });
      return;
    }
    if (reason === TIMED_OUT && this.health === 'up') {
      this.confirmTimeout();
      return;
    }
    this.markDown(reason);
  }

  /**
   * One late answer may be a blip on our side (a busy event loop reads the reply after the timer fired): the call
   * was answered by the fallback, and only a PING that times out too makes the whole store fall back.
   */
  private confirmTimeout(): void {
    if (this.confirming) return;
    this.confirming = true;
    this.bounded(this.client.ping()).then(
      () => {
        this.confirming = false;
      },
      (error: unknown) => {
        this.confirming = false;
        this.markDown(this.describe(error));
      },
    );
  }

  private markDown(reason: string): void {
    const health = this.health;
    if (health === 'down' || health === 'closed') return;
    this.health = 'down';
    this.since = Date.now();
    this.reason = reason;
    this.memory = new MemoryStore();
    // What was heard over pub/sub cannot be trusted across the gap.
    this.dropCache();
    this.openGate();
    this.emit({ type: 'store:unavailable', reason, mode: this.mode, at: new Date() });
    this.scheduleProbe();
  }

  private markUp(): void {
    const health = this.health;
    if (health === 'up' || health === 'closed') return;
    const downSince = this.since;
    this.health = 'up';
    this.since = Date.now();
    this.reason = undefined;
    this.lastError = undefined;
    this.openGate();
    if (this.probeTimer !== undefined) {
      clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
    }
    if (health === 'down') this.emit({ type: 'store:recovered', downMs: this.since - downSince, at: new Date() });
  }

  /**
   * A timeout on a connection that stays open (a stalled server) brings no reconnect and so no `ready`: ask
   * Redis now and then whether it answers again.
   */
  private scheduleProbe(): void {
    if (this.probeTimer !== undefined || this.health !== 'down') return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.health !== 'down') return;
      if (this.client.status !== 'ready') {
        // Reconnecting: its `ready` ends the outage. Look again later in case it never disconnects.
        this.scheduleProbe();
        return;
      }
      this.bounded(this.client.ping()).then(
        () => this.markUp(),
        () => this.scheduleProbe(),
      );
    }, PROBE_INTERVAL_MS);
    this.probeTimer.unref?.();
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    const ms = this.ownTimeoutMs;
    if (ms === undefined) return promise;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(TIMED_OUT)), ms);
      timer.unref?.();
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  private emit(change: StoreStateChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's bug must not break the store.
      }
    }
  }

  private listen(client: Client, event: string, handler: (...args: never[]) => void): void {
    const listener = handler as (...args: unknown[]) => void;
    client.on(event, listener);
    this.detachers.push(() => client.off(event, listener));
  }

  private describe(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return this.redactor.redact(message.length > 300 ? `${message.slice(0, 300)}…` : message);
  }

  private learnSecrets(options: { password?: string | undefined } | undefined): void {
    this.redactor.add(options?.password);
  }

  private learnUrlSecrets(url: string): void {
    try {
      const parsed = new URL(url);
      this.redactor.add(parsed.password);
      this.redactor.add(decodeURIComponent(parsed.password));
    } catch {
      // ioredis parses what URL cannot; its own options already gave the password.
    }
  }
}

function quit(client: Client): Promise<void> {
  if (client.status === 'ready') {
    return client.quit().then(noop, () => client.disconnect());
  }
  client.disconnect();
  return Promise.resolve();
}

/** A StateStore in Redis, shared by every process given the same Redis and key prefix. */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}
