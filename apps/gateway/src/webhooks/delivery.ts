/**
 * The delivery worker: claims due events from the store, hands each to every handler (the code handlers
 * registered with `gateway.onWebhook` and the configured forward URL), marks it delivered when all of them
 * succeeded, and otherwise schedules the next attempt with exponential backoff, or moves it to the dead letters
 * after `maxAttempts`. At least once: a handler may see an event again after a failure or a crash.
 */
import type { WebhookDeliverySettings } from '@integrations/config';
import type { Redactor } from '@integrations/core';
import type { FastifyBaseLogger } from 'fastify';
import { VERSION } from '../version.js';
import type { PostgresWebhookStore, StoredWebhookEvent } from './store.js';

/** What a handler receives: the verified event, as stored. */
export interface WebhookEvent {
  /** The gateway's id (a UUID). */
  id: string;
  tenant: string;
  integration: string;
  provider: string;
  /** The provider's event id. */
  eventId: string;
  type: string;
  occurredAt: string | null;
  receivedAt: string;
  payload: unknown;
}

export interface WebhookHandlerContext {
  /** 1 for the first delivery, 2 for the first retry, ... */
  attempt: number;
  /** Aborted when the attempt times out (`delivery.timeoutMs`) or the gateway shuts down. */
  signal: AbortSignal;
}

/** Resolve to acknowledge; throw (or reject) to have the event retried. */
export type WebhookHandler = (event: WebhookEvent, context: WebhookHandlerContext) => unknown;

export interface DeliveryWorkerOptions {
  store: PostgresWebhookStore;
  settings: WebhookDeliverySettings;
  /** Where an integration's events are forwarded, if anywhere. */
  forwardUrlOf: (integration: string) => string | undefined;
  /** Integrations with a forward URL of their own, when no handler covers every integration. */
  forwardedIntegrations: () => readonly string[] | undefined;
  log: FastifyBaseLogger;
  redactor: Redactor;
  retentionDays: number;
  random?: () => number;
}

export function publicEvent(event: StoredWebhookEvent): WebhookEvent {
  return {
    id: event.id,
    tenant: event.tenant,
    integration: event.integration,
    provider: event.provider,
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    payload: event.payload,
  };
}

/** Delay before attempt `failed + 1`, after `failed` failed attempts. */
export function backoffMs(settings: WebhookDeliverySettings, failed: number, random: () => number): number {
  const exponential = settings.initialDelayMs * settings.backoffMultiplier ** Math.max(0, failed - 1);
  const capped = Math.min(settings.maxDelayMs, exponential);
  return Math.round(settings.jitter === 'full' ? capped * random() : capped);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function forward(url: string, event: WebhookEvent, context: WebhookHandlerContext): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': `integrations-gateway/${VERSION}`,
      'x-integrations-event-id': event.id,
      'x-integrations-attempt': String(context.attempt),
    },
    body: JSON.stringify(event),
    signal: context.signal,
  });
  // Drain the body so the connection goes back to the pool.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) {
    const target = new URL(url);
    throw new Error(`forward to ${target.origin}${target.pathname} answered ${response.status}`);
  }
}

