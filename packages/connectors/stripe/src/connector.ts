import { randomUUID } from 'node:crypto';
import {
  type CallOptions,
  type CallScope,
  type ConfigOutput,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationError,
  IntegrationType,
  InvalidConfigError,
  type WebhookRequest,
  type WebhookVerifyOptions,
} from '@integrations/core';
import Stripe from 'stripe';
import { stripeConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { createTransport, type StripeTransport, withSignal } from './transport.js';
import { VERSION } from './version.js';
import {
  STRIPE_SIGNATURE_HEADER,
  stripeWebhooks,
  type VerifiedStripeWebhook,
  verifyStripeWebhook,
} from './webhooks.js';

type ParsedConfig = ConfigOutput<typeof stripeConfigSchema.fields>;

/** `https://api.stripe.com` → the SDK's host, port and protocol (it has no base-URL option). */
function endpointOf(apiBaseUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiBaseUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidConfigError('stripe', [{ path: 'apiBaseUrl', message: 'must be an http:// or https:// URL' }]);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new InvalidConfigError('stripe', [
      { path: 'apiBaseUrl', message: 'must be scheme, host and port only (the SDK adds the /v1 path itself)' },
    ]);
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80, protocol };
}

function createClient(config: ParsedConfig, userAgent: string, transport: StripeTransport): Stripe {
  return new Stripe(config.apiKey, {
    ...endpointOf(config.apiBaseUrl),
    // Core's pipeline is the only retry layer. The idempotency key it retries with is ours, not the SDK's.
    maxNetworkRetries: 0,
    httpClient: transport.httpClient,
    appInfo: { name: userAgent },
    ...(config.apiVersion ? { apiVersion: config.apiVersion as Stripe.LatestApiVersion } : {}),
  });
}

const WRITE = (description: string) => ({ idempotent: false, description });
const READ = (description: string) => ({ idempotent: true, description });

