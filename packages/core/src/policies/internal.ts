import { type Clock, systemClock } from '../clock.js';
import { IntegrationError, kindFromNetworkError } from '../errors.js';
import type { EventBus, EventName, EventSource, IntegrationEvents } from '../events.js';
import type { PolicyEnvironment } from './types.js';

/**
 * Anything that waits on a call's signals: an attempt, a backoff sleep, a queued bulkhead slot, a token wait.
 * Many of them share one signal, so they hang off one listener per signal (an intrusive list) instead of each
 * adding its own: 1,000 calls on one signal add one listener, not 1,000.
 */
export interface SignalWaiter {
  sPrev: SignalWaiter | null;
  sNext: SignalWaiter | null;
  hub: SignalHub | null;
  onCallerAbort(error: IntegrationError): void;
}

/**
 * The waiters of one signal. A hub may have a parent: the hub of an owner's signal (an integration's lifetime).
 * Such a hub stands for "the caller's signal or the owner's": it sits in its parent's list while it has waiters,
 * so a call carrying both costs no combined AbortSignal and no listener on the owner's signal.
 */
export class SignalHub implements SignalWaiter {
  head: SignalWaiter | null = null;
  tail: SignalWaiter | null = null;
  // As a waiter in the parent's list.
  sPrev: SignalWaiter | null = null;
  sNext: SignalWaiter | null = null;
  hub: SignalHub | null = null;
  /** Hubs of callers' signals under this one, by signal. */
  children: WeakMap<AbortSignal, SignalHub> | undefined = undefined;
  private listening = false;
  readonly signal: AbortSignal;
  private readonly parent: SignalHub | undefined;
  private readonly listener = () => this.abort(this.signal);

  constructor(signal: AbortSignal, parent?: SignalHub) {
    this.signal = signal;
    this.parent = parent;
  }

  get aborted(): boolean {
    return this.signal.aborted || this.parent?.aborted === true;
  }

  /** The reason of whichever signal aborted. */
  get reason(): unknown {
    return this.signal.aborted ? this.signal.reason : this.parent?.reason;
  }

  add(waiter: SignalWaiter): void {
    waiter.hub = this;
    const tail = this.tail;
    if (tail === null) {
      this.head = this.tail = waiter;
      if (!this.listening) {
        this.listening = true;
        this.signal.addEventListener('abort', this.listener);
        this.parent?.add(this);
      }
    } else {
      tail.sNext = waiter;
      waiter.sPrev = tail;
      this.tail = waiter;
    }
  }

  /** Takes `waiter` off the list. With `keepListener`, an emptied hub keeps its listener (see IdleHubSlot). */
  remove(waiter: SignalWaiter, keepListener = false): void {
    const { sPrev, sNext } = waiter;
    if (sPrev === null) this.head = sNext;
    else sPrev.sNext = sNext;
    if (sNext === null) this.tail = sPrev;
    else sNext.sPrev = sPrev;
    waiter.sPrev = waiter.sNext = waiter.hub = null;
    if (!keepListener) this.release();
  }

  /** Removes the listener (and leaves the parent) if nothing waits. */
  release(): void {
    if (this.head === null && this.listening) this.stop();
  }

  private stop(): void {
    this.listening = false;
    this.signal.removeEventListener('abort', this.listener);
    this.hub?.remove(this);
  }

  /** The parent's signal aborted. */
  onCallerAbort(): void {
    this.abort(this.parent!.signal);
  }

  private abort(signal: AbortSignal): void {
    if (this.listening) this.stop();
    let waiter = this.head;
    this.head = this.tail = null;
    while (waiter !== null) {
      const next = waiter.sNext;
      waiter.sPrev = waiter.sNext = waiter.hub = null;
      // One error per call: each is filled in with its own operation.
      waiter.onCallerAbort(cancelledError(signal));
      waiter = next;
    }
  }
}

/**
 * Adding and removing an abort listener costs more than a whole call, and sequential calls sharing one signal
 * (an integration's lifetime signal) would do both every time. So the last hub a pipeline emptied keeps its
 * listener until the pipeline empties a different one: one parked listener per pipeline at most, never more.
 */
