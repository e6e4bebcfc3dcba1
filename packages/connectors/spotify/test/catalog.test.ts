import {
  createFakeServer,
  createFaultProxy,
  type FakeRequest,
  type FakeServer,
  type FaultProxy,
  faults,
  json,
  type PrismStandIn,
  specPath,
  startPrism,
} from '@integrations/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SpotifyConfig } from '../src/index.js';
import { closeAll, collect, connect, first, rejection } from './support/harness.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

const APP = { id: 'catalog-app', secret: 'catalog-app-secret' };
const TRACK_ID = '11dFghVXANMlKmJXsNCbNl';
/** Values from the examples in Spotify's OpenAPI description, which Prism answers with. */
const EXAMPLE_ALBUM_ID = '2up3OPMp9Tb4dAKM2erWXQ';

let prism: PrismStandIn;
let tokens: TokenServer;
let proxy: FaultProxy;

function spotifyError(status: number, message: string) {
  return { contentType: 'application/json', body: JSON.stringify({ error: { status, message } }) };
}

beforeAll(async () => {
  [prism, tokens] = await Promise.all([
    startPrism(specPath('spotify/fixed-spotify-open-api.yml')),
    startTokenServer({ clients: { [APP.id]: APP.secret } }),
  ]);
  proxy = await createFaultProxy({
    target: prism.url,
    errorResponse: (status) => spotifyError(status, `injected ${status}`),
  });
});

afterEach(async () => {
  await closeAll();
  proxy.reset();
  tokens.reset();
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([prism?.stop(), tokens?.stop()]);
});

/** App-only credentials against Prism, through the fault proxy. */
function appConfig(overrides: Partial<SpotifyConfig> = {}): SpotifyConfig {
  return {
    clientId: APP.id,
    clientSecret: APP.secret,
    apiBaseUrl: proxy.url,
    tokenUrl: tokens.tokenUrl,
    ...overrides,
  };
}

/** A user's credentials (authorization code mode) against Prism. */
function userConfig(overrides: Partial<SpotifyConfig> = {}): SpotifyConfig {
  return {
    ...appConfig(),
    authMode: 'authorization_code',
    refreshToken: tokens.issueRefreshToken(APP.id, 'playlist-modify-private playlist-read-private'),
    ...overrides,
  };
}

async function connectApp(overrides: Partial<SpotifyConfig> = {}) {
  const connected = await connect(appConfig(overrides));
  proxy.reset();
  return connected;
}

async function connectUser(overrides: Partial<SpotifyConfig> = {}) {
  const connected = await connect(userConfig(overrides));
  proxy.reset();
  return connected;
}

