import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import qs from 'qs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type StripeFake, startStripeFake } from '../../src/fakes/stripe/index.js';
import { specPath } from '../../src/launchers/specs.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * OpenAPI 3.0 → JSON Schema for ajv: `nullable` becomes a null type (or a null branch), vendor extensions go,
 * and objects that list their properties reject any other, so a field the fake invents fails validation.
 */
function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || key === 'nullable') continue;
    // `properties` maps names to schemas: convert each schema, keep every name.
    out[key] =
      key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, toJsonSchema(schema)]))
        : toJsonSchema(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if (node.nullable === true) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    } else if (Array.isArray(out.anyOf)) {
      out.anyOf = [...out.anyOf, { type: 'null' }];
    } else {
      return { anyOf: [out, { type: 'null' }] };
    }
  }
  return out;
}

interface Operation {
  responses: Record<string, { content?: { 'application/json'?: { schema: Json } } }>;
}

// Parsed once for the file: the spec is 4 MB of YAML.
const specText = readFileSync(specPath('stripe/spec3.yaml'), 'utf8');
const spec = parse(specText) as { paths: Record<string, Record<string, Operation>>; components: { schemas: Json } };
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('unix-time', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('decimal', { type: 'string', validate: (s: string) => /^-?\d+(\.\d+)?$/.test(s) });
ajv.addSchema({ components: { schemas: toJsonSchema(spec.components.schemas) } }, 'stripe');

const validators = new Map<string, ValidateFunction>();
const validated = new Set<string>();

/** The spec's schema for `method template` answering `status` (`default` for errors), compiled once. */
function responseValidator(method: string, template: string, status: number): ValidateFunction {
  const operation = spec.paths[template]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${template} is not in the spec`);
  const key = status === 200 ? '200' : 'default';
  const cacheKey = `${method} ${template} ${key}`;
  let validate = validators.get(cacheKey);
  if (!validate) {
    const schema = operation.responses[key]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${cacheKey} has no JSON response in the spec`);
    const converted = toJsonSchema(
      JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"stripe#/components')),
    );
    validate = ajv.compile(converted as object);
    validators.set(cacheKey, validate);
  }
  validated.add(`${method} ${template}`);
  return validate;
}

let fake: StripeFake;
const KEY = 'sk_test_fake_schema_check';

