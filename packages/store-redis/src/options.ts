import { type ConfigIssue, InvalidConfigError } from '@integrations/core';
import type { Cluster, Redis } from 'ioredis';

/** What the store does while Redis cannot be reached. */
export type UnavailableMode = 'local' | 'reject';

/** A change in the store's connection to Redis. */
export type StoreStateChange =
  | {
      type: 'store:unavailable';
      /** Why: the connection error or timeout, never the URL. */
      reason: string;
      /** What the store does until Redis is back. */
      mode: UnavailableMode;
      at: Date;
    }
  | {
      type: 'store:recovered';
      /** How long Redis was away. */
      downMs: number;
      at: Date;
    }
  | {
      /** Redis answered a command with an error that says nothing about its availability (e.g. WRONGTYPE). */
      type: 'store:error';
      reason: string;
      at: Date;
    };

export type StoreStateListener = (change: StoreStateChange) => void;

export interface RedisStoreOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. Either this or `client`. */
  url?: string | undefined;
  /**
   * A client you created (a `Redis` or a `Cluster`). You own it: `close()` leaves it open. The store opens one
   * more connection from it (`duplicate()`) for breaker announcements.
   */
  client?: Redis | Cluster | undefined;
  /** Prepended to every key and to the announcement channel. Default `integrations:`. No braces. */
  keyPrefix?: string | undefined;
  /** `local` (default): each process limits on its own until Redis is back. `reject`: calls are rate_limited. */
  onUnavailable?: UnavailableMode | undefined;
  /** Longest any Redis command may take before the store treats Redis as unavailable. Default 250 ms. */
  commandTimeoutMs?: number | undefined;
  /** Longest a connection attempt may take. Default 2 000 ms. */
  connectTimeoutMs?: number | undefined;
  /** Told when Redis goes away and comes back (also: `store.onStateChange(listener)`). */
  onStateChange?: StoreStateListener | undefined;
}

export interface ResolvedOptions {
  url: string | undefined;
  client: Redis | Cluster | undefined;
  keyPrefix: string;
  onUnavailable: UnavailableMode;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  onStateChange: StoreStateListener | undefined;
}

export const DEFAULT_KEY_PREFIX = 'integrations:';
const DEFAULT_COMMAND_TIMEOUT_MS = 250;
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const MODES: readonly UnavailableMode[] = ['local', 'reject'];

function positive(value: unknown, fallback: number, path: string, issues: ConfigIssue[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    issues.push({ path, message: 'must be a positive finite number of milliseconds' });
    return fallback;
  }
  return value;
}

/** Checks every option and names each one that is wrong. The URL is never echoed: it may hold a password. */
export function resolveOptions(options: RedisStoreOptions): ResolvedOptions {
  const issues: ConfigIssue[] = [];
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('store-redis', [{ path: '', message: 'options must be an object' }]);
  }
  const { url, client } = options;
  if (url !== undefined && client !== undefined) {
    issues.push({ path: 'url', message: 'give either url or client, not both' });
  } else if (url === undefined && client === undefined) {
    issues.push({ path: 'url', message: 'is required (or pass an ioredis client as client)' });
  } else if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\/[^/]/.test(url))) {
    issues.push({ path: 'url', message: 'must be a redis:// or rediss:// URL' });
  } else if (client !== undefined && (typeof client !== 'object' || typeof client.duplicate !== 'function')) {
    issues.push({ path: 'client', message: 'must be an ioredis Redis or Cluster instance' });
  }
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (typeof keyPrefix !== 'string') {
    issues.push({ path: 'keyPrefix', message: 'must be a string' });
  } else if (/[{}]/.test(keyPrefix)) {
    // A brace in the prefix would become every key's hash tag and put the whole fleet in one cluster slot.
    issues.push({ path: 'keyPrefix', message: 'must not contain "{" or "}" (the store adds the hash tag itself)' });
  }
  const onUnavailable = options.onUnavailable ?? 'local';
  if (!MODES.includes(onUnavailable)) {
    issues.push({
      path: 'onUnavailable',
      message: `must be "local" or "reject", got ${JSON.stringify(onUnavailable)}`,
    });
  }
  const commandTimeoutMs = positive(options.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS, 'commandTimeoutMs', issues);
  const connectTimeoutMs = positive(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs', issues);
  if (options.onStateChange !== undefined && typeof options.onStateChange !== 'function') {
    issues.push({ path: 'onStateChange', message: 'must be a function' });
  }
  if (issues.length > 0) throw new InvalidConfigError('store-redis', issues);
  return {
    url,
    client,
    keyPrefix,
    onUnavailable,
    commandTimeoutMs,
    connectTimeoutMs,
    onStateChange: options.onStateChange,
  };
}
