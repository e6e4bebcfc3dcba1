import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { type AuthProvider, apiKey, bearer, createHttpClient } from '../../src/http/index.js';
import { VERSION } from '../../src/version.js';
import { readForm, sendJson, startServer, type TestServer } from './server.js';

let server: TestServer;
let other: TestServer;
beforeAll(async () => {
  [server, other] = await Promise.all([startServer(), startServer()]);
});
afterAll(() => Promise.all([server.close(), other.close()]));
beforeEach(() => {
  server.reset();
  other.reset();
});

async function failure(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(IntegrationError.isInstance(error), `expected an IntegrationError, got ${String(error)}`).toBe(true);
  return error as IntegrationError;
}

const echo = () =>
  server.handle((req, res) =>
    sendJson(res, 200, { method: req.method, url: req.url, headers: req.headers, body: req.body }),
  );

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe('createHttpClient', () => {
  it('joins paths under the base URL and encodes query values, repeating arrays and skipping empties', async () => {
    echo();
    const client = createHttpClient({ baseUrl: `${server.origin}/v1/`, provider: 'acme' });
    const a = await client.get<Echo>('/users/42');
    expect(a.url).toBe('/v1/users/42');
    const b = await client.get<Echo>('search?q=a b', {
      query: { limit: 10, tags: ['x', 'y&z'], exact: true, skip: undefined, none: null },
    });
    expect(b.url).toBe('/v1/search?q=a+b&limit=10&tags=x&tags=y%26z&exact=true');
  });

  it('sends JSON and parses JSON answers, typed by the caller', async () => {
    echo();
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const result = await client.post<Echo>('/things', { json: { name: 'ü', n: [1, 2] } });
    expectTypeOf(result).toEqualTypeOf<Echo>();
    expect(result.method).toBe('POST');
    expect(result.headers['content-type']).toBe('application/json');
    expect(JSON.parse(result.body)).toEqual({ name: 'ü', n: [1, 2] });
  });

  it('sends forms as application/x-www-form-urlencoded', async () => {
    echo();
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const result = await client.put<Echo>('/things/1', { form: { a: 'x y', list: ['1', '2'], gone: undefined } });
    expect(result.method).toBe('PUT');
    expect(result.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(result.body).toBe('a=x+y&list=1&list=2');
    const fromParams = await client.patch<Echo>('/things/1', { form: new URLSearchParams({ k: 'v' }) });
    expect(fromParams.method).toBe('PATCH');
    expect(readForm(fromParams.body)).toEqual({ k: 'v' });
  });

  it('refuses two bodies at once', async () => {
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.post('/x', { json: {}, form: { a: '1' } }));
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain('only one of json, form or body');
    expect(server.requests).toHaveLength(0);
  });

  it('returns undefined for 204, text for non-JSON answers, and the Response from raw', async () => {
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    server.handle((req, res) => {
      if (req.url === '/empty') {
        res.statusCode = 204;
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/csv' });
        res.end('a,b\n1,2\n');
      }
    });
    expect(await client.delete('/empty')).toBeUndefined();
    expect(await client.get('/report.csv')).toBe('a,b\n1,2\n');
    const raw = await client.raw({ path: '/report.csv' });
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe('a,b\n1,2\n');
    const sent = await client.send({ path: '/report.csv', query: { v: 1 } });
    expect(sent.status).toBe(200);
    expect(sent.headers.get('content-type')).toBe('text/csv');
    expect(sent.url.href).toBe(`${server.origin}/report.csv?v=1`);
  });

  it('merges headers (per-request over defaults) and appends core to the user agent', async () => {
    echo();
    const client = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      userAgent: '@integrations/acme/1.2.3',
      headers: { 'x-team': 'blue', 'x-version': '1' },
    });
    const result = await client.get<Echo>('/h', { headers: { 'x-version': '2' } });
    expect(result.headers['user-agent']).toBe(`@integrations/acme/1.2.3 @integrations/core/${VERSION}`);
    expect(result.headers.accept).toBe('application/json');
    expect(result.headers['x-team']).toBe('blue');
    expect(result.headers['x-version']).toBe('2');
    const plain = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    expect((await plain.get<Echo>('/h')).headers['user-agent']).toBe(`@integrations/core/${VERSION}`);
  });

  it('runs hooks: beforeRequest sees the authorized request, afterResponse may replace the response', async () => {
    echo();
    const seen: string[] = [];
    const client = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      auth: bearer('hook-token'),
      hooks: {
        beforeRequest(request) {
          seen.push(`${request.method} ${request.url.pathname} ${request.headers.get('authorization')}`);
          request.headers.set('x-signed', 'yes');
        },
        afterResponse(response) {
          if (response.headers.get('content-type') !== 'application/json') return undefined;
          return new Response(JSON.stringify({ replaced: true, status: response.status }), {
            headers: { 'content-type': 'application/json' },
          });
        },
      },
    });
    expect(await client.get('/a')).toEqual({ replaced: true, status: 200 });
    expect(seen).toEqual(['GET /a Bearer hook-token']);
    expect(server.requests[0]?.headers['x-signed']).toBe('yes');
  });

  it('uses the fetch override', async () => {
    echo();
    const urls: string[] = [];
    const client = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    await client.get('/via-override');
    expect(urls).toEqual([`${server.origin}/via-override`]);
  });

  it('accepts absolute URLs on its own origin only', async () => {
    echo();
    other.handle((_req, res) => sendJson(res, 200, {}));
    const client = createHttpClient({ baseUrl: `${server.origin}/v1`, provider: 'acme', auth: bearer('t0ken-abc') });
    expect((await client.get<Echo>(`${server.origin}/v2/elsewhere?x=1`)).url).toBe('/v2/elsewhere?x=1');
    const error = await failure(client.get(`${other.origin}/steal`));
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain(`refuses to send credentials to ${other.origin}`);
    expect(other.requests).toHaveLength(0);
  });

  it('rejects a bad base URL or provider up front', () => {
    expect(() => createHttpClient({ baseUrl: 'api.example.com', provider: 'acme' })).toThrow(/baseUrl/);
    expect(() => createHttpClient({ baseUrl: server.origin, provider: '' })).toThrow(/provider/);
  });
});

