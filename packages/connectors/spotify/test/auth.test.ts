import { createHash } from 'node:crypto';
import { validateConfig } from '@integrations/core';
import {
  createFaultProxy,
  type FaultProxy,
  faults,
  freePort,
  type PrismStandIn,
  specPath,
  startPrism,
} from '@integrations/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  exchangeSpotifyCode,
  type SpotifyConfig,
  type SpotifyTokens,
  spotify,
  spotifyAuthorizeUrl,
} from '../src/index.js';
import { type Connected, closeAll, connect, first, rejection, until } from './support/harness.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

const APP = { id: 'auth-app', secret: 'auth-app-secret-value' };
const PUBLIC_APP = 'pkce-app';
const REDIRECT_URI = 'http://127.0.0.1:8888/callback';
const TRACK_ID = '11dFghVXANMlKmJXsNCbNl';

let prism: PrismStandIn;
let tokens: TokenServer;
let proxy: FaultProxy;

beforeAll(async () => {
  [prism, tokens] = await Promise.all([
    startPrism(specPath('spotify/fixed-spotify-open-api.yml')),
    startTokenServer({ clients: { [APP.id]: APP.secret, [PUBLIC_APP]: null }, rotateRefreshTokens: true }),
  ]);
  proxy = await createFaultProxy({
    target: prism.url,
    errorResponse: (status) => ({
      contentType: 'application/json',
      body: JSON.stringify({ error: { status, message: status === 401 ? 'The access token expired' : 'injected' } }),
    }),
  });
});

afterEach(async () => {
  tokens.release();
  await closeAll();
  proxy.reset();
  tokens.reset();
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([prism?.stop(), tokens?.stop()]);
});

function base(overrides: Partial<SpotifyConfig> = {}): SpotifyConfig {
  return { clientId: APP.id, clientSecret: APP.secret, apiBaseUrl: proxy.url, tokenUrl: tokens.tokenUrl, ...overrides };
}

const bearers = () => proxy.requests.map((r) => r.headers.authorization);

/**
 * Starts `count` calls at once while the token server holds its answer, so every call has asked for a token
 * before the first token arrives; then lets the token through and waits for all of them.
 */
async function concurrently<T>(connected: Connected, count: number, call: () => Promise<T>): Promise<T[]> {
  const tokenRequests = tokens.requests.length;
  const apiRequests = proxy.requests.length;
  tokens.hold();
  const started = connected.events('call:start').length;
  const calls = Array.from({ length: count }, call);
  const all = Promise.all(calls);
  try {
    await until(() => connected.events('call:start').length - started === count, `${count} calls started`);
    await until(() => tokens.requests.length > tokenRequests, 'the token request arrived');
    // Everything between call:start and asking for the token is microtasks: a macrotask later, all are waiting.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    tokens.release();
  }
  // Every call was waiting for the one token: none had reached the API before it arrived.
  const early = proxy.requests.length - apiRequests;
  const results = await all;
  expect(early).toBe(0);
  return results;
}

describe('client credentials', () => {
  it('fetches one token for concurrent calls and reuses it while it is valid', async () => {
    const app = await connect(base());
    // The health check fetched the first token; later calls reuse it.
    expect(tokens.requests).toEqual([
      expect.objectContaining({ grantType: 'client_credentials', clientAuth: 'basic' }),
    ]);
    await app.spotify.getArtist('0TnOYISbd1XYRBk9myaseg');
    await app.spotify.searchTracks('abba');
    expect(tokens.requests).toHaveLength(1);

    // Drop the token with a 401; then five calls need a new one at the same moment.
    proxy.script(faults.status(401));
    await rejection(app.spotify.getTrack(TRACK_ID));
    tokens.reset();
    proxy.reset();
    const tracks = await concurrently(app, 5, () => app.spotify.getTrack(TRACK_ID));
    expect(tracks.map((t) => t.type)).toEqual(['track', 'track', 'track', 'track', 'track']);
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0]).toMatchObject({ grantType: 'client_credentials', status: 200 });
    const sent = new Set(bearers());
    expect(sent.size).toBe(1);
    const [header] = sent;
    expect(tokens.accessTokens.has(String(header).replace('Bearer ', ''))).toBe(true);
  });

  it('a 401 fails the call with auth and drops the token, so the next call gets a new one', async () => {
    const { spotify: music } = await connect(base());
    proxy.reset();
    tokens.reset();
    proxy.script(faults.status(401));
    const error = await rejection(music.getTrack(TRACK_ID));
    expect(error).toMatchObject({ kind: 'auth', status: 401, retryable: false });
    expect(error.message).toContain('The access token expired');
    expect(proxy.requests).toHaveLength(1);
    expect(tokens.requests).toHaveLength(0);

    await music.getTrack(TRACK_ID);
    expect(tokens.requests).toHaveLength(1);
    const [refused, accepted] = bearers();
    expect(accepted).not.toBe(refused);
  });

  it('a wrong client secret is an auth error naming invalid_client, without the secret', async () => {
    const wrong = 'not-the-right-secret-value';
    const { spotify: music } = await connect(base({ clientSecret: wrong }), {}, false);
    const report = await music.healthCheck();
    expect(report).toMatchObject({ status: 'unhealthy', error: { kind: 'auth' } });
    const error = await rejection(music.getTrack(TRACK_ID));
    expect(error).toMatchObject({ kind: 'auth', code: 'invalid_client', status: 401, provider: 'spotify' });
    expect(JSON.stringify(error.toJSON())).not.toContain(wrong);
    expect(proxy.requests).toHaveLength(0);
  });

  it('an unreachable token endpoint is unavailable', async () => {
    const down = `http://127.0.0.1:${await freePort()}/api/token`;
    const { spotify: music } = await connect(base({ tokenUrl: down }), { retry: { maxAttempts: 1 } }, false);
    const error = await rejection(music.getTrack(TRACK_ID));
    expect(error.kind).toBe('unavailable');
  });
});