beforeAll(async () => {
  fake = await startStripeFake({ apiKeys: [KEY] });
});
afterAll(async () => {
  await fake?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked against the spec, then read freely
  body: any;
}

/**
 * One request encoded the way stripe-node encodes it (bracketed form fields), its answer checked against
 * the spec's schema for that operation and status.
 */
async function call(
  method: 'GET' | 'POST',
  path: string,
  template: string,
  params: Record<string, unknown> = {},
  options: { key?: string | null; idempotencyKey?: string } = {},
): Promise<Answer> {
  const encoded = qs.stringify(params, { arrayFormat: 'indices' });
  const headers: Record<string, string> = {};
  const key = options.key === undefined ? KEY : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded';
  const url = `${fake.url}${path}${method === 'GET' && encoded ? `?${encoded}` : ''}`;
  const res = await fetch(url, { method, headers, ...(method === 'POST' ? { body: encoded } : {}) });
  const body = await res.json();
  const validate = responseValidator(method, template, res.status);
  if (!validate(body)) {
    throw new Error(`${method} ${path} → ${res.status} does not match the spec: ${ajv.errorsText(validate.errors)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

describe('the Stripe fake against components.schemas of the official spec', () => {
  beforeEach(() => fake.reset());

  it('serves customers: create, retrieve, list with cursor paging and an email filter', async () => {
    const created: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) {
      const { status, body } = await call('POST', '/v1/customers', '/v1/customers', {
        name: `Customer ${n}`,
        email: n === 3 ? 'three@example.com' : `c${n}@example.com`,
        metadata: { n: String(n) },
        preferred_locales: ['en', 'de'],
      });
      expect(status).toBe(200);
      expect(body).toMatchObject({ object: 'customer', name: `Customer ${n}`, metadata: { n: String(n) } });
      expect(body.id).toMatch(/^cus_\w{14}$/);
      created.push(body.id);
    }
    const one = await call('GET', `/v1/customers/${created[0]}`, '/v1/customers/{customer}');
    expect(one.body.id).toBe(created[0]);

    const first = await call('GET', '/v1/customers', '/v1/customers', { limit: 2 });
    expect(first.body).toMatchObject({ object: 'list', has_more: true, url: '/v1/customers' });
    expect(first.body.data.map((c: { id: string }) => c.id)).toEqual([created[4], created[3]]);
    const second = await call('GET', '/v1/customers', '/v1/customers', { limit: 2, starting_after: created[3] });
    expect(second.body.data.map((c: { id: string }) => c.id)).toEqual([created[2], created[1]]);
    const last = await call('GET', '/v1/customers', '/v1/customers', { limit: 2, starting_after: created[1] });
    expect(last.body).toMatchObject({ has_more: false });
    expect(last.body.data.map((c: { id: string }) => c.id)).toEqual([created[0]]);
    const before = await call('GET', '/v1/customers', '/v1/customers', { limit: 2, ending_before: created[1] });
    expect(before.body.data.map((c: { id: string }) => c.id)).toEqual([created[3], created[2]]);

    const filtered = await call('GET', '/v1/customers', '/v1/customers', { email: 'three@example.com' });
    expect(filtered.body.data).toHaveLength(1);
    expect(filtered.body.data[0].id).toBe(created[2]);
  });

  it('walks a payment intent through automatic capture and a partial then full refund', async () => {
    const customer = (await call('POST', '/v1/customers', '/v1/customers', { email: 'buyer@example.com' })).body;
    const created = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 2000,
      currency: 'USD',
      customer: customer.id,
      description: 'Order 42',
      metadata: { order: '42' },
      automatic_payment_methods: { enabled: true },
    });
    expect(created.body).toMatchObject({
      status: 'requires_payment_method',
      currency: 'usd',
      customer: customer.id,
      capture_method: 'automatic_async',
      automatic_payment_methods: { enabled: true },
    });
    const id = created.body.id as string;
    expect(created.body.client_secret).toMatch(new RegExp(`^${id}_secret_`));

    const confirmed = await call('POST', `/v1/payment_intents/${id}/confirm`, '/v1/payment_intents/{intent}/confirm', {
      payment_method: 'pm_card_visa',
    });
    expect(confirmed.body).toMatchObject({ status: 'succeeded', amount_received: 2000, amount_capturable: 0 });
    expect(confirmed.body.latest_charge).toMatch(/^ch_/);
    expect(confirmed.body.payment_method).toMatch(/^pm_/);

    const again = await call('GET', `/v1/payment_intents/${id}`, '/v1/payment_intents/{intent}');
    expect(again.body.status).toBe('succeeded');

    const partial = await call('POST', '/v1/refunds', '/v1/refunds', {
      payment_intent: id,
      amount: 500,
      reason: 'requested_by_customer',
    });
    expect(partial.body).toMatchObject({ object: 'refund', amount: 500, status: 'succeeded', payment_intent: id });
    const rest = await call('POST', '/v1/refunds', '/v1/refunds', { charge: confirmed.body.latest_charge });
    expect(rest.body.amount).toBe(1500);
    const fetched = await call('GET', `/v1/refunds/${partial.body.id}`, '/v1/refunds/{refund}');
    expect(fetched.body.id).toBe(partial.body.id);
    const refunds = await call('GET', '/v1/refunds', '/v1/refunds', { payment_intent: id });
    expect(refunds.body.data.map((r: { id: string }) => r.id)).toEqual([rest.body.id, partial.body.id]);

    const tooMuch = await call('POST', '/v1/refunds', '/v1/refunds', { payment_intent: id, amount: 1 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error.code).toBe('charge_already_refunded');

    const intents = await call('GET', '/v1/payment_intents', '/v1/payment_intents', { customer: customer.id });
    expect(intents.body.data).toHaveLength(1);
  });

  it('holds a manual-capture intent in requires_capture, captures part of it and refuses a second capture', async () => {
    const created = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 5000,
      currency: 'eur',
      payment_method: 'pm_card_mastercard',
      capture_method: 'manual',
      confirm: true,
    });
    expect(created.body).toMatchObject({ status: 'requires_capture', amount_capturable: 5000, amount_received: 0 });
    const id = created.body.id as string;

    const tooLarge = await call('POST', `/v1/payment_intents/${id}/capture`, '/v1/payment_intents/{intent}/capture', {
      amount_to_capture: 6000,
    });
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.body.error).toMatchObject({ code: 'amount_too_large', param: 'amount_to_capture' });

    const captured = await call('POST', `/v1/payment_intents/${id}/capture`, '/v1/payment_intents/{intent}/capture', {
      amount_to_capture: 3000,
    });
    expect(captured.body).toMatchObject({ status: 'succeeded', amount_received: 3000, amount_capturable: 0 });

    const twice = await call('POST', `/v1/payment_intents/${id}/capture`, '/v1/payment_intents/{intent}/capture');
    expect(twice.status).toBe(400);
    expect(twice.body.error).toMatchObject({ type: 'invalid_request_error', code: 'payment_intent_unexpected_state' });
    expect(twice.body.error.payment_intent.id).toBe(id);

    const cancelSucceeded = await call(
      'POST',
      `/v1/payment_intents/${id}/cancel`,
      '/v1/payment_intents/{intent}/cancel',
    );
    expect(cancelSucceeded.status).toBe(400);
    expect(cancelSucceeded.body.error.code).toBe('payment_intent_unexpected_state');

    const refund = await call('POST', '/v1/refunds', '/v1/refunds', { payment_intent: id, amount: 3001 });
    expect(refund.status).toBe(400);
    expect(refund.body.error).toMatchObject({ code: 'amount_too_large', param: 'amount' });
  });

  it('cancels an uncaptured intent and refuses to confirm it afterwards', async () => {
    const created = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
    });
    expect(created.body.status).toBe('requires_confirmation');
    const id = created.body.id as string;
    const canceled = await call('POST', `/v1/payment_intents/${id}/cancel`, '/v1/payment_intents/{intent}/cancel', {
      cancellation_reason: 'requested_by_customer',
    });
    expect(canceled.body).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    expect(canceled.body.canceled_at).toEqual(expect.any(Number));

    const confirm = await call('POST', `/v1/payment_intents/${id}/confirm`, '/v1/payment_intents/{intent}/confirm');
    expect(confirm.status).toBe(400);
    expect(confirm.body.error.message).toContain('status of canceled');

    const noRefund = await call('POST', '/v1/refunds', '/v1/refunds', { payment_intent: id });
    expect(noRefund.status).toBe(400);
    expect(noRefund.body.error.code).toBe('charge_not_refundable');
  });

  it('declines a test card with 402 card_error, records last_payment_error, and accepts a new card', async () => {
    const declined = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 1500,
      currency: 'usd',
      payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
      confirm: true,
    });
    expect(declined.status).toBe(402);
    expect(declined.body.error).toMatchObject({
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    });
    expect(declined.body.error.charge).toMatch(/^ch_/);
    const intent = declined.body.error.payment_intent;
    expect(intent).toMatchObject({ status: 'requires_payment_method', payment_method: null });
    expect(intent.last_payment_error).toMatchObject({ type: 'card_error', decline_code: 'insufficient_funds' });

    const retrieved = await call('GET', `/v1/payment_intents/${intent.id}`, '/v1/payment_intents/{intent}');
    expect(retrieved.body.last_payment_error.code).toBe('card_declined');

    const expired = await call(
      'POST',
      `/v1/payment_intents/${intent.id}/confirm`,
      '/v1/payment_intents/{intent}/confirm',
      {
        payment_method: 'pm_card_chargeDeclinedExpiredCard',
      },
    );
    expect(expired.status).toBe(402);
    expect(expired.body.error).toMatchObject({ code: 'expired_card', decline_code: 'expired_card' });

    const ok = await call('POST', `/v1/payment_intents/${intent.id}/confirm`, '/v1/payment_intents/{intent}/confirm', {
      payment_method: 'pm_card_amex',
    });
    expect(ok.body).toMatchObject({ status: 'succeeded', last_payment_error: null });
  });

  it('replays a keyed request and rejects the key with other parameters or another endpoint', async () => {
    const params = { amount: 2500, currency: 'usd', metadata: { order: '7' } };
    const first = await call('POST', '/v1/payment_intents', '/v1/payment_intents', params, {
      idempotencyKey: 'order-7',
    });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await call('POST', '/v1/payment_intents', '/v1/payment_intents', params, {
      idempotencyKey: 'order-7',
    });
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('original-request')).toBe(first.headers.get('request-id'));
    expect(second.body).toEqual(first.body);
    expect(fake.state.paymentIntents.size).toBe(1);

    const changed = await call(
      'POST',
      '/v1/payment_intents',
      '/v1/payment_intents',
      { ...params, amount: 2600 },
      { idempotencyKey: 'order-7' },
    );
    expect(changed.status).toBe(400);
    expect(changed.body.error.type).toBe('idempotency_error');
    expect(changed.body.error.message).toContain('same parameters');

    const elsewhere = await call('POST', '/v1/customers', '/v1/customers', {}, { idempotencyKey: 'order-7' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.type).toBe('idempotency_error');
    expect(elsewhere.body.error.message).toContain('same endpoint');

    // A decline ran the endpoint, so it is kept and replayed too.
    const declineParams = { amount: 900, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const d1 = await call('POST', '/v1/payment_intents', '/v1/payment_intents', declineParams, { idempotencyKey: 'd' });
    const d2 = await call('POST', '/v1/payment_intents', '/v1/payment_intents', declineParams, { idempotencyKey: 'd' });
    expect([d1.status, d2.status]).toEqual([402, 402]);
    expect(d2.headers.get('idempotent-replayed')).toBe('true');
    expect(d2.body.error.payment_intent.id).toBe(d1.body.error.payment_intent.id);

    // The replay is the first answer as it was, even after the object moved on.
    const card = { amount: 700, currency: 'usd', payment_method: 'pm_card_visa' };
    const made = await call('POST', '/v1/payment_intents', '/v1/payment_intents', card, { idempotencyKey: 'snap' });
    await call('POST', `/v1/payment_intents/${made.body.id}/confirm`, '/v1/payment_intents/{intent}/confirm');
    const replayed = await call('POST', '/v1/payment_intents', '/v1/payment_intents', card, { idempotencyKey: 'snap' });
    expect(replayed.body).toMatchObject({ id: made.body.id, status: 'requires_confirmation' });
    expect(fake.state.paymentIntents.get(made.body.id)?.status).toBe('succeeded');

    // Rejected input is not kept: the same key may then carry a corrected request.
    const bad = await call(
      'POST',
      '/v1/payment_intents',
      '/v1/payment_intents',
      { currency: 'usd' },
      { idempotencyKey: 'fix' },
    );
    expect(bad.status).toBe(400);
    const fixed = await call(
      'POST',
      '/v1/payment_intents',
      '/v1/payment_intents',
      { amount: 100, currency: 'usd' },
      { idempotencyKey: 'fix' },
    );
    expect(fixed.status).toBe(200);
    expect(fake.state.requests.filter((r) => r.idempotencyKey === 'order-7').map((r) => r.replayed)).toEqual([
      false,
      true,
      false,
      false,
    ]);
  });

  it('names the parameter in 400s and answers 404 resource_missing for unknown ids', async () => {
    const missing = await call('POST', '/v1/payment_intents', '/v1/payment_intents', { currency: 'usd' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'parameter_missing',
      param: 'amount',
      message: 'Missing required param: amount.',
    });
    const notInteger = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 'ten',
      currency: 'usd',
    });
    expect(notInteger.body.error).toMatchObject({ code: 'parameter_invalid_integer', param: 'amount' });
    const small = await call('POST', '/v1/payment_intents', '/v1/payment_intents', { amount: 10, currency: 'usd' });
    expect(small.body.error).toMatchObject({ code: 'amount_too_small', param: 'amount' });
    const unknown = await call('POST', '/v1/customers', '/v1/customers', { nickname: 'x' });
    expect(unknown.body.error).toMatchObject({ code: 'parameter_unknown', param: 'nickname' });
    const badEnum = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 100,
      currency: 'usd',
      capture_method: 'later',
    });
    expect(badEnum.body.error.param).toBe('capture_method');
    const noCustomer = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 100,
      currency: 'usd',
      customer: 'cus_missing',
    });
    expect(noCustomer.body.error).toMatchObject({ code: 'resource_missing', param: 'customer' });
    const unknownCard = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 100,
      currency: 'usd',
      payment_method: 'pm_card_unheard_of',
    });
    expect(unknownCard.body.error).toMatchObject({ code: 'resource_missing', param: 'payment_method' });
    const badCursor = await call('GET', '/v1/customers', '/v1/customers', { starting_after: 'cus_gone' });
    expect(badCursor.body.error).toMatchObject({ code: 'resource_missing', param: 'starting_after' });
    const badLimit = await call('GET', '/v1/customers', '/v1/customers', { limit: 101 });
    expect(badLimit.body.error.param).toBe('limit');
    const refundNothing = await call('POST', '/v1/refunds', '/v1/refunds', {});
    expect(refundNothing.body.error.code).toBe('parameter_missing');

    for (const [path, template] of [
      ['/v1/customers/cus_nope', '/v1/customers/{customer}'],
      ['/v1/payment_intents/pi_nope', '/v1/payment_intents/{intent}'],
      ['/v1/refunds/re_nope', '/v1/refunds/{refund}'],
    ] as const) {
      const res = await call('GET', path, template);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
    }
    const confirmMissing = await call(
      'POST',
      '/v1/payment_intents/pi_nope/confirm',
      '/v1/payment_intents/{intent}/confirm',
    );
    expect(confirmMissing.status).toBe(404);

    const raw = await fetch(`${fake.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 100, currency: 'usd' }),
    });
    expect(raw.status).toBe(400);
    expect((await raw.json()).error.message).toContain('unsupported Content-Type');
    const route = await fetch(`${fake.url}/v1/charges`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(route.status).toBe(404);
    expect((await route.json()).error.message).toContain('Unrecognized request URL (GET: /v1/charges)');
  });

  it('answers 401 without a key or with an unknown one, never echoing the key', async () => {
    const none = await call('GET', '/v1/customers', '/v1/customers', {}, { key: null });
    expect(none.status).toBe(401);
    expect(none.body.error.message).toContain('You did not provide an API key');
    const wrong = await call('GET', '/v1/customers', '/v1/customers', {}, { key: 'sk_test_wrong_key_0123456789' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('Invalid API Key provided: sk_test_****6789');
    expect(wrong.body.error.message).not.toContain('wrong_key');
  });

  it('answers 429 rate_limit once a key is over its limit', async () => {
    const limited = await startStripeFake({ rateLimit: { limit: 3, windowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${limited.url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_limited' } });
        const body = await res.json();
        const validate = responseValidator('GET', '/v1/balance', res.status);
        expect(validate(body), ajv.errorsText(validate.errors)).toBe(true);
        statuses.push(res.status);
        if (res.status === 429) expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'rate_limit' });
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await limited.stop();
    }
  });

  it('reports a balance of captured minus refunded money', async () => {
    const pi = await call('POST', '/v1/payment_intents', '/v1/payment_intents', {
      amount: 4000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await call('POST', '/v1/refunds', '/v1/refunds', { payment_intent: pi.body.id, amount: 1000 });
    const balance = await call('GET', '/v1/balance', '/v1/balance');
    expect(balance.body).toMatchObject({ object: 'balance', available: [{ amount: 3000, currency: 'usd' }] });
  });

  it('validated every endpoint the fake serves', () => {
    expect([...validated].sort()).toEqual(
      [
        'GET /v1/balance',
        'GET /v1/customers',
        'GET /v1/customers/{customer}',
        'GET /v1/payment_intents',
        'GET /v1/payment_intents/{intent}',
        'GET /v1/refunds',
        'GET /v1/refunds/{refund}',
        'POST /v1/customers',
        'POST /v1/payment_intents',
        'POST /v1/payment_intents/{intent}/cancel',
        'POST /v1/payment_intents/{intent}/capture',
        'POST /v1/payment_intents/{intent}/confirm',
        'POST /v1/refunds',
      ].sort(),
    );
  });

  it('rejects a body that breaks the schema (the check can fail)', () => {
    const validate = responseValidator('GET', '/v1/customers/{customer}', 200);
    const customer = { id: 'cus_1', object: 'customer', created: 1, livemode: false };
    expect(validate(customer)).toBe(true);
    expect(validate({ ...customer, invented_field: 1 })).toBe(false);
    expect(validate({ ...customer, livemode: 'no' })).toBe(false);
    expect(validate({ id: 'cus_1', object: 'customer', created: 1 })).toBe(false);
  });
});