describe('catalog against Prism', () => {
  it('searches tracks: the query goes out as Spotify expects it and the page comes back as the spec shows', async () => {
    const { spotify } = await connectApp();
    const page = await spotify.searchTracks('artist:ABBA waterloo', { limit: 5, offset: 10, market: 'SE' });
    expect(page.total).toBe(4);
    expect(page.items[0]?.type).toBe('track');
    expect(page.items[0]?.album.id).toBe(EXAMPLE_ALBUM_ID);

    const [request] = proxy.requests;
    const url = new URL(request?.path ?? '', proxy.url);
    expect(url.pathname).toBe('/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      q: 'artist:ABBA waterloo',
      type: 'track',
      limit: '5',
      offset: '10',
      market: 'SE',
    });
    const bearer = request?.headers.authorization?.replace(/^Bearer /, '');
    expect(tokens.accessTokens.has(bearer ?? '')).toBe(true);
    expect(request?.headers['user-agent']).toMatch(/^@integrations\/spotify\/\S+ @integrations\/core\/\S+$/);
  });

  it('fetches a track, an artist and an album', async () => {
    const { spotify } = await connectApp();
    const track = await spotify.getTrack(TRACK_ID, { market: 'from_token' });
    expect(track).toMatchObject({ type: 'track', album: { uri: `spotify:album:${EXAMPLE_ALBUM_ID}` } });

    const artist = await spotify.getArtist('0TnOYISbd1XYRBk9myaseg');
    expect(artist).toMatchObject({ type: 'artist', genres: ['Prog rock', 'Grunge'] });

    const album = await spotify.getAlbum('4aawyAB9vmqN3uQ7FjRGTy', { market: 'GB' });
    expect(album).toMatchObject({ type: 'album', album_type: 'album', total_tracks: 9 });
    expect(album.tracks.items).toHaveLength(1);

    expect(proxy.requests.map((r) => r.path)).toEqual([
      `/tracks/${TRACK_ID}?market=from_token`,
      '/artists/0TnOYISbd1XYRBk9myaseg',
      '/albums/4aawyAB9vmqN3uQ7FjRGTy?market=GB',
    ]);
    // One client-credentials token serves every call.
    expect(tokens.requests.filter((r) => r.grantType === 'client_credentials')).toHaveLength(1);
  });

  it('a query the API description forbids is refused by Prism and surfaces as invalid_request, not retried', async () => {
    const { spotify, events } = await connectApp();
    const error = await rejection(spotify.searchTracks('abba', { limit: 11 }));
    expect(error.kind).toBe('invalid_request');
    expect(error.status).toBe(422);
    expect(error.operation).toBe('searchTracks');
    expect(error.retryable).toBe(false);
    expect(proxy.requests).toHaveLength(1);
    expect(events('retry:scheduled')).toHaveLength(0);
    // Prism's own log says which rule our request broke.
    expect(prism.output()).toContain('Request query parameter limit must be <= 10');
  });

  it('refuses malformed arguments before sending anything, naming the argument', async () => {
    const { spotify } = await connectApp();
    const cases: [Promise<unknown>, RegExp][] = [
      [spotify.searchTracks('abba', { market: 'sweden' }), /market must be an ISO 3166-1 alpha-2/],
      [spotify.searchTracks('  '), /query must be a non-empty string/],
      [spotify.searchTracks('abba', { offset: -1 }), /offset must be an integer of at least 0/],
      [spotify.searchTracks('abba', { limit: 2.5 }), /limit must be an integer of at least 1/],
      [spotify.getTrack('../me', {}), /id must be a Spotify ID/],
      [spotify.getArtist(''), /id must be a Spotify ID/],
      [spotify.getAlbum('4aawyAB9vmqN3uQ7FjRGTy', { market: 'se' }), /market must be/],
    ];
    for (const [call, message] of cases) {
      const error = await rejection(call);
      expect(error.kind).toBe('invalid_request');
      expect(error.message).toMatch(message);
      expect(error.code).toBe('invalid_argument');
    }
    expect(proxy.requests).toHaveLength(0);
  });

  it("maps Spotify's error body: the message and the status reach the caller", async () => {
    const { spotify } = await connectApp();
    proxy.script(faults.status(404, spotifyError(404, 'Non existing id')));
    const error = await rejection(spotify.getTrack(TRACK_ID));
    expect(error).toMatchObject({ kind: 'not_found', status: 404, provider: 'spotify', operation: 'getTrack' });
    expect(error.message).toContain('Non existing id');

    proxy.script(faults.status(403, spotifyError(403, 'Insufficient client scope')));
    const denied = await rejection(spotify.getArtist('0TnOYISbd1XYRBk9myaseg'));
    expect(denied).toMatchObject({ kind: 'permission', status: 403 });
    expect(denied.message).toContain('Insufficient client scope');
  });

  it("reads the first page of a user's playlists and of a playlist's items", async () => {
    const { spotify } = await connectApp();
    const playlist = await first(spotify.getUserPlaylists('smedjan', { limit: 20 }));
    expect(playlist).toMatchObject({ owner: { type: 'user' }, images: [{ height: 300, width: 300 }] });
    const item = await first(spotify.getPlaylistTracks('3cEYpjA9oz9GiPac4AsH4n', { market: 'SE' }));
    expect(item).toMatchObject({ added_at: '2019-08-24T14:15:22Z', item: { album: { id: EXAMPLE_ALBUM_ID } } });
    // Stopping after the first item fetches no further page.
    expect(proxy.requests.map((r) => r.path)).toEqual([
      '/users/smedjan/playlists?limit=20',
      '/playlists/3cEYpjA9oz9GiPac4AsH4n/items?market=SE',
    ]);
  });

  it('user-only operations are refused with app-only credentials, naming authMode', async () => {
    const { spotify } = await connectApp();
    for (const call of [
      spotify.createPlaylist('smedjan', { name: 'Road trip' }),
      spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', ['spotify:track:4iV5W9uYEdYUVa79Axb7Rh']),
      first(spotify.getUserPlaylists('me')),
    ]) {
      const error = await rejection(call);
      expect(error.kind).toBe('invalid_config');
      expect(error.code).toBe('user_authorization_required');
      expect((error as unknown as { issues: { path: string }[] }).issues[0]?.path).toBe('authMode');
    }
    expect(proxy.requests).toHaveLength(0);
  });
});