/** Runs `work` until it settles or `signal` aborts, whichever comes first (a handler may ignore its signal). */
function bounded(work: () => unknown, signal: AbortSignal, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new Error(
          signal.reason instanceof Error && signal.reason.name === 'TimeoutError'
            ? `handler did not finish within ${timeoutMs} ms`
            : 'delivery aborted: the gateway is shutting down',
        ),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(work)
      .then(
        () => resolve(),
        (error: unknown) => reject(error),
      )
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class DeliveryWorker {
  private readonly handlers = new Set<WebhookHandler>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private running = false;
  private kicked = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastPrune = 0;
  private readonly random: () => number;
  private readonly leaseMs: number;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.random = options.random ?? Math.random;
    // Longer than an attempt can take, so a live worker's claim never runs out under it.
    this.leaseMs = options.settings.timeoutMs * 2 + 1000;
  }

  /** Adds a code handler; returns a function that removes it. */
  add(handler: WebhookHandler): () => void {
    this.handlers.add(handler);
    this.kick();
    return () => {
      this.handlers.delete(handler);
    };
  }

  start(): void {
    if (this.running || this.stopping.signal.aborted) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Looks for due events now (after a new event was stored or a dead letter replayed). */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Stops claiming, waits for the deliveries in progress (each bounded by `timeoutMs`, or aborted at `graceMs`). */
  async stop(graceMs = this.options.settings.timeoutMs): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    const timer = setTimeout(() => this.stopping.abort(), graceMs);
    try {
      await Promise.allSettled([...this.inFlight]);
    } finally {
      clearTimeout(timer);
      this.stopping.abort();
    }
  }

  /** The integrations to claim for: all (undefined), some (those with a forward URL), or none. */
  private scope(): readonly string[] | undefined {
    if (this.handlers.size > 0) return undefined;
    return this.options.forwardedIntegrations();
  }

  private async run(): Promise<void> {
    const { settings, store, log } = this.options;
    while (this.running) {
      this.kicked = false;
      const free = settings.concurrency - this.inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const events = await store.claim(free, this.leaseMs, this.scope());
          claimed = events.length;
          for (const event of events) this.track(this.deliver(event));
          await this.maybePrune();
        } catch (error) {
          log.warn({ err: this.options.redactor.redactValue(error) }, 'webhook delivery: cannot claim events');
        }
      }
      // A full batch means more may be due: go again (a full worker then waits for a delivery to finish).
      if (this.running && !(free > 0 && claimed === free)) await this.sleep(settings.pollIntervalMs);
    }
  }

  /** Waits `ms`, or less if kicked meanwhile (a kick during a claim is remembered, not lost). */
  private sleep(ms: number): Promise<void> {
    if (this.kicked) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => {
      this.inFlight.delete(delivery);
      this.kick();
    });
  }

  private async maybePrune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    const removed = await this.options.store.prune(this.options.retentionDays);
    if (removed > 0) this.options.log.info({ removed }, 'webhook store: pruned delivered events past retention');
  }

  private async deliver(stored: StoredWebhookEvent): Promise<void> {
    const { settings, store, log, redactor } = this.options;
    const event = publicEvent(stored);
    const attempt = stored.attempts;
    const fields = { eventId: event.id, tenant: event.tenant, integration: event.integration, attempt };
    const url = this.options.forwardUrlOf(event.integration);
    const handlers: WebhookHandler[] = [...this.handlers];
    if (url) handlers.push((e, context) => forward(url, e, context));
    try {
      if (handlers.length === 0) throw new Error('no handler is registered for this event');
      for (const handler of handlers) {
        const signal = AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), this.stopping.signal]);
        await bounded(() => handler(event, { attempt, signal }), signal, settings.timeoutMs);
      }
    } catch (error) {
      const reason = redactor.redact(message(error));
      try {
        const outcome = await store.markFailed(
          event.id,
          attempt,
          reason,
          backoffMs(settings, attempt, this.random),
          settings.maxAttempts,
        );
        if (outcome === 'dead') log.error({ ...fields, reason }, 'webhook delivery failed for good: dead letter');
        else if (outcome === 'retry') log.warn({ ...fields, reason }, 'webhook delivery failed: will retry');
      } catch (storeError) {
        // The claim's lease runs out and the event is tried again: nothing is lost.
        log.warn({ ...fields, err: redactor.redactValue(storeError) }, 'webhook delivery: cannot record a failure');
      }
      return;
    }
    try {
      await store.markDelivered(event.id);
      log.debug(fields, 'webhook delivered');
    } catch (storeError) {
      log.warn({ ...fields, err: redactor.redactValue(storeError) }, 'webhook delivery: cannot record a delivery');
    }
  }
}
