import { IntegrationError, type IntegrationHandle, type Registry } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { createFaultProxy, type FaultProxy, faults } from '@integrations/testkit';
import { type StripeFake, startStripeFake } from '@integrations/testkit/fakes/stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StripeConfig, type StripeInstance, stripe } from '../src/index.js';

const API_KEY = 'sk_test_payments_suite_key';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let fake: StripeFake;
let proxy: FaultProxy;
const registries: Registry[] = [];

beforeAll(async () => {
  fake = await startStripeFake({ apiKeys: [API_KEY] });
  proxy = await createFaultProxy({
    target: fake.url,
    errorResponse: (status) => ({
      contentType: 'application/json',
      body: JSON.stringify({
        error: { type: status >= 500 ? 'api_error' : 'invalid_request_error', message: 'injected' },
      }),
    }),
  });
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
  proxy.reset();
});

afterAll(async () => {
  await proxy?.close();
  await fake?.stop();
});

/** The connector as an application gets it: registered in core's registry, behind its pipeline. */
async function connect(config: Partial<StripeConfig> = {}): Promise<IntegrationHandle<StripeInstance>> {
  const registry = createRegistry();
  registries.push(registry);
  const handle = registry.register(stripe, {
    name: 'payments',
    config: { apiKey: API_KEY, apiBaseUrl: fake.url, ...config },
    retry: { maxAttempts: 3, initialDelayMs: 5, jitter: 'none' },
    timeoutMs: 5000,
    healthCheck: false,
  });
  const report = await registry.enable('payments');
  expect(report.status).toBe('healthy');
  return handle;
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    expect(IntegrationError.isInstance(error)).toBe(true);
    return error as IntegrationError;
  }
  throw new Error('expected the call to fail');
}

