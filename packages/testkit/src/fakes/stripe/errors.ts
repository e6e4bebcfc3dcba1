/** Stripe's error body: `{ error: { type, message, code?, param?, ... } }` (components.schemas.error in the spec). */
export interface StripeErrorBody {
  error: {
    type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
    message: string;
    code?: string;
    param?: string;
    decline_code?: string;
    doc_url?: string;
    charge?: string;
    payment_intent?: unknown;
    payment_method?: unknown;
  };
}

/** Thrown by handlers; the server turns it into Stripe's status and body. */
export class StripeFakeError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  /** Whether Stripe would keep this result under the request's idempotency key (the endpoint ran). */
  readonly executed: boolean;

  constructor(status: number, error: StripeErrorBody['error'], options: { executed?: boolean } = {}) {
    super(error.message);
    this.status = status;
    this.body = {
      error: error.code
        ? { ...error, doc_url: `https://stripe.com/docs/error-codes/${error.code.replaceAll('_', '-')}` }
        : error,
    };
    this.executed = options.executed ?? false;
  }
}

export function invalidRequest(message: string, options: { param?: string; code?: string; status?: number } = {}) {
  const error: StripeErrorBody['error'] = { type: 'invalid_request_error', message };
  if (options.code) error.code = options.code;
  if (options.param) error.param = options.param;
  return new StripeFakeError(options.status ?? 400, error);
}

/** `No such customer: 'cus_123'` — Stripe's 404 for an id that does not exist. */
export function resourceMissing(noun: string, id: string, param?: string, status = 404) {
  return invalidRequest(`No such ${noun}: '${id}'`, { code: 'resource_missing', status, ...(param ? { param } : {}) });
}