describe('refresh tokens (authorization code mode)', () => {
  async function userIntegration(refreshToken: string, extra: Partial<SpotifyConfig> = {}) {
    const connected = await connect(base({ authMode: 'authorization_code', refreshToken, ...extra }), {}, false);
    const saved: SpotifyTokens[] = [];
    connected.spotify.onTokenRefresh((fresh) => {
      saved.push(fresh);
    });
    return { ...connected, saved };
  }

  it('concurrent user calls share one refresh; the rotated refresh token is kept and used next', async () => {
    const rt0 = tokens.issueRefreshToken(APP.id, 'playlist-read-private');
    const user = await userIntegration(rt0);
    // enable() ran the health check, which refreshed once (the first rotation); the listener gets those tokens.
    expect(tokens.requests.map((r) => [r.grantType, r.refreshToken, r.status])).toEqual([['refresh_token', rt0, 200]]);
    await until(() => user.saved.length === 1, 'the latest tokens were replayed to the listener');
    const rt1 = user.saved[0]?.refreshToken;
    expect(rt1).toMatch(/^rt_/);
    expect(rt1).not.toBe(rt0);
    tokens.reset();
    proxy.reset();

    // Drop the access token with a 401, then let five calls need a new one at the same moment.
    proxy.script(faults.status(401));
    expect((await rejection(first(user.spotify.getUserPlaylists('me')))).kind).toBe('auth');
    const pages = await concurrently(user, 5, () => first(user.spotify.getUserPlaylists('me')));
    expect(pages.every((p) => p?.owner.type === 'user')).toBe(true);

    // One refresh, presenting the rotated token (the server would refuse the spent rt0).
    expect(tokens.requests).toEqual([
      expect.objectContaining({ grantType: 'refresh_token', clientAuth: 'basic', refreshToken: rt1, status: 200 }),
    ]);
    expect(user.saved).toHaveLength(2);
    const rt2 = user.saved[1]?.refreshToken;
    expect(rt2).toMatch(/^rt_/);
    expect(rt2).not.toBe(rt1);
    const after401 = bearers().slice(1);
    expect(new Set(after401).size).toBe(1);
    expect(after401[0]).toBe(`Bearer ${user.saved[1]?.accessToken}`);
  });

  it('an integration restarted with its original config carries on from the rotated refresh token', async () => {
    const rt0 = tokens.issueRefreshToken(APP.id);
    const user = await userIntegration(rt0);
    expect(user.spotify.status).toBe('healthy');
    await user.registry.disable('music');
    const report = await user.registry.enable('music');
    expect(report.status).toBe('healthy');
    // A registry built again in the same process, from the same config, too.
    const again = await userIntegration(rt0);
    expect(again.spotify.status).toBe('healthy');
    expect(tokens.requests.map((r) => [r.refreshToken === rt0, r.status])).toEqual([
      [true, 200],
      [false, 200],
      [false, 200],
    ]);
  });

  it('a refresh token spent elsewhere is refused: auth, invalid_grant', async () => {
    const rt0 = tokens.issueRefreshToken(APP.id);
    // Another process refreshes with it first, and the server rotates it away.
    const elsewhere = await fetch(tokens.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${APP.id}:${APP.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt0 }),
    });
    expect(elsewhere.status).toBe(200);
    const stale = await userIntegration(rt0);
    expect(stale.spotify.status).toBe('unhealthy');
    const error = await rejection(stale.spotify.getTrack(TRACK_ID));
    expect(error).toMatchObject({ kind: 'auth', code: 'invalid_grant', status: 400, retryable: false });
    expect(error.message).toContain('Refresh token revoked');
    expect(JSON.stringify(error.toJSON())).not.toContain(rt0);
  });

  it('a revoked refresh token makes the integration unhealthy and calls fail with auth', async () => {
    const rt = tokens.issueRefreshToken(APP.id);
    tokens.revoke(rt);
    const { spotify: music } = await userIntegration(rt);
    expect(music.status).toBe('unhealthy');
    const report = await music.healthCheck();
    expect(report.error).toMatchObject({ kind: 'auth' });
    const error = await rejection(first(music.getUserPlaylists('me')));
    expect(error).toMatchObject({ kind: 'auth', code: 'invalid_grant' });
    expect(proxy.requests).toHaveLength(0);
  });

  it('a listener that cannot save the new tokens fails the call instead of losing them', async () => {
    const rt = tokens.issueRefreshToken(APP.id);
    const connected = await connect(base({ authMode: 'authorization_code', refreshToken: rt }), {}, false);
    // The health check refreshed already; drop that token so the next call refreshes with the listener in place.
    connected.spotify.onTokenRefresh(() => {
      throw new Error('database is down');
    });
    proxy.script(faults.status(401));
    await rejection(connected.spotify.getTrack(TRACK_ID));
    const error = await rejection(connected.spotify.getTrack(TRACK_ID));
    expect(error.kind).toBe('internal');
    expect(error.message).toContain('onTokens failed after a token refresh');
  });
});

