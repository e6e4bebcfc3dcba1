import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorKind, IntegrationError } from '../../src/errors.js';
import { apiKey, bearer, createHttpClient, parseRateLimitHeaders, parseRetryAfter } from '../../src/http/index.js';
import { sendJson, startServer, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

async function failure(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(IntegrationError.isInstance(error), `expected an IntegrationError, got ${String(error)}`).toBe(true);
  return error as IntegrationError;
}

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '120' }), now)).toBe(120_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '0' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after': '1.5' }), now)).toBe(1500);
  });

  it('reads an HTTP-date relative to now, never negative', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }), now)).toBe(0);
  });

  it('falls back to RateLimit-Reset and X-RateLimit-Reset, as delta-seconds or epoch', () => {
    expect(parseRetryAfter(new Headers({ 'ratelimit-reset': '12' }), now)).toBe(12_000);
    expect(parseRetryAfter(new Headers({ 'x-ratelimit-reset': String(now / 1000 + 45) }), now)).toBe(45_000);
    expect(parseRetryAfter(new Headers({ 'x-ratelimit-reset': String(now + 2500) }), now)).toBe(2500);
    expect(parseRetryAfter(new Headers({ 'x-ratelimit-reset': '30' }), now)).toBe(30_000);
  });

  it('prefers Retry-After and ignores what it cannot read', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '3', 'x-ratelimit-reset': '60' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'retry-after': '-5' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  const now = 1_700_000_000_000;

  it('reads the X-RateLimit-* convention (GitHub: reset in epoch seconds)', () => {
    const headers = new Headers({
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(now / 1000 + 600),
    });
    expect(parseRateLimitHeaders(headers, now)).toEqual({ limit: 5000, remaining: 4999, resetMs: 600_000 });
  });

  it('reads the IETF RateLimit-* fields, including a quota policy after the value', () => {
    const headers = new Headers({
      'ratelimit-limit': '100, 100;w=60',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '7',
    });
    expect(parseRateLimitHeaders(headers, now)).toEqual({ limit: 100, remaining: 0, resetMs: 7000 });
  });

  it('leaves missing or unreadable fields undefined', () => {
    expect(parseRateLimitHeaders(new Headers({ 'x-ratelimit-remaining': 'lots' }), now)).toEqual({
      limit: undefined,
      remaining: undefined,
      resetMs: undefined,
    });
  });
});

describe('status mapping', () => {
  const table: Array<[number, ErrorKind, boolean]> = [
    [400, 'invalid_request', false],
    [401, 'auth', false],
    [403, 'permission', false],
    [404, 'not_found', false],
    [408, 'timeout', true],
    [409, 'conflict', false],
    [410, 'not_found', false],
    [422, 'invalid_request', false],
    [429, 'rate_limited', true],
    [500, 'unavailable', true],
    [502, 'unavailable', true],
    [503, 'unavailable', true],
    [504, 'unavailable', true],
  ];

  it.each(table)('%i → %s', async (status, kind, retryable) => {
    server.handle((_req, res) => sendJson(res, status, { message: `status ${status}` }));
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.get('/thing'));
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.provider).toBe('acme');
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain(`status ${status}`);
    expect(error.message).toContain('GET');
  });

  it('carries Retry-After on 429 and 503', async () => {
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    server.handle((_req, res) => sendJson(res, 429, {}, { 'retry-after': '7' }));
    expect((await failure(client.get('/x'))).retryAfterMs).toBe(7000);
    server.handle((_req, res) => sendJson(res, 503, {}, { 'ratelimit-reset': '12' }));
    expect((await failure(client.get('/x'))).retryAfterMs).toBe(12_000);
    server.handle((_req, res) => sendJson(res, 400, {}, { 'retry-after': '7' }));
    expect((await failure(client.get('/x'))).retryAfterMs).toBeUndefined();
  });
});

