export {
  type ConfiguredStore,
  createStoreFromConfig,
  type StoreFromConfigOptions,
  type StoreSettings,
} from './from-config.js';
export { hashTag, type KeyNames, keyNames } from './keys.js';
export {
  DEFAULT_KEY_PREFIX,
  type RedisStoreOptions,
  type StoreStateChange,
  type StoreStateListener,
  type UnavailableMode,
} from './options.js';
export { createRedisStore, RedisStore, type RedisStoreStatus, type StoreHealth } from './store.js';
export { VERSION } from './version.js';