/**
 * Prism's examples do not chain: every `next` in the spec is the same `/me/shows` link. Walking several pages is
 * therefore proven against a small local server that pages like Spotify does, behind the same fault proxy.
 */
describe('paging across several pages (local paging server)', () => {
  let pager: FakeServer;
  let pagerProxy: FaultProxy;
  const playlists = Array.from({ length: 5 }, (_, i) => ({ id: `pl${i}`, name: `Playlist ${i}`, type: 'playlist' }));

  /** A Spotify paging object over `all`, with `next` built by `link`. */
  function page(request: FakeRequest, all: unknown[], link: (offset: number, limit: number) => string) {
    const offset = Number(request.query.get('offset') ?? 0);
    const limit = Number(request.query.get('limit') ?? 20);
    const end = offset + limit;
    return json({
      href: link(offset, limit),
      items: all.slice(offset, end),
      limit,
      offset,
      total: all.length,
      next: end < all.length ? link(end, limit) : null,
      previous: offset > 0 ? link(Math.max(0, offset - limit), limit) : null,
    });
  }

  beforeAll(async () => {
    pager = await createFakeServer({
      // Like Spotify: absolute links on api.spotify.com/v1, which the connector follows on its configured host.
      'GET /users/:id/playlists': (request) =>
        page(
          request,
          playlists,
          (offset, limit) =>
            `https://api.spotify.com/v1/users/${request.params.id}/playlists?offset=${offset}&limit=${limit}`,
        ),
      // Links on the server's own host (e.g. a proxy that rewrites them) are followed as they are.
      'GET /playlists/:id/items': (request) =>
        request.params.id === 'leaky'
          ? json({ items: [{ id: 'x' }], next: 'https://evil.example/steal?offset=1&token=t' })
          : page(
              request,
              playlists.map((p) => ({ added_at: null, is_local: false, item: { id: p.id, type: 'track' } })),
              (offset, limit) =>
                `${pagerProxy.url}/playlists/${request.params.id}/items?offset=${offset}&limit=${limit}&market=SE`,
            ),
      'GET /search': json({ tracks: { items: [], total: 0, limit: 1, offset: 0, next: null, previous: null } }),
    });
    pagerProxy = await createFaultProxy({ target: pager.url });
  });

  afterEach(() => {
    pagerProxy.reset();
    pager.reset();
  });

  afterAll(async () => {
    await pagerProxy?.close();
    await pager?.stop();
  });

  it("walks every page through Spotify's absolute next links; each page is its own call, retried alone", async () => {
    const { spotify, events } = await connect(appConfig({ apiBaseUrl: pagerProxy.url }));
    pagerProxy.reset();
    // The second page fails once with a 503: only that page is fetched again.
    pagerProxy.script(faults.pass(), faults.status(503));
    const all = await collect(spotify.getUserPlaylists('smedjan', { limit: 2 }));
    expect(all.map((p) => p.id)).toEqual(['pl0', 'pl1', 'pl2', 'pl3', 'pl4']);
    expect(pagerProxy.requests.map((r) => r.path)).toEqual([
      '/users/smedjan/playlists?limit=2',
      '/users/smedjan/playlists?offset=2&limit=2',
      '/users/smedjan/playlists?offset=2&limit=2',
      '/users/smedjan/playlists?offset=4&limit=2',
    ]);
    expect(events('call:start').map((e) => [e.operation, e.attempt])).toEqual([
      ['getUserPlaylists', 1],
      ['getUserPlaylists', 1],
      ['getUserPlaylists', 2],
      ['getUserPlaylists', 1],
    ]);
    for (const request of pagerProxy.requests) expect(request.headers.authorization).toMatch(/^Bearer at_/);
  });

  it("walks a playlist's items through next links on the configured host", async () => {
    const { spotify } = await connect(appConfig({ apiBaseUrl: pagerProxy.url }));
    pagerProxy.reset();
    const items = await collect(spotify.getPlaylistTracks('3cEYpjA9oz9GiPac4AsH4n', { limit: 3, market: 'SE' }));
    expect(items.map((i) => i.item?.id)).toEqual(['pl0', 'pl1', 'pl2', 'pl3', 'pl4']);
    expect(pagerProxy.requests.map((r) => r.path)).toEqual([
      '/playlists/3cEYpjA9oz9GiPac4AsH4n/items?limit=3&market=SE',
      '/playlists/3cEYpjA9oz9GiPac4AsH4n/items?offset=3&limit=3&market=SE',
    ]);
  });

  it('an abort stops the walk between pages', async () => {
    const { spotify } = await connect(appConfig({ apiBaseUrl: pagerProxy.url }));
    pagerProxy.reset();
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const playlist of spotify.getUserPlaylists('smedjan', { limit: 2 }, { signal: controller.signal })) {
          seen.push(playlist.id);
          controller.abort();
        }
      })(),
    );
    expect(error.kind).toBe('cancelled');
    expect(seen).toEqual(['pl0', 'pl1']);
    expect(pagerProxy.requests).toHaveLength(1);
  });

  it('refuses to follow a next link to another host (it would carry the token)', async () => {
    const { spotify } = await connect(appConfig({ apiBaseUrl: pagerProxy.url }));
    pagerProxy.reset();
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of spotify.getPlaylistTracks('leaky')) seen.push(String(item));
      })(),
    );
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain('https://evil.example');
    expect(error.message).not.toContain('steal');
    expect(pagerProxy.requests).toHaveLength(1);
  });
});

