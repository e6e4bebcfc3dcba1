/**
 * Inbound webhooks as one unit: the endpoints the config declares, the durable store, the routes and the delivery
 * worker. Present only when the config has `server.webhooks`.
 */
import type { LoadedConfig } from '@integrations/config';
import type { Redactor } from '@integrations/core';
import type { FastifyBaseLogger } from 'fastify';
import { DeliveryWorker, type WebhookHandler } from './delivery.js';
import { WebhookEndpoints } from './endpoints.js';
import type { WebhookRoutesOptions } from './routes.js';
import { PostgresWebhookStore } from './store.js';

export {
  backoffMs,
  DeliveryWorker,
  type WebhookEvent,
  type WebhookHandler,
  type WebhookHandlerContext,
} from './delivery.js';
export { hmacVerifier, type WebhookEndpoint, WebhookEndpoints } from './endpoints.js';
export { registerWebhookRoutes, type WebhookReason, type WebhookRoutesOptions } from './routes.js';
export {
  type DeadLetterQuery,
  describeUrl,
  type EventStatus,
  type NewWebhookEvent,
  PostgresWebhookStore,
  type StoredWebhookEvent,
  WebhookStoreError,
} from './store.js';

export class Webhooks {
  private worker: DeliveryWorker | undefined;
  private readonly pending = new Set<WebhookHandler>();

  private constructor(
    readonly store: PostgresWebhookStore,
    readonly endpoints: WebhookEndpoints,
    private readonly config: LoadedConfig,
    private readonly redactor: Redactor,
  ) {}

  /** Opens the store (creating its table if needed). Undefined when the config has no `server.webhooks`. */
  static async open(config: LoadedConfig, redactor: Redactor): Promise<Webhooks | undefined> {
    const settings = config.server.webhooks;
    if (!settings) return undefined;
    const store = await PostgresWebhookStore.open(settings.store);
    return new Webhooks(store, new WebhookEndpoints(config), config, redactor);
  }

  /** What the routes need, besides the key ring and the redactor. */
  routes(): Omit<WebhookRoutesOptions, 'keys' | 'redactor'> {
    return {
      endpoints: this.endpoints,
      store: this.store,
      publicUrl: this.config.server.webhooks?.publicUrl,
      onStored: () => this.worker?.kick(),
    };
  }

  /** Creates the delivery worker once the server's logger exists; it starts with `start()`. */
  attach(log: FastifyBaseLogger): void {
    const settings = this.config.server.webhooks;
    if (!settings || this.worker) return;
    const serverForward = settings.forwardUrl;
    const forwarded = [
      ...new Set(
        this.endpoints
          .all()
          .filter((e) => e.forwardUrl)
          .map((e) => e.integration),
      ),
    ];
    this.worker = new DeliveryWorker({
      store: this.store,
      settings: settings.delivery,
      forwardUrlOf: (integration) => this.endpoints.forwardUrlOf(integration) ?? serverForward,
      forwardedIntegrations: () => (serverForward ? undefined : forwarded),
      log: log.child({ component: 'webhooks' }),
      redactor: this.redactor,
      retentionDays: settings.retentionDays,
    });
    for (const handler of this.pending) this.worker.add(handler);
    this.pending.clear();
  }

  /** Registers a handler for every verified event; returns a function that removes it. */
  onWebhook(handler: WebhookHandler): () => void {
    if (this.worker) return this.worker.add(handler);
    this.pending.add(handler);
    return () => {
      this.pending.delete(handler);
    };
  }

  start(): void {
    this.worker?.start();
  }

  /** Stops delivering (in-flight deliveries get up to `graceMs`), then closes the store. */
  async close(graceMs?: number): Promise<void> {
    try {
      await this.worker?.stop(graceMs);
    } finally {
      await this.store.close();
    }
  }
}
