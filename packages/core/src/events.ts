import type { IntegrationError } from './errors.js';

/** Where an event happened. Every event carries it. */
export interface EventSource {
  /** The connector id, e.g. `stripe`. */
  provider: string;
  /** The registered integration's name, e.g. `stripe_main`. */
  integration: string;
  tenant: string;
}

export type BreakerState = 'closed' | 'open' | 'half_open';
export type HealthStatus = 'initializing' | 'healthy' | 'degraded' | 'unhealthy' | 'disabled';

export interface IntegrationEvents {
  'call:start': EventSource & { operation: string; attempt: number };
  'call:success': EventSource & { operation: string; attempt: number; durationMs: number };
  'call:failure': EventSource & {
    operation: string;
    attempt: number;
    durationMs: number;
    error: IntegrationError;
    /** True when the retry policy will try again. */
    willRetry: boolean;
  };
  'retry:scheduled': EventSource & { operation: string; attempt: number; delayMs: number; error: IntegrationError };
  'breaker:state': EventSource & { from: BreakerState; to: BreakerState };
  'rate:limited': EventSource & { operation: string; waitMs: number; rejected: boolean };
  'bulkhead:rejected': EventSource & { operation: string; active: number; queued: number };
  'health:change': EventSource & { from: HealthStatus; to: HealthStatus; error?: IntegrationError | undefined };
}

export type EventName = keyof IntegrationEvents;
export type EventListener<E extends EventName> = (event: IntegrationEvents[E]) => void;

/**
 * A typed event bus. Emitting sites check `has(name)` before building a payload, so events cost one property
 * read when nobody listens. A throwing listener is isolated: it never breaks a call.
 */
export class EventBus {
  private readonly listeners: { [E in EventName]?: EventListener<E>[] } = {};

  on<E extends EventName>(name: E, listener: EventListener<E>): () => void {
    const list = (this.listeners[name] ??= []) as EventListener<E>[];
    list.push(listener);
    return () => this.off(name, listener);
  }

  off<E extends EventName>(name: E, listener: EventListener<E>): void {
    const list = this.listeners[name] as EventListener<E>[] | undefined;
    if (!list) return;
    const index = list.indexOf(listener);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) delete this.listeners[name];
  }

  has(name: EventName): boolean {
    return this.listeners[name] !== undefined;
  }

  emit<E extends EventName>(name: E, event: IntegrationEvents[E]): void {
    const list = this.listeners[name] as EventListener<E>[] | undefined;
    if (!list) return;
    for (const listener of list.slice()) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not fail the call it observes.
      }
    }
  }
}
