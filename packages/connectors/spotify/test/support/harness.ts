import {
  type EventName,
  IntegrationError,
  type IntegrationEvents,
  type IntegrationHandle,
  type IntegrationSettings,
  type Registry,
} from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { expect } from 'vitest';
import { type SpotifyConfig, type SpotifyInstance, spotify } from '../../src/index.js';

export interface Connected {
  spotify: IntegrationHandle<SpotifyInstance>;
  registry: Registry;
  events<E extends EventName>(name: E): IntegrationEvents[E][];
}

const registries: Registry[] = [];

/** Closes every registry `connect` opened; call it in afterEach. */
export async function closeAll(): Promise<void> {
  await Promise.all(registries.splice(0).map((r) => r.close()));
}

/**
 * The connector as an application gets it: registered in core's registry, behind its pipeline, started with
 * `enable` (which runs the health check once). Fast retries keep the suites short.
 */
export async function connect(
  config: SpotifyConfig,
  settings: Partial<IntegrationSettings> = {},
  expectHealthy = true,
): Promise<Connected> {
  const registry = createRegistry();
  registries.push(registry);
  const seen: { name: EventName; payload: unknown }[] = [];
  for (const name of ['call:start', 'call:failure', 'retry:scheduled'] as const) {
    registry.events.on(name, (payload) => seen.push({ name, payload }));
  }
  const handle = registry.register(spotify, {
    name: 'music',
    config,
    retry: { maxAttempts: 3, initialDelayMs: 5, jitter: 'none' },
    timeoutMs: 5000,
    healthCheck: false,
    ...settings,
  });
  const report = await registry.enable('music');
  if (expectHealthy) expect(report.status, report.error?.message).toBe('healthy');
  seen.length = 0;
  return {
    spotify: handle,
    registry,
    events: <E extends EventName>(name: E) =>
      seen.filter((e) => e.name === name).map((e) => e.payload as IntegrationEvents[E]),
  };
}

/** The IntegrationError a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    expect(IntegrationError.isInstance(error), String(error)).toBe(true);
    return error as IntegrationError;
  }
  throw new Error('expected the call to fail');
}

/** The first item of an async iterator, closing the iterator after it (so no further page is fetched). */
export async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Resolves once `condition` holds, checking every few milliseconds (fails the test after a while). */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting until ${what}`);
}
