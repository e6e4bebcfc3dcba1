import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import { invalidRequest, StripeFakeError } from './errors.js';
import { Params } from './params.js';
import {
  cancelPaymentIntent,
  capturePaymentIntent,
  confirmPaymentIntent,
  createCustomer,
  createPaymentIntent,
  createRefund,
  listCustomers,
  listPaymentIntents,
  listRefunds,
  type RequestContext,
  retrieveBalance,
  retrieveCustomer,
  retrievePaymentIntent,
  retrieveRefund,
} from './resources.js';
import { newId, type StripeFakeRequest, StripeFakeState } from './state.js';

export interface StripeFakeOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to bind; 127.0.0.1 by default. */
  host?: string;
  /**
   * Secret keys the fake accepts. By default any well-formed secret or restricted key
   * (`sk_test_…`, `sk_live_…`, `rk_test_…`, `rk_live_…`) is accepted.
   */
  apiKeys?: readonly string[];
  /** Answer 429 `rate_limit` once a key has made `limit` requests within `windowMs`. Off by default. */
  rateLimit?: { limit: number; windowMs: number };
}

export interface StripeFake {
  /** Base URL, e.g. `http://127.0.0.1:41234` (the SDK's `host`/`port`/`protocol` come from it). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The in-memory objects and every request received, for assertions. */
  readonly state: StripeFakeState;
  /** Forgets every object, request and idempotency record. */
  reset(): void;
  stop(): Promise<void>;
}

type Handler = (ctx: RequestContext) => unknown;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: Handler;
}

const ID = '([A-Za-z0-9_]+)';