describe('playlists (authorization code mode)', () => {
  it('creates a playlist for a user, and for the authorizing user with "me"', async () => {
    const { spotify } = await connectUser();
    const created = await spotify.createPlaylist('smedjan', {
      name: 'Road trip',
      public: false,
      description: 'Songs for the drive',
    });
    expect(created).toMatchObject({ owner: { type: 'user' }, items: { total: 4 } });
    await spotify.createPlaylist('me', { name: 'Collab', public: false, collaborative: true });
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /users/smedjan/playlists',
      'POST /me/playlists',
    ]);
    expect(proxy.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('refuses an idempotency key (Spotify cannot honour one) and bad playlist fields', async () => {
    const { spotify } = await connectUser();
    const keyed = await rejection(spotify.createPlaylist('smedjan', { name: 'x' }, { idempotencyKey: 'order-1' }));
    expect(keyed).toMatchObject({ kind: 'invalid_request', code: 'idempotency_unsupported' });
    const unnamed = await rejection(spotify.createPlaylist('smedjan', { name: '' }));
    expect(unnamed.message).toMatch(/name must be a non-empty string/);
    const collaborative = await rejection(spotify.createPlaylist('smedjan', { name: 'x', collaborative: true }));
    expect(collaborative.message).toMatch(/collaborative playlist must be private/);
    const keyedAdd = await rejection(
      spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', ['spotify:track:a1'], {}, { idempotencyKey: 'k' }),
    );
    expect(keyedAdd.code).toBe('idempotency_unsupported');
    expect(proxy.requests).toHaveLength(0);
  });

  it('a failed create is not retried: it may have been applied', async () => {
    const { spotify, events } = await connectUser();
    proxy.script(faults.status(503));
    const error = await rejection(spotify.createPlaylist('smedjan', { name: 'Once' }));
    expect(error.kind).toBe('unavailable');
    expect(proxy.requests).toHaveLength(1);
    expect(events('retry:scheduled')).toHaveLength(0);
  });

  it('adds 150 URIs in two requests Prism accepts', async () => {
    const { spotify } = await connectUser();
    const uris = Array.from(
      { length: 150 },
      (_, i) => `spotify:track:4iV5W9uYEdYUVa79Axb${String(i).padStart(3, '0')}`,
    );
    const result = await spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', uris, { position: 0 });
    expect(result).toEqual({ snapshotId: 'abc', snapshotIds: ['abc', 'abc'], added: 150 });
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /playlists/3cEYpjA9oz9GiPac4AsH4n/items',
      'POST /playlists/3cEYpjA9oz9GiPac4AsH4n/items',
    ]);
  });

  it('refuses URIs that are not track or episode URIs, naming the first bad one', async () => {
    const { spotify } = await connectUser();
    const error = await rejection(
      spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', ['spotify:track:a1', 'spotify:album:b2']),
    );
    expect(error.message).toMatch(/uris\[1\] must be a track or episode URI/);
    const empty = await rejection(spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', []));
    expect(empty.message).toMatch(/uris must be a non-empty array/);
    expect(proxy.requests).toHaveLength(0);
  });
});