export class IdleHubSlot {
  private parked: SignalHub | null = null;

  leave(waiter: SignalWaiter): void {
    const hub = waiter.hub!;
    hub.remove(waiter, true);
    if (hub.head !== null) return;
    const parked = this.parked;
    if (parked === hub) return;
    this.parked = hub;
    parked?.release();
  }
}

const hubs = new WeakMap<AbortSignal, SignalHub>();

function hubOf(signal: AbortSignal, children = hubs, parent?: SignalHub): SignalHub {
  let hub = children.get(signal);
  if (hub === undefined) children.set(signal, (hub = new SignalHub(signal, parent)));
  return hub;
}

/** The hub a call with these signals waits on: either one's, or the caller's under the owner's. */
export function hubFor(signal: AbortSignal | undefined, owner: AbortSignal | undefined): SignalHub | undefined {
  if (owner === undefined) return signal && hubOf(signal);
  const parent = hubOf(owner);
  return signal ? hubOf(signal, (parent.children ??= new WeakMap()), parent) : parent;
}

export function cancelledError(signal: { reason: unknown }): IntegrationError {
  return new IntegrationError('cancelled', 'the call was cancelled', { cause: signal.reason });
}

export function noop(): void {}

/** A wait (backoff, token) that an abort cuts short with kind `cancelled`. */
class Sleep implements SignalWaiter {
  sPrev: SignalWaiter | null = null;
  sNext: SignalWaiter | null = null;
  hub: SignalHub | null = null;
  private readonly clock: Clock;
  private readonly handle: unknown;
  private readonly reject: (error: unknown) => void;

  constructor(clock: Clock, ms: number, resolve: () => void, reject: (error: unknown) => void) {
    this.clock = clock;
    this.reject = reject;
    this.handle = clock.setTimeout(() => {
      this.hub?.remove(this);
      resolve();
    }, ms);
  }

  onCallerAbort(error: IntegrationError): void {
    this.clock.clearTimeout(this.handle);
    this.reject(error);
  }
}

export function sleep(clock: Clock, ms: number, signals: SignalHub | undefined): Promise<void> {
  if (signals?.aborted) return Promise.reject(cancelledError(signals));
  return new Promise<void>((resolve, reject) => {
    const sleeper = new Sleep(clock, ms, resolve, reject);
    signals?.add(sleeper);
  });
}

/** Whatever an operation threw, as an IntegrationError: the connector's mapError first, then core's defaults. */
export function toIntegrationError(error: unknown, mapError: ((error: unknown) => IntegrationError) | undefined) {
  if (IntegrationError.isInstance(error)) return error;
  if (mapError !== undefined) {
    try {
      const mapped = mapError(error);
      if (IntegrationError.isInstance(mapped)) return mapped;
    } catch (thrown) {
      if (IntegrationError.isInstance(thrown)) return thrown;
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new IntegrationError(kindFromNetworkError(error) ?? 'internal', message, { cause: error });
}

/** Fills in where an error happened, keeping whatever it already says. */
export function locate(error: IntegrationError, operation: string, source: EventSource): IntegrationError {
  error.operation ??= operation;
  error.provider ??= source.provider;
  error.integration ??= source.integration;
  error.tenant ??= source.tenant;
  return error;
}

export const NO_SOURCE: EventSource = Object.freeze({ provider: '', integration: '', tenant: '' });

/** What a policy knows of its surroundings, defaults filled in. */
export interface Env {
  readonly clock: Clock;
  readonly events: EventBus | undefined;
  readonly source: EventSource;
}

export function environmentOf(environment: PolicyEnvironment = {}): Env {
  return {
    clock: environment.clock ?? systemClock,
    events: environment.events,
    source: environment.source ?? NO_SOURCE,
  };
}

/** Emits an event off the hot path: the payload is built even when nobody listens. */
export function emit<E extends EventName>(env: Env, name: E, payload: Omit<IntegrationEvents[E], keyof EventSource>) {
  const events = env.events;
  if (events?.has(name)) events.emit(name, { ...env.source, ...payload } as IntegrationEvents[E]);
}