const ROUTES: readonly Route[] = [
  { method: 'POST', pattern: /^\/v1\/customers$/, handler: createCustomer },
  { method: 'GET', pattern: /^\/v1\/customers$/, handler: listCustomers },
  { method: 'GET', pattern: new RegExp(`^/v1/customers/${ID}$`), handler: retrieveCustomer },
  { method: 'POST', pattern: /^\/v1\/payment_intents$/, handler: createPaymentIntent },
  { method: 'GET', pattern: /^\/v1\/payment_intents$/, handler: listPaymentIntents },
  { method: 'GET', pattern: new RegExp(`^/v1/payment_intents/${ID}$`), handler: retrievePaymentIntent },
  { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${ID}/confirm$`), handler: confirmPaymentIntent },
  { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${ID}/capture$`), handler: capturePaymentIntent },
  { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${ID}/cancel$`), handler: cancelPaymentIntent },
  { method: 'POST', pattern: /^\/v1\/refunds$/, handler: createRefund },
  { method: 'GET', pattern: /^\/v1\/refunds$/, handler: listRefunds },
  { method: 'GET', pattern: new RegExp(`^/v1/refunds/${ID}$`), handler: retrieveRefund },
  { method: 'GET', pattern: /^\/v1\/balance$/, handler: retrieveBalance },
];

const KEY_PATTERN = /^(sk|rk)_(test|live)_\S+$/;
const MAX_BODY = 1024 * 1024;
const API_VERSION = '2023-08-16';

interface Reply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Starts an in-memory Stripe API on 127.0.0.1 that the official SDK can talk to. */
export async function startStripeFake(options: StripeFakeOptions = {}): Promise<StripeFake> {
  const state = new StripeFakeState();
  const host = options.host ?? '127.0.0.1';
  const windows = new Map<string, { start: number; count: number }>();

  function authenticate(req: IncomingMessage): { key: string } | Reply {
    const header = req.headers.authorization;
    let key: string | undefined;
    if (header?.startsWith('Bearer ')) key = header.slice(7).trim();
    else if (header?.startsWith('Basic ')) key = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
    if (!key) {
      return errorReply(
        invalidRequest(
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
          { status: 401 },
        ),
      );
    }
    const accepted = options.apiKeys ? options.apiKeys.includes(key) : KEY_PATTERN.test(key);
    if (!accepted) {
      // Stripe echoes only the key's prefix and last four characters (nothing of a short key).
      const prefix = /^[a-z]{2}_(test|live)_/.exec(key)?.[0] ?? '';
      const masked = `${prefix}****${key.length >= prefix.length + 12 ? key.slice(-4) : ''}`;
      return errorReply(
        invalidRequest(`Invalid API Key provided: ${masked}`, { status: 401, code: 'api_key_invalid' }),
      );
    }
    return { key };
  }

  function rateLimited(key: string): Reply | undefined {
    if (!options.rateLimit) return undefined;
    const at = Date.now();
    const window = windows.get(key);
    if (!window || at - window.start >= options.rateLimit.windowMs) {
      windows.set(key, { start: at, count: 1 });
      return undefined;
    }
    window.count += 1;
    if (window.count <= options.rateLimit.limit) return undefined;
    return errorReply(
      invalidRequest(
        'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
        { status: 429, code: 'rate_limit' },
      ),
    );
  }

  /** Parses the request's parameters: the form body for POST, the query string for GET. */
  function parameters(req: IncomingMessage, url: URL, body: string): Record<string, unknown> {
    const limits = { depth: 10, arrayLimit: 100, parameterLimit: 1000 };
    if (req.method !== 'POST') return qs.parse(url.search.slice(1), limits) as Record<string, unknown>;
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (body.length > 0 && type !== 'application/x-www-form-urlencoded') {
      throw invalidRequest(
        `Invalid request: unsupported Content-Type ${type || '(none)'}. If error persists and you need assistance, please contact support@stripe.com.`,
      );
    }
    if (url.search) throw invalidRequest('Parameters for POST requests must be sent in the request body.');
    return qs.parse(body, limits) as Record<string, unknown>;
  }

  /**
   * Stripe's idempotency: the first result of an executed request is kept per (API key, Idempotency-Key) and
   * replayed for a repeat with the same endpoint and parameters; a key reused for anything else is refused.
   */
  function idempotent(
    key: string,
    apiKey: string,
    received: Received,
    execute: () => Reply & { executed: boolean },
  ): Reply {
    if (key.length > 255) {
      throw invalidRequest('Idempotency keys can be at most 255 characters long.', { param: 'Idempotency-Key' });
    }
    const scope = `${apiKey}\n${key}`;
    const fingerprint = new Params(received.params).fingerprint();
    const stored = state.idempotency.get(scope);
    if (stored) {
      if (stored.method !== received.method || stored.path !== received.path) {
        throw new StripeFakeError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${stored.path}' vs '${received.path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      if (stored.fingerprint !== fingerprint) {
        throw new StripeFakeError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      received.replayed = true;
      return {
        status: stored.status,
        body: stored.body,
        headers: { 'idempotent-replayed': 'true', 'original-request': stored.requestId, 'idempotency-key': key },
      };
    }
    const reply = execute();
    // Stripe keeps a result once the endpoint has run (a success or a decline), not for rejected input.
    if (reply.status < 300 || reply.executed) {
      state.idempotency.set(scope, {
        method: received.method,
        path: received.path,
        fingerprint,
        status: reply.status,
        // A snapshot: the object itself moves on (a confirmed intent), the replayed answer does not.
        body: structuredClone(reply.body),
        requestId: reply.headers['request-id'] ?? '',
      });
    }
    return { ...reply, headers: { ...reply.headers, 'idempotency-key': key } };
  }

  async function handle(req: IncomingMessage, url: URL, received: Received): Promise<Reply> {
    const body = await readBody(req);
    const auth = authenticate(req);
    if ('status' in auth) return auth;
    const limited = rateLimited(auth.key);
    if (limited) return limited;

    const route = ROUTES.find((r) => r.method === received.method && r.pattern.test(received.path));
    if (!route) {
      throw invalidRequest(
        `Unrecognized request URL (${received.method}: ${received.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        { status: 404 },
      );
    }
    received.params = parameters(req, url, body);
    const id = route.pattern.exec(received.path)?.[1];
    const ctx: RequestContext = {
      state,
      params: new Params(received.params),
      path: id ? { id } : {},
      livemode: auth.key.includes('_live_'),
    };
    const execute = () => run(route.handler, ctx);
    return received.idempotencyKey === undefined
      ? execute()
      : idempotent(received.idempotencyKey, auth.key, received, execute);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const received: Received = {
      method,
      path: url.pathname,
      // Stripe honours the header on POST only.
      idempotencyKey: method === 'POST' ? headerValue(req, 'idempotency-key') : undefined,
      params: {},
      replayed: false,
    };
    handle(req, url, received)
      .catch((error: unknown) =>
        errorReply(
          error instanceof StripeFakeError
            ? error
            : new StripeFakeError(500, { type: 'api_error', message: 'An unknown error occurred.' }),
        ),
      )
      .then((reply) => {
        state.requests.push({ ...received, status: reply.status });
        send(res, reply, headerValue(req, 'stripe-version'));
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    host,
    port,
    state,
    reset: () => {
      state.reset();
      windows.clear();
    },
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** What is recorded of a request before its status is known. */
type Received = Omit<StripeFakeRequest, 'status'>;

function run(handler: Handler, ctx: RequestContext): Reply & { executed: boolean } {
  try {
    return { status: 200, body: handler(ctx), headers: { 'request-id': newId('req', 14) }, executed: true };
  } catch (error) {
    if (error instanceof StripeFakeError) return { ...errorReply(error), executed: error.executed };
    throw error;
  }
}

function errorReply(error: StripeFakeError): Reply {
  return { status: error.status, body: error.body, headers: { 'request-id': newId('req', 14) } };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(invalidRequest('Request body too large.', { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply, apiVersion: string | undefined): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(reply.body, null, 2);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'stripe-version': apiVersion ?? API_VERSION,
    ...reply.headers,
  });
  res.end(payload);
}
