import { describeConnector } from '@integrations/testkit';
import { startStripeFake } from '@integrations/testkit/fakes/stripe';
import { stripe } from '../src/index.js';

/** Stripe's error body for a status, so the SDK classifies an injected fault as it would Stripe's own. */
function stripeError(status: number) {
  const error =
    status === 402
      ? { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' }
      : status === 404
        ? { type: 'invalid_request_error', code: 'resource_missing', message: 'No such object' }
        : status === 429
          ? { type: 'invalid_request_error', code: 'rate_limit', message: 'Request rate limit exceeded.' }
          : status >= 500
            ? { type: 'api_error', message: 'An unknown error occurred.' }
            : { type: 'invalid_request_error', message: `Request failed with status ${status}.` };
  return { contentType: 'application/json', body: JSON.stringify({ error }) };
}

describeConnector(stripe, {
  standIn: async () => {
    const fake = await startStripeFake();
    return { url: fake.url, stop: () => fake.stop() };
  },
  // The fake accepts any well-formed test key, so the canary can be the working key itself.
  config: (url, { secret }) => ({ apiKey: `sk_test_${secret}`, apiBaseUrl: url }),
  invalidConfig: { config: { apiKey: 'pk_test_publishable_key' }, path: 'apiKey' },
  idempotentCall: async (instance, options) => {
    for await (const customer of instance.customers.list({ limit: 1 }, options)) return customer;
    return undefined;
  },
  nonIdempotentCall: (instance, options) =>
    instance.paymentIntents.create({ amount: 2000, currency: 'usd', description: 'conformance' }, options),
  idempotencyKeyHeader: 'idempotency-key',
  errorResponse: stripeError,
});
