/**
 * Key names. Every Redis key of one logical key (tenant/integration) carries the same hash tag `{...}`, so under
 * Redis Cluster they all live in one slot and a script may touch any of them.
 */

/** The names behind one logical key. */
export interface KeyNames {
  /** Hash with the bucket's `tokens` and the server time (`at`, ms) they were counted at. */
  readonly bucket: string;
  /** The shared breaker state (JSON), expiring with the TTL core gives. */
  readonly breaker: string;
}

/**
 * Braces inside the logical key would move or split the hash tag, and `%` is escaped so the mapping stays
 * one-to-one (`a{b` and `a%7Bb` must not share keys).
 */
export function hashTag(key: string): string {
  return `{${key.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'))}}`;
}

export function keyNames(prefix: string, key: string): KeyNames {
  const base = `${prefix}${hashTag(key)}`;
  return { bucket: `${base}:bucket`, breaker: `${base}:breaker` };
}

/** The pub/sub channel breaker changes are announced on. Not a key: it has no slot. */
export function breakerChannel(prefix: string): string {
  return `${prefix}breaker-changes`;
}
