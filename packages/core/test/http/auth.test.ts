import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { apiKey, basic, bearer, createHttpClient, oauth2ClientCredentials } from '../../src/http/index.js';
import { type ReceivedRequest, readForm, sendJson, startServer, type TestServer } from './server.js';

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

/** Answers 200 only when `check` accepts the request, 401 otherwise: the server is what asserts the credential. */
function requireAuth(check: (req: ReceivedRequest) => boolean) {
  server.handle((req, res) => (check(req) ? sendJson(res, 200, { ok: true }) : sendJson(res, 401, { error: 'nope' })));
}

describe('apiKey, bearer, basic', () => {
  it('apiKey in a header', async () => {
    requireAuth((req) => req.headers['x-api-key'] === 'key-123');
    const client = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      auth: apiKey({ header: 'X-Api-Key', value: 'key-123' }),
    });
    expect(await client.get('/me')).toEqual({ ok: true });
  });

  it('apiKey in the query, added to (not replacing) the caller query', async () => {
    requireAuth((req) => req.url === '/me?fields=id&api_key=key-456');
    const client = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      auth: apiKey({ query: 'api_key', value: 'key-456' }),
    });
    expect(await client.get('/me', { query: { fields: 'id' } })).toEqual({ ok: true });
  });

  it('bearer with a fixed token or a function read at every request', async () => {
    requireAuth((req) => req.headers.authorization === 'Bearer fixed-token');
    const fixed = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: bearer('fixed-token') });
    expect(await fixed.get('/me')).toEqual({ ok: true });

    let n = 0;
    server.handle((req, res) => sendJson(res, 200, { auth: req.headers.authorization }));
    const dynamic = createHttpClient({
      baseUrl: server.origin,
      provider: 'acme',
      auth: bearer(async () => `token-${++n}`),
    });
    expect(await dynamic.get('/me')).toEqual({ auth: 'Bearer token-1' });
    expect(await dynamic.get('/me')).toEqual({ auth: 'Bearer token-2' });
  });

  it('basic, UTF-8 encoded', async () => {
    requireAuth((req) => {
      const value = req.headers.authorization ?? '';
      return value.startsWith('Basic ') && Buffer.from(value.slice(6), 'base64').toString('utf8') === 'jürgen:pä:ss';
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: basic('jürgen', 'pä:ss') });
    expect(await client.get('/me')).toEqual({ ok: true });
  });

  it('rejects unusable settings with invalid_config', async () => {
    const bad = [
      () => apiKey({ header: 'X-Key', query: 'key', value: 'v' } as never),
      () => apiKey({ value: 'v' } as never),
      () => apiKey({ header: 'X-Key', value: '' }),
      () => bearer(''),
      () => basic('a:b', 'c'),
    ];
    for (const make of bad) {
      const error = (() => {
        try {
          make();
        } catch (e) {
          return e;
        }
      })();
      expect(IntegrationError.isInstance(error) && error.kind).toBe('invalid_config');
    }
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth: bearer(() => '') });
    expect((await failure(client.get('/me'))).kind).toBe('invalid_config');
    expect(server.requests).toHaveLength(0);
  });
});