describe('authorization code with PKCE', () => {
  const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

  it('builds the authorize URL with an S256 challenge, the state and the scopes', async () => {
    const { url, codeVerifier } = await spotifyAuthorizeUrl(
      { clientId: PUBLIC_APP, scopes: ['playlist-read-private'] },
      { redirectUri: REDIRECT_URI, state: 'st-123', scopes: ['playlist-modify-private', 'user-read-email'] },
    );
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://accounts.spotify.com/authorize');
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      response_type: 'code',
      client_id: PUBLIC_APP,
      redirect_uri: REDIRECT_URI,
      scope: 'playlist-modify-private user-read-email',
      state: 'st-123',
      code_challenge: s256(codeVerifier),
      code_challenge_method: 'S256',
    });
    expect(codeVerifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);

    const again = await spotifyAuthorizeUrl(
      { clientId: PUBLIC_APP, scopes: ['playlist-read-private'] },
      { redirectUri: REDIRECT_URI, state: 'st-124', showDialog: true },
    );
    expect(again.codeVerifier).not.toBe(codeVerifier);
    const params = new URL(again.url).searchParams;
    expect(params.get('scope')).toBe('playlist-read-private');
    expect(params.get('show_dialog')).toBe('true');
  });

  it('refuses a missing state or a relative redirect URI', async () => {
    const noState = await rejection(
      spotifyAuthorizeUrl({ clientId: PUBLIC_APP }, { redirectUri: REDIRECT_URI, state: '' }),
    );
    expect(noState).toMatchObject({ kind: 'invalid_request' });
    expect(noState.message).toMatch(/state must be a non-empty string/);
    const relative = await rejection(spotifyAuthorizeUrl({ clientId: PUBLIC_APP }, { redirectUri: '/cb', state: 's' }));
    expect(relative.message).toMatch(/redirectUri must be an absolute URL/);
  });

  it('goes through the whole flow: authorize, callback, code exchange, then user calls with the refresh token', async () => {
    const config = { clientId: PUBLIC_APP, authorizeUrl: tokens.authorizeUrl, tokenUrl: tokens.tokenUrl };
    const { url, codeVerifier } = await spotifyAuthorizeUrl(config, {
      redirectUri: REDIRECT_URI,
      state: 'session-42',
      scopes: ['playlist-modify-private'],
    });
    // The user approves; the authorization server redirects back to the app with a code and the state.
    const approval = await fetch(url, { redirect: 'manual' });
    expect(approval.status).toBe(302);
    const callback = new URL(approval.headers.get('location') ?? '');
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe('session-42');
    const code = callback.searchParams.get('code') ?? '';

    const granted = await exchangeSpotifyCode(config, { code, redirectUri: REDIRECT_URI, codeVerifier });
    expect(granted).toMatchObject({ tokenType: 'Bearer', scope: 'playlist-modify-private', expiresIn: 3600 });
    expect(tokens.accessTokens.has(granted.accessToken)).toBe(true);
    // A public client: no secret, client_id in the form.
    expect(tokens.requests.at(-1)).toMatchObject({ grantType: 'authorization_code', clientAuth: 'none', status: 200 });

    const replay = await rejection(exchangeSpotifyCode(config, { code, redirectUri: REDIRECT_URI, codeVerifier }));
    expect(replay).toMatchObject({ kind: 'auth', code: 'invalid_grant' });

    const user = await connect({
      clientId: PUBLIC_APP,
      authMode: 'authorization_code',
      refreshToken: granted.refreshToken as string,
      apiBaseUrl: proxy.url,
      tokenUrl: tokens.tokenUrl,
    });
    proxy.reset();
    const playlist = await user.spotify.createPlaylist('me', { name: 'Made with PKCE', public: false });
    expect(playlist.owner.type).toBe('user');
    expect(proxy.requests[0]?.headers.authorization).toMatch(/^Bearer at_/);
  });

  it('a wrong code verifier is refused: auth, invalid_grant', async () => {
    const config = { clientId: PUBLIC_APP, authorizeUrl: tokens.authorizeUrl, tokenUrl: tokens.tokenUrl };
    const { url } = await spotifyAuthorizeUrl(config, { redirectUri: REDIRECT_URI, state: 's' });
    const location = (await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '';
    const code = new URL(location).searchParams.get('code') ?? '';
    const other = await spotifyAuthorizeUrl(config, { redirectUri: REDIRECT_URI, state: 's' });
    const error = await rejection(
      exchangeSpotifyCode(config, { code, redirectUri: REDIRECT_URI, codeVerifier: other.codeVerifier }),
    );
    expect(error).toMatchObject({ kind: 'auth', code: 'invalid_grant', provider: 'spotify' });
    expect(error.message).not.toContain(other.codeVerifier);
    expect(error.message).not.toContain(code);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After: the retry waits at least that long, then succeeds', async () => {
    const { spotify: music, events } = await connect(base());
    proxy.reset();
    proxy.script(faults.status(429, { headers: { 'retry-after': '2' } }));
    const track = await music.getTrack(TRACK_ID);
    expect(track.type).toBe('track');
    const [failure] = events('call:failure');
    expect(failure?.error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2000, status: 429 });
    const [scheduled] = events('retry:scheduled');
    // The pipeline's own backoff here is 5 ms: the wait comes from Spotify's Retry-After.
    expect(scheduled?.delayMs).toBeGreaterThanOrEqual(2000);
    expect(proxy.requests).toHaveLength(2);
  });

  it('with retries off, the caller gets rate_limited with retryAfterMs', async () => {
    const { spotify: music } = await connect(base(), { retry: false });
    proxy.reset();
    proxy.script(faults.status(429, { headers: { 'retry-after': '7' } }));
    const error = await rejection(music.searchTracks('abba'));
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 7000, retryable: true });
  });
});