describe('adding many URIs (local recording server)', () => {
  let recorder: FakeServer;
  let recorderProxy: FaultProxy;

  beforeAll(async () => {
    let version = 0;
    recorder = await createFakeServer({
      'POST /playlists/:id/items': () => json({ snapshot_id: `snap${++version}` }, { status: 201 }),
      'GET /search': json({ tracks: { items: [] } }),
    });
    recorderProxy = await createFaultProxy({
      target: recorder.url,
      errorResponse: (status) => spotifyError(status, `injected ${status}`),
    });
  });

  afterEach(() => {
    recorderProxy.reset();
    recorder.reset();
  });

  afterAll(async () => {
    await recorderProxy?.close();
    await recorder?.stop();
  });

  const uris = Array.from({ length: 250 }, (_, i) => `spotify:track:t${i}`);

  it('sends 100 URIs per request, in order, each chunk positioned after the previous one', async () => {
    const { spotify } = await connect(userConfig({ apiBaseUrl: recorderProxy.url }));
    recorder.reset();
    const result = await spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', uris, { position: 5 });
    const bodies = recorder.requests.map((r) => r.json<{ uris: string[]; position?: number }>());
    expect(bodies.map((b) => b.uris.length)).toEqual([100, 100, 50]);
    expect(bodies.map((b) => b.position)).toEqual([5, 105, 205]);
    expect(bodies.flatMap((b) => b.uris)).toEqual(uris);
    expect(result).toEqual({ snapshotId: 'snap3', snapshotIds: ['snap1', 'snap2', 'snap3'], added: 250 });

    recorder.reset();
    await spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', uris.slice(0, 2));
    // Without a position Spotify appends; none is sent.
    expect(recorder.requests[0]?.json()).toEqual({ uris: uris.slice(0, 2) });
  });

  it('a failure part way says how much was added, and nothing is retried', async () => {
    const { spotify } = await connect(userConfig({ apiBaseUrl: recorderProxy.url }));
    recorderProxy.reset();
    recorderProxy.script(faults.pass(), faults.status(500));
    const error = await rejection(spotify.addTracksToPlaylist('3cEYpjA9oz9GiPac4AsH4n', uris));
    expect(error).toMatchObject({ kind: 'unavailable', status: 500, operation: 'addTracksToPlaylist' });
    expect(error.message).toContain('the first 100 of 250 URIs were added before this request failed');
    expect(recorderProxy.requests).toHaveLength(2);
  });
});
