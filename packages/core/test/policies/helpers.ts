import { type ErrorKind, IntegrationError } from '../../src/errors.js';
import { EventBus, type EventName, type IntegrationEvents } from '../../src/events.js';

export const source = { provider: 'acme', integration: 'acme_main', tenant: 't1' };

export function fail(kind: ErrorKind, options: { retryAfterMs?: number; retryable?: boolean } = {}): IntegrationError {
  return new IntegrationError(kind, `${kind} from the provider`, options);
}

/** An EventBus that records every event it is given, by name. */
export function recordEvents<E extends EventName>(...names: E[]) {
  const events = new EventBus();
  const seen: { [K in E]: IntegrationEvents[K][] } = {} as { [K in E]: IntegrationEvents[K][] };
  for (const name of names) {
    seen[name] = [];
    events.on(name, (event) => seen[name].push(event));
  }
  return { events, seen };
}

/** A promise with its settle functions, for operations the test finishes by hand. */
export function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Settles `promise` into a value or the thrown error, so a test can inspect a rejection without try/catch. */
export function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: IntegrationError }> {
  return promise.then(
    (value) => ({ value }),
    (error: IntegrationError) => ({ error }),
  );
}
