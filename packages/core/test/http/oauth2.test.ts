import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import {
  buildAuthorizeUrl,
  createHttpClient,
  createPkcePair,
  exchangeAuthorizationCode,
  type OAuth2Tokens,
  oauth2RefreshToken,
  pkceChallenge,
} from '../../src/http/index.js';
import { readForm, sendJson, startServer, type TestServer } from './server.js';

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

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

describe('oauth2RefreshToken with rotating refresh tokens', () => {
  /**
   * Behaves like providers that rotate: every refresh issues a new access and refresh token, and the refresh token
   * just used stops working (reusing it answers invalid_grant).
   */
  function rotatingServer(options: { rotate?: boolean; holdLateRejections?: boolean } = {}) {
    const state = {
      refreshToken: 'rt-0',
      accessTokens: new Set<string>(['at-0']),
      refreshes: 0,
      sentRefreshTokens: [] as string[],
      apiCalls: 0,
    };
    // With holdLateRejections, only the first stale-token request is refused at once; the others are refused
    // after a request with the renewed token has succeeded, so their 401s arrive after the refresh.
    const held: Array<() => void> = [];
    let refused = 0;
    server.handle((req, res) => {
      if (req.url === '/oauth/token') {
        const form = readForm(req.body);
        state.sentRefreshTokens.push(form.refresh_token ?? '');
        if (form.grant_type !== 'refresh_token' || form.client_id !== 'app') {
          return sendJson(res, 400, { error: 'invalid_request' });
        }
        if (form.refresh_token !== state.refreshToken) {
          return sendJson(res, 400, {
            error: 'invalid_grant',
            error_description: `refresh token ${form.refresh_token} is invalid or was already used`,
          });
        }
        state.refreshes++;
        const access = `at-${state.refreshes}`;
        state.accessTokens.add(access);
        if (options.rotate ?? true) state.refreshToken = `rt-${state.refreshes}`;
        return sendJson(res, 200, {
          access_token: access,
          token_type: 'Bearer',
          expires_in: 3600,
          ...((options.rotate ?? true) ? { refresh_token: state.refreshToken } : {}),
          scope: 'playlist-read',
        });
      }
      state.apiCalls++;
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (state.accessTokens.has(token)) {
        sendJson(res, 200, { token });
        for (const refuse of held.splice(0)) refuse();
        return;
      }
      const refuse = () => sendJson(res, 401, { error: { status: 401, message: 'The access token expired' } });
      if (options.holdLateRejections && refused++ > 0 && state.refreshes === 0) held.push(refuse);
      else refuse();
    });
    return state;
  }

  function setup(extra: Partial<Parameters<typeof oauth2RefreshToken>[0]> = {}) {
    const saved: OAuth2Tokens[] = [];
    const auth = oauth2RefreshToken({
      tokenUrl: `${server.origin}/oauth/token`,
      clientId: 'app',
      refreshToken: 'rt-0',
      onTokens: (tokens) => {
        saved.push(tokens);
      },
      ...extra,
    });
    const client = createHttpClient({ baseUrl: server.origin, provider: 'spotify', auth });
    return { auth, client, saved };
  }

  const many = (client: ReturnType<typeof setup>['client'], n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => client.get<{ token: string }>(`/v1/me?i=${i}`)));

  it('100 concurrent calls with an expired token make exactly one refresh, and all succeed', async () => {
    const state = rotatingServer();
    let now = 10_000_000;
    const { client, saved } = setup({ accessToken: 'at-0', expiresAt: now - 1, now: () => now });
    const first = await many(client, 100);
    expect(state.refreshes).toBe(1);
    expect(first.every((r) => r.token === 'at-1')).toBe(true);
    expect(state.apiCalls).toBe(100);

    now += 3600_000; // the new token has expired too: the next refresh must use the rotated refresh token
    const second = await many(client, 100);
    expect(state.refreshes).toBe(2);
    expect(second.every((r) => r.token === 'at-2')).toBe(true);
    expect(state.sentRefreshTokens).toEqual(['rt-0', 'rt-1']);
    expect(saved.map((t) => t.refreshToken)).toEqual(['rt-1', 'rt-2']);
    expect(saved[0]).toMatchObject({
      accessToken: 'at-1',
      tokenType: 'Bearer',
      expiresIn: 3600,
      scope: 'playlist-read',
    });
  });

  it('100 concurrent 401s (token revoked before its expiry) make exactly one refresh', async () => {
    const state = rotatingServer({ holdLateRejections: true });
    const { client } = setup({ accessToken: 'at-0' });
    expect((await client.get<{ token: string }>('/v1/me')).token).toBe('at-0');
    state.accessTokens.clear();
    const results = await many(client, 100);
    expect(state.refreshes).toBe(1);
    expect(results.every((r) => r.token === 'at-1')).toBe(true);
    expect(state.sentRefreshTokens).toEqual(['rt-0']);
  });

  it('refreshes on first use when it has no access token, and keeps a refresh token that was not rotated', async () => {
    const state = rotatingServer({ rotate: false });
    let now = 0;
    const { client, saved } = setup({ now: () => now });
    expect((await client.get<{ token: string }>('/v1/me')).token).toBe('at-1');
    now += 3600_000;
    expect((await client.get<{ token: string }>('/v1/me')).token).toBe('at-2');
    expect(state.sentRefreshTokens).toEqual(['rt-0', 'rt-0']);
    expect(saved.map((t) => t.refreshToken)).toEqual(['rt-0', 'rt-0']);
  });

  it('reports a spent refresh token as auth/invalid_grant without echoing it', async () => {
    rotatingServer();
    const { client } = setup({ refreshToken: 'rt-stale-value', clientSecret: 'shh-client-secret', authStyle: 'body' });
    const error = await failure(client.get('/v1/me'));
    expect(error.kind).toBe('auth');
    expect(error.code).toBe('invalid_grant');
    expect(error.status).toBe(400);
    expect(error.message).toContain('refresh token [REDACTED] is invalid');
    const serialized = JSON.stringify(error.toJSON());
    expect(serialized).not.toContain('rt-stale-value');
    expect(serialized).not.toContain('shh-client-secret');
  });

  it('fails the calls when onTokens cannot save, but keeps using the new tokens', async () => {
    const state = rotatingServer();
    const { client } = setup({
      onTokens: () => {
        throw new Error('database is down');
      },
    });
    const error = await failure(client.get('/v1/me'));
    expect(error.kind).toBe('internal');
    expect(error.message).toContain('onTokens');
    expect((error.cause as Error).message).toBe('database is down');
    expect((await client.get<{ token: string }>('/v1/me')).token).toBe('at-1');
    expect(state.refreshes).toBe(1);
  });

  it('validates its settings', () => {
    expect(() => oauth2RefreshToken({ tokenUrl: server.origin, clientId: 'a', refreshToken: '' })).toThrow(
      /refreshToken/,
    );
    expect(() =>
      oauth2RefreshToken({ tokenUrl: server.origin, clientId: 'a', refreshToken: 'r', authStyle: 'query' as never }),
    ).toThrow(/authStyle/);
  });
});