describe('customers', () => {
  it('creates and retrieves a customer', async () => {
    const payments = await connect();
    const created = await payments.customers.create({
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      metadata: { plan: 'pro' },
    });
    expect(created).toMatchObject({ object: 'customer', email: 'ada@example.com', metadata: { plan: 'pro' } });
    const fetched = await payments.customers.retrieve(created.id);
    expect(fetched.id).toBe(created.id);
    expect('deleted' in fetched).toBe(false);
  });

  it('lists every customer across pages, one request per page, newest first', async () => {
    const payments = await connect();
    const tag = `paging-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await payments.customers.create({ email: `${tag}@example.com`, name: `c${i}` })).id);
    }
    const before = fake.state.requests.length;
    const seen: string[] = [];
    for await (const customer of payments.customers.list({ email: `${tag}@example.com`, limit: 2 })) {
      seen.push(customer.id);
    }
    expect(seen).toEqual([...ids].reverse());
    const pages = fake.state.requests.slice(before);
    expect(pages.map((r) => r.params.starting_after)).toEqual([undefined, ids[3], ids[1]]);

    // Backwards from the oldest: the pages come in ascending order, the items stay newest-first within the walk.
    const backwards: string[] = [];
    for await (const customer of payments.customers.list({
      email: `${tag}@example.com`,
      limit: 2,
      ending_before: ids[0],
    })) {
      backwards.push(customer.id);
    }
    expect(backwards).toEqual([ids[1], ids[2], ids[3], ids[4]]);

    // Stopping early fetches no further page.
    const early = fake.state.requests.length;
    for await (const _customer of payments.customers.list({ email: `${tag}@example.com`, limit: 2 })) break;
    expect(fake.state.requests.length - early).toBe(1);
  });
});

describe('payment intents', () => {
  it('create → confirm (automatic capture) → refund', async () => {
    const payments = await connect();
    const customer = await payments.customers.create({ email: 'buyer@example.com' });
    const intent = await payments.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      customer: customer.id,
      metadata: { order: 'A-1' },
    });
    expect(intent).toMatchObject({ status: 'requires_payment_method', amount: 2000, customer: customer.id });

    const confirmed = await payments.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed).toMatchObject({ id: intent.id, status: 'succeeded', amount_received: 2000 });

    const refund = await payments.refunds.create({
      payment_intent: intent.id,
      amount: 750,
      reason: 'requested_by_customer',
    });
    expect(refund).toMatchObject({ object: 'refund', amount: 750, status: 'succeeded', payment_intent: intent.id });
    const fetched = await payments.refunds.retrieve(refund.id);
    expect(fetched.id).toBe(refund.id);

    const over = await rejection(payments.refunds.create({ payment_intent: intent.id, amount: 5000 }));
    expect(over).toMatchObject({ kind: 'invalid_request', code: 'amount_too_large', status: 400, retryable: false });
    expect(over.message).toContain('param: amount');
  });

  it('manual capture: authorise, capture part, refuse a second capture', async () => {
    const payments = await connect();
    const intent = await payments.paymentIntents.create({
      amount: 5000,
      currency: 'eur',
      payment_method: 'pm_card_mastercard',
      capture_method: 'manual',
    });
    expect(intent.status).toBe('requires_confirmation');
    const authorised = await payments.paymentIntents.confirm(intent.id);
    expect(authorised).toMatchObject({ status: 'requires_capture', amount_capturable: 5000 });
    const captured = await payments.paymentIntents.capture(intent.id, { amount_to_capture: 4200 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 4200 });
    const retrieved = await payments.paymentIntents.retrieve(intent.id);
    expect(retrieved.status).toBe('succeeded');

    const again = await rejection(payments.paymentIntents.capture(intent.id));
    expect(again).toMatchObject({ kind: 'invalid_request', code: 'payment_intent_unexpected_state', retryable: false });
  });

  it('cancels an intent that has not succeeded', async () => {
    const payments = await connect();
    const intent = await payments.paymentIntents.create({ amount: 1200, currency: 'usd' });
    const canceled = await payments.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    const confirm = await rejection(payments.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' }));
    expect(confirm.code).toBe('payment_intent_unexpected_state');
  });

  it('a declined card is a typed, non-retryable invalid_request with code card_declined', async () => {
    const payments = await connect();
    const before = fake.state.requests.length;
    const error = await rejection(
      payments.paymentIntents.create({
        amount: 3000,
        currency: 'usd',
        payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
        confirm: true,
      }),
    );
    expect(error).toMatchObject({
      kind: 'invalid_request',
      code: 'card_declined',
      status: 402,
      retryable: false,
      provider: 'stripe',
      operation: 'paymentIntents.create',
    });
    expect(error.message).toContain('insufficient_funds');
    // Not retried: one request reached Stripe.
    expect(fake.state.requests.length - before).toBe(1);
  });

  it('names what was wrong: a missing param, an unknown id', async () => {
    const payments = await connect();
    const missing = await rejection(
      payments.paymentIntents.create({ currency: 'usd' } as unknown as Parameters<
        typeof payments.paymentIntents.create
      >[0]),
    );
    expect(missing).toMatchObject({ kind: 'invalid_request', code: 'parameter_missing' });
    expect(missing.message).toContain('amount');
    const notFound = await rejection(payments.paymentIntents.retrieve('pi_does_not_exist'));
    expect(notFound).toMatchObject({ kind: 'not_found', code: 'resource_missing', status: 404 });
    const noCustomer = await rejection(payments.customers.retrieve('cus_nobody'));
    expect(noCustomer.kind).toBe('not_found');
  });
});

describe('idempotency', () => {
  it('sends a fresh idempotency key with every write', async () => {
    const payments = await connect();
    await payments.customers.create({ name: 'first' });
    await payments.customers.create({ name: 'second' });
    const keys = fake.state.requests.slice(-2).map((r) => r.idempotencyKey);
    expect(keys[0]).toMatch(UUID);
    expect(keys[1]).toMatch(UUID);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it("the caller's key makes a repeat return the same object, replayed by Stripe", async () => {
    const payments = await connect();
    const key = `order-${Date.now()}`;
    const params = { amount: 990, currency: 'usd', metadata: { order: key } };
    const count = fake.state.paymentIntents.size;
    const first = await payments.paymentIntents.create(params, { idempotencyKey: key });
    const second = await payments.paymentIntents.create(params, { idempotencyKey: key });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.idempotencyKey).toBe(key);
    expect(fake.state.requests.filter((r) => r.idempotencyKey === key).map((r) => r.replayed)).toEqual([false, true]);
    expect(fake.state.paymentIntents.size).toBe(count + 1);

    const reused = await rejection(payments.paymentIntents.create({ ...params, amount: 991 }, { idempotencyKey: key }));
    expect(reused).toMatchObject({ kind: 'conflict', code: 'idempotency_error', retryable: false });
  });

  it('pipeline retries after a 503 reuse one key and create one intent', async () => {
    const payments = await connect({ apiBaseUrl: proxy.url });
    proxy.reset();
    const count = fake.state.paymentIntents.size;
    proxy.script(faults.status(503));
    const intent = await payments.paymentIntents.create({ amount: 1500, currency: 'usd' });
    expect(proxy.requests).toHaveLength(2);
    const [failed, retried] = proxy.requests;
    expect(failed?.fault).toBe('status');
    expect(failed?.headers['idempotency-key']).toMatch(UUID);
    expect(retried?.headers['idempotency-key']).toBe(failed?.headers['idempotency-key']);
    // The SDK's user agent carries the connector's and core's versions.
    expect(retried?.headers['user-agent']).toMatch(
      /^Stripe\/v1 NodeBindings\/\S+ @integrations\/stripe\/\S+ @integrations\/core\//,
    );
    expect(fake.state.paymentIntents.size).toBe(count + 1);
    expect(fake.state.paymentIntents.get(intent.id)?.amount).toBe(1500);
  });

  it('a response lost after Stripe acted is retried with the same key and answered by replay', async () => {
    const payments = await connect({ apiBaseUrl: proxy.url });
    proxy.reset();
    const count = fake.state.paymentIntents.size;
    // The first attempt reaches the fake (which creates the intent), then its response body is cut.
    proxy.script(faults.truncate(10));
    const intent = await payments.paymentIntents.create({ amount: 2500, currency: 'usd', description: 'lost reply' });
    expect(proxy.requests).toHaveLength(2);
    expect(fake.state.paymentIntents.size).toBe(count + 1);
    const sent = fake.state.requests.slice(-2);
    expect(sent.map((r) => r.replayed)).toEqual([false, true]);
    expect(sent[0]?.idempotencyKey).toBe(sent[1]?.idempotencyKey);
    expect(intent.description).toBe('lost reply');
  });

  it('a caller-given key is the one every attempt carries', async () => {
    const payments = await connect({ apiBaseUrl: proxy.url });
    proxy.reset();
    proxy.script(faults.reset());
    const customer = await payments.customers.create({ name: 'keyed' }, { idempotencyKey: 'customer-keyed-1' });
    expect(customer.name).toBe('keyed');
    expect(proxy.requests.map((r) => r.headers['idempotency-key'])).toEqual(['customer-keyed-1', 'customer-keyed-1']);
  });
});

describe('errors and health', () => {
  it('a wrong API key is auth, and the key appears nowhere in the error', async () => {
    const registry = createRegistry();
    registries.push(registry);
    const wrongKey = 'sk_test_wrong_key_abcdef123456';
    const handle = registry.register(stripe, {
      name: 'wrong-key',
      config: { apiKey: wrongKey, apiBaseUrl: fake.url },
      healthCheck: false,
      retry: { maxAttempts: 1 },
    });
    const report = await registry.enable('wrong-key').catch(() => handle.healthCheck());
    expect(report.status).toBe('unhealthy');
    expect(report.error?.kind).toBe('auth');
    const error = await rejection(handle.customers.retrieve('cus_x'));
    expect(error).toMatchObject({ kind: 'auth', status: 401, retryable: false });
    expect(JSON.stringify(error.toJSON())).not.toContain(wrongKey);
    expect(error.message).not.toContain('3456');
  });

  it("Stripe's own rate limit is rate_limited and retried", async () => {
    const limited = await startStripeFake({ rateLimit: { limit: 2, windowMs: 60_000 } });
    try {
      const registry = createRegistry();
      registries.push(registry);
      const handle = registry.register(stripe, {
        name: 'limited',
        config: { apiKey: API_KEY, apiBaseUrl: limited.url },
        healthCheck: false,
        retry: { maxAttempts: 1 },
      });
      await registry.enable('limited');
      await handle.customers.create({ name: 'one' });
      const error = await rejection(handle.customers.create({ name: 'two' }));
      expect(error).toMatchObject({ kind: 'rate_limited', code: 'rate_limit', status: 429, retryable: true });
    } finally {
      await limited.stop();
    }
  });

  it('reports health from the balance endpoint', async () => {
    const payments = await connect();
    const report = await payments.healthCheck();
    expect(report).toMatchObject({ status: 'healthy', details: { livemode: false } });
  });

  it('rejects a base URL with a path, naming apiBaseUrl', async () => {
    const registry = createRegistry();
    registries.push(registry);
    registry.register(stripe, {
      name: 'bad-url',
      config: { apiKey: API_KEY, apiBaseUrl: `${fake.url}/v1` },
      healthCheck: false,
    });
    const error = await rejection(registry.enable('bad-url'));
    expect(error.kind).toBe('invalid_config');
    expect(error.message).toContain('apiBaseUrl');
  });

  it('keeps the SDK reachable as client, pointed at the configured endpoint', async () => {
    const payments = await connect();
    const balance = await payments.client.balance.retrieve();
    expect(balance.object).toBe('balance');
  });
});