describe('redirects', () => {
  it('follows same-origin redirects with credentials', async () => {
    server.handle((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' });
        res.end();
      } else sendJson(res, 200, { auth: req.headers.authorization });
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: bearer('same-origin-tok') });
    expect(await client.get('/old')).toEqual({ auth: 'Bearer same-origin-tok' });
    expect(server.requests.map((r) => r.url)).toEqual(['/old', '/new']);
  });

  it('follows a cross-origin GET redirect without any credentials', async () => {
    server.handle((_req, res) => {
      res.writeHead(302, { location: `${other.origin}/download/file.json?sig=abc` });
      res.end();
    });
    other.handle((req, res) => sendJson(res, 200, { got: req.url }));
    for (const auth of [bearer('cross-origin-tok'), apiKey({ header: 'X-Api-Key', value: 'cross-origin-key' })]) {
      other.reset();
      const client = createHttpClient({
        baseUrl: server.origin,
        provider: 'acme',
        auth,
        headers: { 'x-tenant': 't1' },
      });
      expect(await client.get('/export')).toEqual({ got: '/download/file.json?sig=abc' });
      const headers = other.requests[0]?.headers ?? {};
      expect(headers.authorization).toBeUndefined();
      expect(headers['x-api-key']).toBeUndefined();
      expect(headers['x-tenant']).toBeUndefined();
      expect(headers['user-agent']).toContain('@integrations/core/');
    }
  });

  it('will not resend a POST body to another origin', async () => {
    server.handle((_req, res) => {
      res.writeHead(307, { location: `${other.origin}/collect` });
      res.end();
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: bearer('post-tok') });
    const error = await failure(client.post('/submit', { json: { card: '4242' } }));
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain('redirected to');
    expect(other.requests).toHaveLength(0);
  });

  it('stops a redirect loop', async () => {
    server.handle((_req, res) => {
      res.writeHead(302, { location: '/again' });
      res.end();
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme' });
    const error = await failure(client.get('/again'));
    expect(error.message).toContain('too many redirects');
    expect(server.requests).toHaveLength(6);
  });
});

describe('401 handling', () => {
  /** Credentials with a generation number: onUnauthorized moves to the next one. */
  function rotatingAuth(): AuthProvider & { generation: number } {
    const auth = {
      generation: 1,
      authorize(request: { headers: Headers }) {
        request.headers.set('authorization', `Bearer gen-${auth.generation}`);
      },
      onUnauthorized() {
        auth.generation++;
      },
    };
    return auth;
  }

  it('lets the auth provider renew once and resends the request', async () => {
    server.handle((req, res) =>
      req.headers.authorization === 'Bearer gen-2'
        ? sendJson(res, 200, { ok: true, body: req.body })
        : sendJson(res, 401, { error: 'invalid_token' }),
    );
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: rotatingAuth() });
    expect(await client.post('/x', { json: { n: 1 } })).toEqual({ ok: true, body: '{"n":1}' });
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer gen-1', 'Bearer gen-2']);
  });

  it('gives up after one renewal, as auth', async () => {
    server.handle((_req, res) => sendJson(res, 401, { error: 'invalid_token', error_description: 'revoked' }));
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: rotatingAuth() });
    const error = await failure(client.get('/x'));
    expect(error.kind).toBe('auth');
    expect(error.code).toBe('invalid_token');
    expect(server.requests).toHaveLength(2);
  });

  it('does not resend when the provider cannot renew', async () => {
    server.handle((_req, res) => sendJson(res, 401, {}));
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: bearer('static') });
    expect((await failure(client.get('/x'))).kind).toBe('auth');
    expect(server.requests).toHaveLength(1);
  });
});