describe('provider error messages', () => {
  const shapes: Array<[string, unknown, string, string | undefined]> = [
    [
      '{error:{message,code}}',
      { error: { message: 'No such customer', code: 'resource_missing' } },
      'No such customer',
      'resource_missing',
    ],
    [
      'OAuth {error, error_description}',
      { error: 'invalid_token', error_description: 'The token expired' },
      'The token expired',
      'invalid_token',
    ],
    ['{message, code}', { message: 'Validation Failed', code: 'E42' }, 'Validation Failed', 'E42'],
    [
      '{errors:[{message}]}',
      { errors: [{ message: 'name is required', code: 'missing' }] },
      'name is required',
      'missing',
    ],
    ['RFC 9457 problem', { title: 'Bad Request', detail: 'limit must be <= 100' }, 'limit must be <= 100', undefined],
  ];

  it.each(shapes)('extracts %s', async (_name, body, message, code) => {
    server.handle((_req, res) => sendJson(res, 400, body));
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.post('/things', { json: {} }));
    expect(error.message).toBe(`acme POST ${server.origin}/things returned 400: ${message}`);
    expect(error.code).toBe(code);
  });

  it('shows plain text bodies truncated, and never an HTML page', async () => {
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    server.handle((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('x'.repeat(50_000));
    });
    const long = await failure(client.get('/x'));
    expect(long.message.length).toBeLessThan(450);
    expect(long.message.endsWith('…')).toBe(true);

    server.handle((_req, res) => {
      res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' });
      res.end('<html><body><h1>nginx</h1></body></html>');
    });
    const html = await failure(client.get('/x'));
    expect(html.message).toBe(`acme GET ${server.origin}/x returned 502: Bad Gateway`);
  });

  it('keeps credentials out of errors even when the provider echoes the request', async () => {
    const echo = (req: { headers: unknown; url: string }, res: ServerResponse) =>
      sendJson(res, 400, { message: `you sent ${JSON.stringify(req.headers)} to ${req.url}` });
    server.handle(echo);
    const token = 'tok_live_5f1c2e9a7b';
    const cases = [
      createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: bearer(token) }),
      createHttpClient({
        baseUrl: server.origin,
        provider: 'acme',
        auth: apiKey({ header: 'X-Auth-Token', value: token }),
      }),
      createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: apiKey({ query: 'key', value: token }) }),
      createHttpClient({ baseUrl: server.origin, provider: 'acme', headers: { authorization: `Token ${token}` } }),
    ];
    for (const client of cases) {
      const error = await failure(client.get('/me', { query: { q: 'visible' } }));
      expect(error.message).toContain('you sent');
      expect(error.message).toContain('[REDACTED]');
      expect(error.message).not.toContain(token);
      expect(JSON.stringify(error.toJSON())).not.toContain(token);
      // The request line in the message never shows the query (it may hold the key).
      expect(error.message.startsWith(`acme GET ${server.origin}/me returned 400: you sent`)).toBe(true);
    }
    expect(server.requests.map((r) => r.url)).toContain(`/me?q=visible&key=${token}`);
  });
});

describe('network failures and aborts', () => {
  it('maps a refused connection to unavailable, keeping the socket error as cause', async () => {
    const closed = await startServer();
    await closed.close();
    const client = createHttpClient({ baseUrl: closed.origin, provider: 'acme', auth: bearer('secret-token-1') });
    const error = await failure(client.get('/x'));
    expect(error.kind).toBe('unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('maps a connection reset mid-response to unavailable', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"partial":');
      setImmediate(() => res.socket?.destroy());
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.get('/x'));
    expect(error.kind).toBe('unavailable');
  });

  /** A server that holds every request open until released, and tells the test when one arrived. */
  function hang() {
    const held: ServerResponse[] = [];
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    server.handle((_req, res) => {
      held.push(res);
      arrived();
    });
    const release = () => {
      for (const res of held) res.destroy();
    };
    return { received, release };
  }

  it('passes the caller signal to fetch: abort mid-request → cancelled', async () => {
    const { received, release } = hang();
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const controller = new AbortController();
    const pending = failure(client.get('/slow', { signal: controller.signal }));
    await received;
    controller.abort();
    const error = await pending;
    release();
    expect(error.kind).toBe('cancelled');
    expect(error.retryable).toBe(false);
  });

  it('reports timeout when the signal was aborted by a timeout', async () => {
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    for (const reason of [
      new DOMException('deadline', 'TimeoutError'),
      new IntegrationError('timeout', 'attempt timed out'),
    ]) {
      const { received, release } = hang();
      const controller = new AbortController();
      const pending = failure(client.get('/slow', { signal: controller.signal }));
      await received;
      controller.abort(reason);
      const error = await pending;
      release();
      expect(error.kind).toBe('timeout');
      expect(error.cause).toBe(reason);
    }
  });

  it('aborts while the body is streaming', async () => {
    let held: ServerResponse | undefined;
    let bodyStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      bodyStarted = resolve;
    });
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      held = res;
      res.write('{"items":[', () => bodyStarted());
    });
    const client = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      // Resolves once the headers are in, so the abort below lands while the body is being read.
      hooks: { afterResponse: async () => void (await started) },
    });
    const controller = new AbortController();
    const pending = failure(client.get('/stream', { signal: controller.signal }));
    await started;
    controller.abort();
    expect((await pending).kind).toBe('cancelled');
    held?.destroy();
  });

  it('does not send a request when the signal is already aborted', async () => {
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.get('/x', { signal: AbortSignal.abort() }));
    expect(error.kind).toBe('cancelled');
    expect(server.requests).toHaveLength(0);
  });

  it('reports a 2xx JSON body that does not parse as internal', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"truncated": ');
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.get('/x'));
    expect(error.kind).toBe('internal');
    expect(error.message).toContain('invalid JSON');
  });
});