describe('PKCE', () => {
  it('creates a verifier of unreserved characters and its S256 challenge', async () => {
    for (const length of [43, 64, 128]) {
      const pair = await createPkcePair(length);
      expect(pair.verifier).toHaveLength(length);
      expect(pair.verifier).toMatch(/^[A-Za-z0-9\-._~]+$/);
      expect(pair.challenge).toBe(s256(pair.verifier));
      expect(pair.challenge).not.toMatch(/[+/=]/);
      expect(pair.method).toBe('S256');
    }
    const [a, b] = await Promise.all([createPkcePair(), createPkcePair()]);
    expect(a.verifier).toHaveLength(64);
    expect(a.verifier).not.toBe(b.verifier);
  });

  it('matches the RFC 7636 example', async () => {
    expect(await pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('refuses verifier lengths outside 43–128', async () => {
    for (const length of [42, 129, 50.5]) {
      const error = await failure(createPkcePair(length));
      expect(error.kind).toBe('invalid_request');
    }
  });

  it('builds the authorize URL with every parameter, keeping existing ones', async () => {
    const { challenge } = await createPkcePair();
    const href = buildAuthorizeUrl({
      authorizeUrl: 'https://accounts.example.com/authorize?audience=api',
      clientId: 'app id',
      redirectUri: 'http://127.0.0.1:8080/callback',
      scope: ['user-read-email', 'playlist-read-private'],
      state: 'st-123',
      codeChallenge: challenge,
      params: { prompt: 'consent' },
    });
    const url = new URL(href);
    expect(url.origin + url.pathname).toBe('https://accounts.example.com/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      audience: 'api',
      prompt: 'consent',
      response_type: 'code',
      client_id: 'app id',
      redirect_uri: 'http://127.0.0.1:8080/callback',
      scope: 'user-read-email playlist-read-private',
      state: 'st-123',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(() =>
      buildAuthorizeUrl({
        authorizeUrl: 'https://a.example.com/authorize',
        clientId: 'x',
        redirectUri: 'http://127.0.0.1/cb',
        state: '',
        codeChallenge: challenge,
      }),
    ).toThrow(/state/);
  });
});

describe('exchangeAuthorizationCode', () => {
  /** Checks the code, redirect URI and PKCE verifier against what the authorize step recorded. */
  function authorizationServer(expected: { code: string; challenge: string; redirectUri: string }) {
    server.handle((req, res) => {
      const form = readForm(req.body);
      const ok =
        form.grant_type === 'authorization_code' &&
        form.client_id === 'public-app' &&
        form.client_secret === undefined &&
        req.headers.authorization === undefined &&
        form.code === expected.code &&
        form.redirect_uri === expected.redirectUri &&
        s256(form.code_verifier ?? '') === expected.challenge;
      if (!ok) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      return sendJson(res, 200, {
        access_token: 'at-code',
        refresh_token: 'rt-code',
        token_type: 'bearer',
        expires_in: '7200',
        id_token: 'id.jwt.value',
        team: { id: 'T1' },
      });
    });
  }

  it('trades a code and verifier for tokens (public client: client_id in the body)', async () => {
    const { verifier, challenge } = await createPkcePair();
    const redirectUri = 'http://127.0.0.1:8080/callback';
    authorizationServer({ code: 'auth-code-1', challenge, redirectUri });
    const before = Date.now();
    const tokens = await exchangeAuthorizationCode({
      tokenUrl: `${server.origin}/token`,
      clientId: 'public-app',
      code: 'auth-code-1',
      redirectUri,
      codeVerifier: verifier,
    });
    expect(tokens).toMatchObject({
      accessToken: 'at-code',
      refreshToken: 'rt-code',
      tokenType: 'bearer',
      expiresIn: 7200,
      idToken: 'id.jwt.value',
      scope: undefined,
    });
    expect(tokens.expiresAt).toBeGreaterThanOrEqual(before + 7200_000);
    expect(tokens.raw.team).toEqual({ id: 'T1' });
  });

  it('reports a failed verification as auth/invalid_grant without the code or verifier', async () => {
    const { challenge } = await createPkcePair();
    authorizationServer({ code: 'auth-code-2', challenge, redirectUri: 'http://127.0.0.1/cb' });
    const wrong = await createPkcePair();
    const error = await failure(
      exchangeAuthorizationCode({
        tokenUrl: `${server.origin}/token`,
        clientId: 'public-app',
        code: 'auth-code-2',
        redirectUri: 'http://127.0.0.1/cb',
        codeVerifier: wrong.verifier,
      }),
    );
    expect(error.kind).toBe('auth');
    expect(error.code).toBe('invalid_grant');
    const serialized = JSON.stringify(error.toJSON());
    expect(serialized).not.toContain('auth-code-2');
    expect(serialized).not.toContain(wrong.verifier);
  });

  it('treats an error in a 200 answer (GitHub style) as auth', async () => {
    server.handle((_req, res) =>
      sendJson(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect' }),
    );
    const error = await failure(
      exchangeAuthorizationCode({
        tokenUrl: `${server.origin}/login/oauth/access_token`,
        clientId: 'gh-app',
        clientSecret: 'gh-secret',
        code: 'c0de',
        redirectUri: 'http://127.0.0.1/cb',
        codeVerifier: 'v'.repeat(43),
      }),
    );
    expect(error.kind).toBe('auth');
    expect(error.code).toBe('bad_verification_code');
    expect(error.message).toContain('The code passed is incorrect');
    expect(server.requests[0]?.headers.accept).toBe('application/json');
  });

  it('reads a form-encoded token answer', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
      res.end('access_token=form-token&token_type=bearer&scope=repo');
    });
    const tokens = await exchangeAuthorizationCode({
      tokenUrl: `${server.origin}/token`,
      clientId: 'a',
      code: 'c',
      redirectUri: 'http://127.0.0.1/cb',
      codeVerifier: 'v'.repeat(43),
    });
    expect(tokens).toMatchObject({ accessToken: 'form-token', scope: 'repo', expiresAt: undefined });
  });
});
