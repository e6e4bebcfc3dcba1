/**
 * Every numeric setting of every policy (and of the registry's health checks), as data: its default and what it
 * accepts. Policies read their options
 * through `settings` (which fills defaults and throws on the first bad field); the registry checks whole configs
 * through `checkSettings` (which collects every bad field), so both apply the same rules from one table.
 */
import { type ConfigIssue, IntegrationError } from '../errors.js';

// Rule bits. Without INT a value may be fractional; without ZERO it must be > 0.
const INT = 1;
const ZERO = 2;
/** At most 1 (a rate). */
const RATE = 4;
/** At least 1 (a bucket must hold a whole token). */
const ONE = 8;

/** [default (undefined: required), rule]. */
type Rule = readonly [number | undefined, number];

export const SETTINGS: Record<string, Record<string, Rule>> = {
  retry: { maxAttempts: [3, INT], initialDelayMs: [100, ZERO], backoffMultiplier: [2, 0], maxDelayMs: [30_000, ZERO] },
  circuitBreaker: {
    failureThreshold: [5, INT],
    failureRateThreshold: [0.5, RATE],
    windowMs: [60_000, 0],
    minimumThroughput: [10, INT],
    recoveryTimeoutMs: [60_000, 0],
    halfOpenMaxProbes: [1, INT],
    syncIntervalMs: [1_000, ZERO],
  },
  // burst's default depends on requestsPerMinute: 0 here, the limiter fills it in.
  rateLimit: { requestsPerMinute: [undefined, 0], burst: [0, ONE], maxWaitMs: [Infinity, ZERO] },
  bulkhead: { maxConcurrent: [undefined, INT], maxQueue: [0, INT | ZERO] },
  healthCheck: { intervalMs: [30_000, 0], timeoutMs: [10_000, 0] },
};

/** What is wrong with `value` under `rule`, or undefined. Infinity is accepted only where it is the default. */
function problem(value: unknown, [fallback, rule]: Rule, coarse: boolean): string | undefined {
  if (value === undefined) return fallback === undefined ? 'is required' : undefined;
  const n = value as number;
  const inRange =
    typeof n === 'number' && (n > 0 || (n === 0 && rule & ZERO)) && (n < Infinity || fallback === Infinity);
  if (inRange && (!(rule & INT) || Number.isInteger(n)) && (!(rule & RATE) || n <= 1) && (!(rule & ONE) || n >= 1)) {
    return undefined;
  }
  // The registry's wording for a value that is not even a positive number; the finer rules say more.
  if (!inRange && coarse) return 'must be a positive finite number';
  const kind = rule & INT ? 'an integer' : fallback === Infinity ? 'a number' : 'a finite number';
  const bound = rule & ZERO ? '>= 0' : rule & (INT | ONE) ? '>= 1' : '> 0';
  return `must be ${kind} ${bound}${rule & RATE ? ' and <= 1' : ''}, got ${String(value)}`;
}

/** Throws the typed error policies raise for bad options. */
export function invalid(message: string): IntegrationError {
  return new IntegrationError('invalid_config', message, { retryable: false });
}

/** The fields of setting `group` in `options`, defaults filled in. Throws naming the first bad field. */
export function settings(group: string, options: object | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, rule] of Object.entries(SETTINGS[group]!)) {
    const value = (options as Record<string, number> | undefined)?.[key];
    const message = problem(value, rule, false);
    if (message) throw invalid(`${group}.${key} ${message}`);
    out[key] = value ?? rule[0]!;
  }
  return out;
}

/** A policy's timeout: a number > 0 (Infinity for none). */
export function timeoutSetting(value: unknown, name = 'timeoutMs'): number {
  const message = problem(value, [Infinity, 0], false);
  if (message) throw invalid(`${name} ${message}`);
  return (value as number | undefined) ?? Infinity;
}

/**
 * Adds an issue for every bad setting in `config` (timeoutMs and the groups of SETTINGS). `partial`: required
 * fields may be missing (a tenant override or an integration's own settings, before they are merged).
 */
export function checkSettings(
  config: Record<string, unknown>,
  prefix: string,
  issues: ConfigIssue[],
  partial: boolean,
) {
  const push = (path: string, message: string | undefined) => {
    if (message && !(partial && message === 'is required')) issues.push({ path: prefix + path, message });
  };
  const timeout = config.timeoutMs;
  if (timeout !== false && problem(timeout, [Infinity, 0], true)) {
    push('timeoutMs', 'must be a positive number of milliseconds or false');
  }
  for (const [group, fields] of Object.entries(SETTINGS)) {
    const value = config[group] as Record<string, unknown> | false | undefined;
    if (value === undefined || value === false) continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) push(group, 'must be an object or false');
    else for (const [key, rule] of Object.entries(fields)) push(`${group}.${key}`, problem(value[key], rule, true));
  }
}