describe('oauth2ClientCredentials', () => {
  const clientId = 'app-id';
  const clientSecret = 'cs_very/secret+value';

  /** A token endpoint and an API that only accepts tokens it issued and has not revoked. */
  function oauthServer(options: { style: 'header' | 'body'; lifetime?: number }) {
    const state = { issued: 0, valid: new Set<string>(), tokenRequests: [] as ReceivedRequest[] };
    const hold: Array<() => void> = [];
    let holding = false;
    server.handle((req, res) => {
      if (req.url === '/oauth/token') {
        state.tokenRequests.push(req);
        const form = readForm(req.body);
        let id: string | undefined;
        let secret: string | undefined;
        if (options.style === 'header') {
          const decoded = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
          const [user = '', pass = ''] = decoded.split(':');
          id = decodeURIComponent(user.replace(/\+/g, ' '));
          secret = decodeURIComponent(pass.replace(/\+/g, ' '));
          if (form.client_secret !== undefined) return sendJson(res, 400, { error: 'invalid_request' });
        } else {
          if (req.headers.authorization !== undefined) return sendJson(res, 400, { error: 'invalid_request' });
          id = form.client_id;
          secret = form.client_secret;
        }
        if (id !== clientId || secret !== clientSecret) {
          return sendJson(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
        }
        if (form.grant_type !== 'client_credentials' || form.scope !== 'read write') {
          return sendJson(res, 400, { error: 'invalid_request', error_description: 'bad grant' });
        }
        const token = `cc-${++state.issued}`;
        state.valid.add(token);
        const answer = () =>
          sendJson(res, 200, { access_token: token, token_type: 'bearer', expires_in: options.lifetime ?? 3600 });
        if (holding) hold.push(answer);
        else answer();
        return;
      }
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (state.valid.has(token)) return sendJson(res, 200, { token });
      return sendJson(res, 401, { error: 'invalid_token' });
    });
    return {
      state,
      /** Holds token responses until `release`. */
      holdTokens() {
        holding = true;
      },
      release() {
        holding = false;
        for (const answer of hold.splice(0)) answer();
      },
    };
  }

  function setup(style: 'header' | 'body', extra: { now?: () => number } = {}) {
    const auth = oauth2ClientCredentials({
      tokenUrl: `${server.origin}/oauth/token`,
      clientId,
      clientSecret,
      scope: ['read', 'write'],
      authStyle: style,
      ...extra,
    });
    return { auth, client: createHttpClient({ baseUrl: server.origin, provider: 'acme', auth }) };
  }

  it.each(['header', 'body'] as const)('authenticates the client in the %s', async (style) => {
    const stand = oauthServer({ style });
    const { client } = setup(style);
    expect(await client.get('/api/me')).toEqual({ token: 'cc-1' });
    expect(stand.state.tokenRequests).toHaveLength(1);
    expect(stand.state.tokenRequests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('shares one token request among concurrent callers and caches the token', async () => {
    const stand = oauthServer({ style: 'header' });
    const { client } = setup('header');
    const results = await Promise.all(Array.from({ length: 20 }, () => client.get<{ token: string }>('/api/x')));
    expect(new Set(results.map((r) => r.token))).toEqual(new Set(['cc-1']));
    await client.get('/api/y');
    expect(stand.state.tokenRequests).toHaveLength(1);
  });

  it('renews shortly before expires_in', async () => {
    const stand = oauthServer({ style: 'header', lifetime: 3600 });
    let now = 1_000_000;
    const { auth } = setup('header', { now: () => now });
    expect(await auth.getAccessToken()).toBe('cc-1');
    now += 3540_000 - 1; // one ms before the 60 s early-renewal point
    expect(await auth.getAccessToken()).toBe('cc-1');
    now += 1;
    expect(await auth.getAccessToken()).toBe('cc-2');
    expect(stand.state.tokenRequests).toHaveLength(2);
  });

  it('drops a token the API rejects and fetches a new one, once for concurrent 401s', async () => {
    const stand = oauthServer({ style: 'body' });
    const { client } = setup('body');
    await client.get('/api/warm');
    stand.state.valid.clear(); // revoked server-side
    const results = await Promise.all(Array.from({ length: 10 }, () => client.get<{ token: string }>('/api/x')));
    expect(new Set(results.map((r) => r.token))).toEqual(new Set(['cc-2']));
    expect(stand.state.tokenRequests).toHaveLength(2);
  });

  it('lets one waiting caller give up without failing the others or the shared request', async () => {
    const stand = oauthServer({ style: 'header' });
    stand.holdTokens();
    const { client } = setup('header');
    const controller = new AbortController();
    const quitter = failure(client.get('/api/a', { signal: controller.signal }));
    const patient = client.get('/api/b');
    controller.abort();
    expect((await quitter).kind).toBe('cancelled');
    stand.release();
    expect(await patient).toEqual({ token: 'cc-1' });
    expect(stand.state.tokenRequests).toHaveLength(1);
  });

  it('reports a refused client as auth with the OAuth code, never the secret', async () => {
    oauthServer({ style: 'header' });
    const auth = oauth2ClientCredentials({
      tokenUrl: `${server.origin}/oauth/token`,
      clientId,
      clientSecret: 'wrong-secret-value',
      scope: 'read write',
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'acme', auth });
    const error = await failure(client.get('/api/me'));
    expect(error.kind).toBe('auth');
    expect(error.code).toBe('invalid_client');
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Client authentication failed');
    expect(JSON.stringify(error.toJSON())).not.toContain('wrong-secret-value');
  });

  it('redacts a secret the token endpoint echoes, and keeps 5xx retryable', async () => {
    server.handle((req, res: ServerResponse) => {
      const form = readForm(req.body);
      if (form.client_id === 'echo') {
        return sendJson(res, 400, { error: 'invalid_scope', error_description: `bad scope for ${form.client_secret}` });
      }
      return sendJson(res, 503, { error: 'temporarily_unavailable' }, { 'retry-after': '2' });
    });
    const echoing = oauth2ClientCredentials({
      tokenUrl: `${server.origin}/oauth/token`,
      clientId: 'echo',
      clientSecret: 'echoed-secret-123',
      authStyle: 'body',
    });
    const error = await failure(echoing.getAccessToken());
    expect(error.kind).toBe('auth');
    expect(error.code).toBe('invalid_scope');
    expect(error.message).toContain('bad scope for [REDACTED]');
    expect(error.message).not.toContain('echoed-secret-123');

    const down = oauth2ClientCredentials({
      tokenUrl: `${server.origin}/oauth/token`,
      clientId: 'other',
      clientSecret: 'x-secret',
      authStyle: 'body',
    });
    const unavailable = await failure(down.getAccessToken());
    expect(unavailable.kind).toBe('unavailable');
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.retryAfterMs).toBe(2000);
  });

  it('tries again on the next call after a failed token request', async () => {
    let fail = true;
    server.handle((_req, res) =>
      fail ? sendJson(res, 500, {}) : sendJson(res, 200, { access_token: 'late', expires_in: 60 }),
    );
    const auth = oauth2ClientCredentials({ tokenUrl: `${server.origin}/t`, clientId: 'a', clientSecret: 'b' });
    const failures = await Promise.all([failure(auth.getAccessToken()), failure(auth.getAccessToken())]);
    expect(failures.map((e) => e.kind)).toEqual(['unavailable', 'unavailable']);
    expect(server.requests).toHaveLength(1);
    fail = false;
    expect(await auth.getAccessToken()).toBe('late');
  });

  it('bounds a hung token request so later calls are not stuck behind it', async () => {
    let hang = true;
    server.handle((_req, res) => {
      if (!hang) sendJson(res, 200, { access_token: 'after-hang', expires_in: 60 });
    });
    const auth = oauth2ClientCredentials({
      tokenUrl: `${server.origin}/t`,
      clientId: 'a',
      clientSecret: 'b',
      requestTimeoutMs: 20,
    });
    const error = await failure(auth.getAccessToken());
    expect(error.kind).toBe('timeout');
    hang = false;
    expect(await auth.getAccessToken()).toBe('after-hang');
    expect(server.requests).toHaveLength(2);
  });

  it('validates its settings', () => {
    expect(() => oauth2ClientCredentials({ tokenUrl: 'nope', clientId: 'a', clientSecret: 'b' })).toThrow(/tokenUrl/);
    expect(() => oauth2ClientCredentials({ tokenUrl: server.origin, clientId: '', clientSecret: 'b' })).toThrow(
      /clientId/,
    );
    expect(() => oauth2ClientCredentials({ tokenUrl: server.origin, clientId: 'a' })).toThrow(/clientSecret/);
  });
});
