import { IntegrationError, InvalidConfigError } from '@integrations/core';
import { createMemoryStore, type MemoryStore } from '@integrations/core/policies';
import type { StoreStateListener, UnavailableMode } from './options.js';
import { RedisStore } from './store.js';

/** `server.store` of an @integrations/config file, as it loads. */
export type StoreSettings =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; keyPrefix?: string | undefined; onUnavailable?: UnavailableMode | undefined };

export interface StoreFromConfigOptions {
  /** Told when Redis goes away and comes back. */
  onStateChange?: StoreStateListener | undefined;
  /** Default 250 ms. */
  commandTimeoutMs?: number | undefined;
  /** Default 2 000 ms. */
  connectTimeoutMs?: number | undefined;
}

/** The store a config names, with what an application needs to run it: hand `store` to createRegistry. */
export type ConfiguredStore =
  | {
      readonly kind: 'memory';
      readonly store: MemoryStore;
      /** Always true: memory is always there. */
      ready(): Promise<boolean>;
      close(): Promise<void>;
    }
  | {
      readonly kind: 'redis';
      readonly store: RedisStore;
      /** True once Redis answered; false when the first attempt failed and the store runs in its fallback mode. */
      ready(): Promise<boolean>;
      close(): Promise<void>;
    };

/**
 * Builds the StateStore `server.store` describes: `{ kind: 'memory' }` (one process) or
 * `{ kind: 'redis', url, keyPrefix?, onUnavailable? }` (every replica shares limits and breakers).
 */
export function createStoreFromConfig(settings: StoreSettings, options: StoreFromConfigOptions = {}): ConfiguredStore {
  const kind = (settings as { kind?: unknown } | undefined)?.kind;
  if (kind === 'memory') {
    // Core's own store: the rate limiter recognises it and skips the store call on the hot path.
    const store = createMemoryStore();
    return { kind, store, ready: () => Promise.resolve(true), close: () => Promise.resolve() };
  }
  if (kind === 'redis') {
    const redis = settings as Extract<StoreSettings, { kind: 'redis' }>;
    let store: RedisStore;
    try {
      store = new RedisStore({
        url: redis.url,
        keyPrefix: redis.keyPrefix,
        onUnavailable: redis.onUnavailable,
        commandTimeoutMs: options.commandTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
        onStateChange: options.onStateChange,
      });
    } catch (error) {
      // Name the paths as they are written in the config file.
      const issues = IntegrationError.isInstance(error) ? (error as Partial<InvalidConfigError>).issues : undefined;
      if (issues !== undefined) {
        throw new InvalidConfigError(
          'store-redis',
          issues.map((issue) => ({ ...issue, path: `server.store.${issue.path}` })),
        );
      }
      throw error;
    }
    return { kind, store, ready: () => store.ready(), close: () => store.close() };
  }
  throw new InvalidConfigError('store-redis', [
    { path: 'server.store.kind', message: `must be "memory" or "redis", got ${JSON.stringify(kind)}` },
  ]);
}