describe('config', () => {
  async function issues(config: unknown): Promise<{ path: string; message: string }[]> {
    const error = await rejection(validateConfig(spotify, config));
    expect(error.kind).toBe('invalid_config');
    return (error as unknown as { issues: { path: string; message: string }[] }).issues;
  }

  it('names the credential each auth mode is missing or does not use', async () => {
    expect(await issues({ clientId: 'a', authMode: 'authorization_code' })).toEqual([
      { path: 'refreshToken', message: expect.stringMatching(/required when authMode is 'authorization_code'/) },
    ]);
    expect(await issues({ clientId: 'a', clientSecret: 'b', refreshToken: 'rt_1234' })).toEqual([
      { path: 'refreshToken', message: expect.stringMatching(/only used when authMode is 'authorization_code'/) },
    ]);
    expect(await issues({ clientId: 'a' })).toEqual([
      { path: 'clientSecret', message: expect.stringMatching(/required when authMode is 'client_credentials'/) },
    ]);
  });

  it('names bad fields', async () => {
    const found = await issues({
      clientId: '',
      clientSecret: 'b',
      authMode: 'implicit',
      apiBaseUrl: 'not a url',
      unknown: 1,
    });
    expect(found.map((i) => i.path).sort()).toEqual(['apiBaseUrl', 'authMode', 'clientId', 'unknown']);
    const more = await issues({ clientId: 'a', clientSecret: 'b', scopes: ['ok', 'has space'], tokenUrl: 'ftp://x/y' });
    expect(more.map((i) => i.path)).toEqual(['scopes.1', 'tokenUrl']);
  });

  it('declares the secrets and applies Spotify defaults', async () => {
    expect(spotify.secrets).toEqual(['clientSecret', 'refreshToken']);
    const parsed = await validateConfig(spotify, { clientId: 'a', clientSecret: 'b' });
    expect(parsed).toMatchObject({
      authMode: 'client_credentials',
      apiBaseUrl: 'https://api.spotify.com/v1',
      tokenUrl: 'https://accounts.spotify.com/api/token',
      authorizeUrl: 'https://accounts.spotify.com/authorize',
    });
  });
});
