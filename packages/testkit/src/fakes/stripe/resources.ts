import { invalidRequest, resourceMissing, StripeFakeError } from './errors.js';
import type { Params } from './params.js';
import {
  type Charge,
  type Customer,
  newId,
  now,
  type PaymentIntent,
  type PaymentIntentStatus,
  type PaymentMethod,
  type Refund,
  randomToken,
  type StripeFakeState,
} from './state.js';

/** What a handler sees of the request. */
export interface RequestContext {
  state: StripeFakeState;
  params: Params;
  /** Path parameters, e.g. the id in `/v1/customers/:id`. */
  path: Record<string, string>;
  livemode: boolean;
}

interface Decline {
  code: string;
  decline_code: string;
  message: string;
}

interface TestCard {
  brand: string;
  last4: string;
  funding: string;
  country: string;
  decline?: Decline;
}

const declined = (decline_code: string, message: string, code = 'card_declined'): Decline => ({
  code,
  decline_code,
  message,
});

/** Stripe's test payment methods (docs.stripe.com/testing): the ones that succeed and the ones that decline. */
export const TEST_PAYMENT_METHODS: Readonly<Record<string, TestCard>> = {
  pm_card_visa: { brand: 'visa', last4: '4242', funding: 'credit', country: 'US' },
  pm_card_visa_debit: { brand: 'visa', last4: '5556', funding: 'debit', country: 'US' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', funding: 'credit', country: 'US' },
  pm_card_amex: { brand: 'amex', last4: '8431', funding: 'credit', country: 'US' },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    funding: 'credit',
    country: 'US',
    decline: declined('generic_decline', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    country: 'US',
    decline: declined('insufficient_funds', 'Your card has insufficient funds.'),
  },
  pm_card_chargeDeclinedLostCard: {
    brand: 'visa',
    last4: '9987',
    funding: 'credit',
    country: 'US',
    decline: declined('lost_card', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedStolenCard: {
    brand: 'visa',
    last4: '9979',
    funding: 'credit',
    country: 'US',
    decline: declined('stolen_card', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    funding: 'credit',
    country: 'US',
    decline: declined('expired_card', 'Your card has expired.', 'expired_card'),
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: 'visa',
    last4: '0127',
    funding: 'credit',
    country: 'US',
    decline: declined('incorrect_cvc', "Your card's security code is incorrect.", 'incorrect_cvc'),
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: 'visa',
    last4: '0119',
    funding: 'credit',
    country: 'US',
    decline: declined(
      'processing_error',
      'An error occurred while processing your card. Try again in a little bit.',
      'processing_error',
    ),
  },
};

// ---- lists -------------------------------------------------------------------------------------

/** Stripe's list envelope with cursor paging; `items` is oldest first, lists are served newest first. */
function list<T extends { id: string }>(
  ctx: RequestContext,
  url: string,
  noun: string,
  items: Iterable<T>,
  filter: (item: T) => boolean = () => true,
) {
  const limit = ctx.params.integer('limit', { min: 1, max: 100 }) ?? 10;
  const startingAfter = ctx.params.string('starting_after');
  const endingBefore = ctx.params.string('ending_before');
  if (startingAfter && endingBefore) {
    throw invalidRequest('You may only specify one of these parameters: ending_before, starting_after.', {
      param: 'ending_before',
    });
  }
  const all = [...items].reverse().filter(filter);
  let page: T[];
  let hasMore: boolean;
  if (startingAfter) {
    const at = all.findIndex((item) => item.id === startingAfter);
    if (at === -1) throw resourceMissing(noun, startingAfter, 'starting_after', 400);
    const rest = all.slice(at + 1);
    page = rest.slice(0, limit);
    hasMore = rest.length > limit;
  } else if (endingBefore) {
    const at = all.findIndex((item) => item.id === endingBefore);
    if (at === -1) throw resourceMissing(noun, endingBefore, 'ending_before', 400);
    const before = all.slice(0, at);
    page = before.slice(Math.max(0, before.length - limit));
    hasMore = before.length > limit;
  } else {
    page = all.slice(0, limit);
    hasMore = all.length > limit;
  }
  return { object: 'list' as const, data: page, has_more: hasMore, url };
}

// ---- customers ---------------------------------------------------------------------------------

export function createCustomer(ctx: RequestContext): Customer {
  const p = ctx.params;
  const customer: Customer = {
    id: newId('cus', 14),
    object: 'customer',
    address: null,
    balance: p.integer('balance') ?? 0,
    created: now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: p.nullableString('description') ?? null,
    discount: null,
    email: p.nullableString('email', { maxLength: 512 }) ?? null,
    invoice_prefix: randomToken(8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: ctx.livemode,
    metadata: p.metadata() ?? {},
    name: p.nullableString('name', { maxLength: 256 }) ?? null,
    next_invoice_sequence: 1,
    phone: p.nullableString('phone', { maxLength: 20 }) ?? null,
    preferred_locales: p.stringArray('preferred_locales') ?? [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
  p.rejectUnknown();
  ctx.state.customers.set(customer.id, customer);
  return customer;
}

export function retrieveCustomer(ctx: RequestContext): Customer {
  const id = ctx.path.id ?? '';
  ctx.params.rejectUnknown();
  const customer = ctx.state.customers.get(id);
  if (!customer) throw resourceMissing('customer', id, 'id');
  return customer;
}

export function listCustomers(ctx: RequestContext) {
  const email = ctx.params.string('email', { maxLength: 512 });
  const result = list(ctx, '/v1/customers', 'customer', ctx.state.customers.values(), (c) =>
    email === undefined ? true : c.email === email,
  );
  ctx.params.rejectUnknown();
  return result;
}

// ---- payment intents ---------------------------------------------------------------------------

const CANCELABLE: readonly PaymentIntentStatus[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];
const CONFIRMABLE: readonly PaymentIntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
];

const PAST: Record<'confirm' | 'capture' | 'cancel', string> = {
  confirm: 'confirmed',
  capture: 'captured',
  cancel: 'canceled',
};

/** Stripe's answer to a transition the state machine does not allow. */
function unexpectedState(
  intent: PaymentIntent,
  action: 'confirm' | 'capture' | 'cancel',
  allowed: readonly PaymentIntentStatus[],
) {
  return new StripeFakeError(400, {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    message: `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be ${PAST[action]}: ${allowed.join(', ')}.`,
    payment_intent: intent,
  });
}

function minimumAmount(currency: string): number {
  // Stripe's minimum charge is about 0.50 USD; zero-decimal currencies are counted in whole units.
  return ['usd', 'eur', 'gbp', 'cad', 'aud', 'chf', 'nzd', 'sgd'].includes(currency) ? 50 : 1;
}

function requireCustomer(ctx: RequestContext, id: string | null | undefined): string | null {
  if (!id) return null;
  if (!ctx.state.customers.has(id)) throw resourceMissing('customer', id, 'customer', 400);
  return id;
}

/** Clones a test payment method (`pm_card_visa`) into a new PaymentMethod, as Stripe does in test mode. */
function attachPaymentMethod(ctx: RequestContext, reference: string, customer: string | null): PaymentMethod {
  const stored = ctx.state.paymentMethods.get(reference);
  if (stored) return stored;
  const card = TEST_PAYMENT_METHODS[reference];
  if (!card) throw resourceMissing('PaymentMethod', reference, 'payment_method', 400);
  const method: PaymentMethod = {
    id: newId('pm'),
    object: 'payment_method',
    billing_details: { address: null, email: null, name: null, phone: null },
    card: {
      brand: card.brand,
      checks: {
        address_line1_check: null,
        address_postal_code_check: null,
        cvc_check: card.decline?.code === 'incorrect_cvc' ? 'fail' : 'pass',
      },
      country: card.country,
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: randomToken(16),
      funding: card.funding,
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: now(),
    customer,
    livemode: ctx.livemode,
    metadata: {},
    type: 'card',
  };
  ctx.state.paymentMethods.set(method.id, method);
  ctx.state.testCards.set(method.id, reference);
  return method;
}

function declineOf(ctx: RequestContext, method: PaymentMethod): Decline | undefined {
  const reference = ctx.state.testCards.get(method.id);
  return reference ? TEST_PAYMENT_METHODS[reference]?.decline : undefined;
}

/** Runs the confirmation: charges the card, or records the decline and answers 402. */
function confirmIntent(ctx: RequestContext, intent: PaymentIntent): PaymentIntent {
  if (!intent.payment_method) {
    throw new StripeFakeError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message:
        "You cannot confirm this PaymentIntent because it's missing a payment method. Confirm it with a payment_method.",
      param: 'payment_method',
      payment_intent: intent,
    });
  }
  const method = ctx.state.paymentMethods.get(intent.payment_method);
  if (!method) throw resourceMissing('PaymentMethod', intent.payment_method, 'payment_method', 400);
  const decline = declineOf(ctx, method);
  const charge: Charge = {
    id: newId('ch'),
    amount: intent.amount,
    amount_captured: 0,
    amount_refunded: 0,
    currency: intent.currency,
    payment_intent: intent.id,
    status: decline ? 'failed' : 'succeeded',
  };
  ctx.state.charges.set(charge.id, charge);
  intent.latest_charge = charge.id;
  if (decline) {
    intent.status = 'requires_payment_method';
    intent.payment_method = null;
    intent.last_payment_error = {
      type: 'card_error',
      ...decline,
      charge: charge.id,
      doc_url: `https://stripe.com/docs/error-codes/${decline.code.replaceAll('_', '-')}`,
      payment_method: method,
    };
    throw new StripeFakeError(
      402,
      {
        type: 'card_error',
        ...decline,
        charge: charge.id,
        payment_intent: intent,
        payment_method: method,
      },
      { executed: true },
    );
  }
  intent.last_payment_error = null;
  if (intent.capture_method === 'manual') {
    intent.status = 'requires_capture';
    intent.amount_capturable = intent.amount;
  } else {
    charge.amount_captured = intent.amount;
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
  }
  return intent;
}

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;

export function createPaymentIntent(ctx: RequestContext): PaymentIntent {
  const p = ctx.params;
  const amount = p.integer('amount', { required: true, min: 1, max: 99_999_999 }) as number;
  const currency = (p.string('currency', { required: true }) as string).toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) {
    throw invalidRequest(`Invalid currency: ${currency}. Stripe currently supports ISO 4217 currency codes.`, {
      param: 'currency',
    });
  }
  const minimum = minimumAmount(currency);
  if (amount < minimum) {
    throw invalidRequest(`Amount must be at least ${minimum} ${currency}`, {
      param: 'amount',
      code: 'amount_too_small',
    });
  }
  const customer = requireCustomer(ctx, p.nullableString('customer'));
  const automatic = p.object('automatic_payment_methods');
  const automaticEnabled = automatic?.boolean('enabled');
  const allowRedirects = automatic?.enum('allow_redirects', ['always', 'never'] as const);
  automatic?.rejectUnknown('automatic_payment_methods');
  const paymentMethod = p.nullableString('payment_method');
  const confirm = p.boolean('confirm') ?? false;
  const id = newId('pi');
  const intent: PaymentIntent = {
    id,
    object: 'payment_intent',
    amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods:
      automaticEnabled === undefined
        ? null
        : { enabled: automaticEnabled, ...(allowRedirects ? { allow_redirects: allowRedirects } : {}) },
    canceled_at: null,
    cancellation_reason: null,
    capture_method: p.enum('capture_method', CAPTURE_METHODS) ?? 'automatic_async',
    client_secret: `${id}_secret_${randomToken(25)}`,
    confirmation_method: p.enum('confirmation_method', ['automatic', 'manual'] as const) ?? 'automatic',
    created: now(),
    currency,
    customer,
    description: p.nullableString('description') ?? null,
    invoice: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: ctx.livemode,
    metadata: p.metadata() ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_options: {},
    payment_method_types: p.stringArray('payment_method_types') ?? ['card'],
    processing: null,
    receipt_email: p.nullableString('receipt_email') ?? null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    statement_descriptor: p.nullableString('statement_descriptor', { maxLength: 22 }) ?? null,
    statement_descriptor_suffix: p.nullableString('statement_descriptor_suffix', { maxLength: 22 }) ?? null,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
  p.rejectUnknown();
  if (paymentMethod) {
    intent.payment_method = attachPaymentMethod(ctx, paymentMethod, customer).id;
    intent.status = 'requires_confirmation';
  }
  if (confirm && !paymentMethod) {
    throw invalidRequest(
      "You cannot confirm this PaymentIntent because it's missing a payment method. Specify payment_method when confirm=true.",
      { param: 'payment_method', code: 'payment_intent_unexpected_state' },
    );
  }
  ctx.state.paymentIntents.set(intent.id, intent);
  return confirm ? confirmIntent(ctx, intent) : intent;
}

function findIntent(ctx: RequestContext): PaymentIntent {
  const id = ctx.path.id ?? '';
  const intent = ctx.state.paymentIntents.get(id);
  if (!intent) throw resourceMissing('payment_intent', id, 'intent');
  return intent;
}

export function retrievePaymentIntent(ctx: RequestContext): PaymentIntent {
  ctx.params.string('client_secret');
  ctx.params.rejectUnknown();
  return findIntent(ctx);
}

export function listPaymentIntents(ctx: RequestContext) {
  const customer = ctx.params.string('customer');
  const result = list(ctx, '/v1/payment_intents', 'payment_intent', ctx.state.paymentIntents.values(), (pi) =>
    customer === undefined ? true : pi.customer === customer,
  );
  ctx.params.rejectUnknown();
  return result;
}

export function confirmPaymentIntent(ctx: RequestContext): PaymentIntent {
  const intent = findIntent(ctx);
  const p = ctx.params;
  const paymentMethod = p.nullableString('payment_method');
  const captureMethod = p.enum('capture_method', CAPTURE_METHODS);
  const receiptEmail = p.nullableString('receipt_email');
  p.string('return_url');
  p.rejectUnknown();
  if (!CONFIRMABLE.includes(intent.status)) throw unexpectedState(intent, 'confirm', CONFIRMABLE);
  if (paymentMethod) intent.payment_method = attachPaymentMethod(ctx, paymentMethod, intent.customer).id;
  if (captureMethod) intent.capture_method = captureMethod;
  if (receiptEmail !== undefined) intent.receipt_email = receiptEmail;
  return confirmIntent(ctx, intent);
}

export function capturePaymentIntent(ctx: RequestContext): PaymentIntent {
  const intent = findIntent(ctx);
  const p = ctx.params;
  const amountToCapture = p.integer('amount_to_capture', { min: 1 });
  const metadata = p.metadata();
  p.rejectUnknown();
  if (intent.status !== 'requires_capture') throw unexpectedState(intent, 'capture', ['requires_capture']);
  const amount = amountToCapture ?? intent.amount_capturable;
  if (amount > intent.amount_capturable) {
    throw invalidRequest(
      `The amount to capture (${amount}) is greater than the capturable amount (${intent.amount_capturable}).`,
      { param: 'amount_to_capture', code: 'amount_too_large' },
    );
  }
  const charge = intent.latest_charge ? ctx.state.charges.get(intent.latest_charge) : undefined;
  if (charge) charge.amount_captured = amount;
  if (metadata) intent.metadata = { ...intent.metadata, ...metadata };
  intent.amount_received = amount;
  intent.amount_capturable = 0;
  intent.status = 'succeeded';
  return intent;
}

const CANCELLATION_REASONS = ['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer'] as const;

export function cancelPaymentIntent(ctx: RequestContext): PaymentIntent {
  const intent = findIntent(ctx);
  const reason = ctx.params.enum('cancellation_reason', CANCELLATION_REASONS);
  ctx.params.rejectUnknown();
  if (!CANCELABLE.includes(intent.status)) throw unexpectedState(intent, 'cancel', CANCELABLE);
  intent.status = 'canceled';
  intent.canceled_at = now();
  intent.cancellation_reason = reason ?? null;
  intent.amount_capturable = 0;
  return intent;
}

// ---- refunds -----------------------------------------------------------------------------------

export function createRefund(ctx: RequestContext): Refund {
  const p = ctx.params;
  const paymentIntentId = p.string('payment_intent');
  const chargeId = p.string('charge');
  const amount = p.integer('amount', { min: 1 });
  const reason = p.enum('reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const);
  const metadata = p.metadata();
  p.rejectUnknown();
  if (!paymentIntentId && !chargeId) {
    throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.', {
      code: 'parameter_missing',
    });
  }
  let charge: Charge | undefined;
  if (chargeId) {
    charge = ctx.state.charges.get(chargeId);
    if (!charge) throw resourceMissing('charge', chargeId, 'charge', 400);
  } else if (paymentIntentId) {
    const intent = ctx.state.paymentIntents.get(paymentIntentId);
    if (!intent) throw resourceMissing('payment_intent', paymentIntentId, 'payment_intent', 400);
    if (intent.status !== 'succeeded' || !intent.latest_charge) {
      throw invalidRequest(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, {
        param: 'payment_intent',
        code: 'charge_not_refundable',
      });
    }
    charge = ctx.state.charges.get(intent.latest_charge);
  }
  if (charge?.status !== 'succeeded' || charge.amount_captured === 0) {
    throw invalidRequest(`Charge ${charge?.id ?? chargeId} has not been captured or did not succeed.`, {
      param: chargeId ? 'charge' : 'payment_intent',
      code: 'charge_not_refundable',
    });
  }
  const refundable = charge.amount_captured - charge.amount_refunded;
  if (refundable <= 0) {
    throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
  }
  const refundAmount = amount ?? refundable;
  if (refundAmount > refundable) {
    throw invalidRequest(
      `Refund amount (${refundAmount}) is greater than unrefunded amount on charge (${refundable})`,
      { param: 'amount', code: 'amount_too_large' },
    );
  }
  charge.amount_refunded += refundAmount;
  const refund: Refund = {
    id: newId('re'),
    object: 'refund',
    amount: refundAmount,
    balance_transaction: newId('txn'),
    charge: charge.id,
    created: now(),
    currency: charge.currency,
    metadata: metadata ?? {},
    payment_intent: charge.payment_intent,
    reason: reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  ctx.state.refunds.set(refund.id, refund);
  return refund;
}

export function retrieveRefund(ctx: RequestContext): Refund {
  const id = ctx.path.id ?? '';
  ctx.params.rejectUnknown();
  const refund = ctx.state.refunds.get(id);
  if (!refund) throw resourceMissing('refund', id, 'refund');
  return refund;
}

export function listRefunds(ctx: RequestContext) {
  const paymentIntent = ctx.params.string('payment_intent');
  const charge = ctx.params.string('charge');
  const result = list(
    ctx,
    '/v1/refunds',
    'refund',
    ctx.state.refunds.values(),
    (r) =>
      (paymentIntent === undefined || r.payment_intent === paymentIntent) &&
      (charge === undefined || r.charge === charge),
  );
  ctx.params.rejectUnknown();
  return result;
}

// ---- balance -----------------------------------------------------------------------------------

/** Captured minus refunded, per currency: enough for a health check to read something real. */
export function retrieveBalance(ctx: RequestContext) {
  ctx.params.rejectUnknown();
  const totals = new Map<string, number>();
  for (const charge of ctx.state.charges.values()) {
    if (charge.status !== 'succeeded') continue;
    totals.set(charge.currency, (totals.get(charge.currency) ?? 0) + charge.amount_captured - charge.amount_refunded);
  }
  if (totals.size === 0) totals.set('usd', 0);
  return {
    object: 'balance' as const,
    available: [...totals].map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } })),
    livemode: ctx.livemode,
    pending: [...totals.keys()].map((currency) => ({ amount: 0, currency, source_types: { card: 0 } })),
  };
}