export const stripe = defineConnector({
  id: 'stripe',
  displayName: 'Stripe',
  type: IntegrationType.ExternalApi,
  category: 'payments',
  version: VERSION,
  config: stripeConfigSchema,
  operations: {
    'customers.create': WRITE('Create a customer.'),
    'customers.retrieve': READ('Fetch a customer by id.'),
    'customers.list': READ('List customers, newest first; the iterator fetches one page per call.'),
    'paymentIntents.create': WRITE('Create a PaymentIntent (optionally confirming it at once).'),
    'paymentIntents.retrieve': READ('Fetch a PaymentIntent by id.'),
    'paymentIntents.confirm': WRITE('Confirm a PaymentIntent: charge or authorise its payment method.'),
    'paymentIntents.capture': WRITE('Capture an authorised (capture_method manual) PaymentIntent, in full or in part.'),
    'paymentIntents.cancel': WRITE('Cancel a PaymentIntent that has not succeeded.'),
    'refunds.create': WRITE('Refund a PaymentIntent or charge, in full or in part.'),
    'refunds.retrieve': READ('Fetch a refund by id.'),
  },
  webhooks: stripeWebhooks,
  mapError,
  create(config, ctx) {
    const transport = createTransport();
    const client = createClient(config, ctx.userAgent, transport);

    /** A read: repeated freely by the pipeline. */
    function read<T>(operation: string, options: CallOptions | undefined, run: () => Promise<T>): Promise<T> {
      return ctx.call(operation, ({ signal }) => withSignal(signal, run), options);
    }

    /**
     * A write: every one carries an idempotency key (the caller's, or a fresh one), the same on every attempt,
     * so the pipeline may retry it and Stripe answers a repeat with the first result.
     */
    function write<T>(
      operation: string,
      options: CallOptions | undefined,
      run: (request: Stripe.RequestOptions) => Promise<T>,
    ): Promise<T> {
      const idempotencyKey = options?.idempotencyKey ?? randomUUID();
      return ctx.call(
        operation,
        (scope: CallScope) =>
          withSignal(scope.signal, () => run({ idempotencyKey: scope.idempotencyKey ?? idempotencyKey })),
        { ...options, idempotencyKey },
      );
    }

    async function* customerPages(
      params: Stripe.CustomerListParams,
      options: CallOptions | undefined,
    ): AsyncGenerator<Stripe.Customer, void, undefined> {
      // Stripe pages by cursor: forwards after the last id seen, or backwards before the first.
      const backwards = params.ending_before !== undefined;
      let cursor = backwards ? params.ending_before : params.starting_after;
      for (;;) {
        const page = await read('customers.list', options, () =>
          client.customers.list(
            backwards ? { ...params, ending_before: cursor } : { ...params, starting_after: cursor },
          ),
        );
        const items = backwards ? [...page.data].reverse() : page.data;
        yield* items;
        const next = backwards ? page.data[0] : page.data.at(-1);
        if (!page.has_more || !next) return;
        cursor = next.id;
      }
    }

    function verifyWebhook(request: WebhookRequest, options?: Partial<WebhookVerifyOptions>): VerifiedStripeWebhook {
      const secrets = options?.secrets ?? (config.webhookSecret ? [config.webhookSecret] : []);
      if (secrets.length === 0) {
        throw new InvalidConfigError('stripe', [
          { path: 'webhookSecret', message: 'is required to verify webhooks when no secrets are passed' },
        ]);
      }
      return verifyStripeWebhook(request.rawBody, request.headers[STRIPE_SIGNATURE_HEADER], { ...options, secrets });
    }

    return {
      client,
      async healthCheck({ signal }: { signal: AbortSignal }) {
        try {
          const balance = await withSignal(signal, () => client.balance.retrieve());
          return { livemode: balance.livemode };
        } catch (error) {
          throw IntegrationError.isInstance(error) ? error : mapError(error);
        }
      },
      customers: {
        create: (params: Stripe.CustomerCreateParams = {}, options?: CallOptions) =>
          write('customers.create', options, (request) => client.customers.create(params, request)),
        retrieve: (id: string, options?: CallOptions) =>
          read('customers.retrieve', options, () => client.customers.retrieve(id)),
        /** Every customer matching `params`, across pages; `limit` is the page size. */
        list: (params: Stripe.CustomerListParams = {}, options?: CallOptions) => customerPages(params, options),
      },
      paymentIntents: {
        create: (params: Stripe.PaymentIntentCreateParams, options?: CallOptions) =>
          write('paymentIntents.create', options, (request) => client.paymentIntents.create(params, request)),
        retrieve: (id: string, options?: CallOptions) =>
          read('paymentIntents.retrieve', options, () => client.paymentIntents.retrieve(id)),
        confirm: (id: string, params: Stripe.PaymentIntentConfirmParams = {}, options?: CallOptions) =>
          write('paymentIntents.confirm', options, (request) => client.paymentIntents.confirm(id, params, request)),
        capture: (id: string, params: Stripe.PaymentIntentCaptureParams = {}, options?: CallOptions) =>
          write('paymentIntents.capture', options, (request) => client.paymentIntents.capture(id, params, request)),
        cancel: (id: string, params: Stripe.PaymentIntentCancelParams = {}, options?: CallOptions) =>
          write('paymentIntents.cancel', options, (request) => client.paymentIntents.cancel(id, params, request)),
      },
      refunds: {
        create: (params: Stripe.RefundCreateParams, options?: CallOptions) =>
          write('refunds.create', options, (request) => client.refunds.create(params, request)),
        retrieve: (id: string, options?: CallOptions) =>
          read('refunds.retrieve', options, () => client.refunds.retrieve(id)),
      },
      verifyWebhook,
      /** Closes the integration's own connection pool: no socket to Stripe outlives the integration. */
      close: () => transport.close(),
    };
  },
});

export type StripeInstance = ConnectorInstanceOf<typeof stripe>;
