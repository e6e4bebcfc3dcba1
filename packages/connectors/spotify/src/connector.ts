import {
  type CallOptions,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationType,
  type OperationMeta,
} from '@integrations/core';
import {
  type AuthProvider,
  createHttpClient,
  type HttpClient,
  paginateItems,
  type Query,
  type RequestOptions,
} from '@integrations/core/http';
import { createTokenProvider, type SpotifyTokens } from './auth.js';
import { type ParsedSpotifyConfig, SPOTIFY_API_BASE_URL, spotifyConfigSchema } from './config.js';
import { invalidRequest, mapError, needsUserAuthorization, PROVIDER, withContext } from './errors.js';
import { createTransport } from './transport.js';
import type {
  SpotifyAlbum,
  SpotifyArtist,
  SpotifyPaging,
  SpotifyPlaylist,
  SpotifyPlaylistItem,
  SpotifySimplifiedPlaylist,
  SpotifyTrack,
} from './types.js';
import { VERSION } from './version.js';

export interface SearchTracksParams {
  /** Results per call. Spotify sets the maximum (10 in its current API description). */
  limit?: number | undefined;
  offset?: number | undefined;
  /** ISO 3166-1 alpha-2 country code, or `from_token` (the user's country). */
  market?: string | undefined;
}

export interface MarketParams {
  market?: string | undefined;
}

export interface PlaylistPageParams {
  /** Page size: items fetched per request. */
  limit?: number | undefined;
}

export interface PlaylistItemsParams extends PlaylistPageParams, MarketParams {}

export interface CreatePlaylistParams {
  name: string;
  /** Spotify's default is true. Private playlists need the `playlist-modify-private` scope. */
  public?: boolean | undefined;
  description?: string | undefined;
  /** Needs `public: false`. */
  collaborative?: boolean | undefined;
}

export interface AddTracksParams {
  /** Zero-based index to insert at; appends when left out. */
  position?: number | undefined;
}

export interface AddTracksResult {
  /** The playlist version after the last request. */
  snapshotId: string;
  /** One per request sent (100 URIs each). */
  snapshotIds: string[];
  added: number;
}

export type TokenListener = (tokens: SpotifyTokens) => void | Promise<void>;

/** Spotify takes at most 100 URIs per add request. */
export const MAX_URIS_PER_REQUEST = 100;

const BASE62_ID = /^[0-9A-Za-z]+$/;
const MARKET = /^(?:[A-Z]{2}|from_token)$/;
const ITEM_URI = /^spotify:(?:track|episode):[0-9A-Za-z]+$/;

const READ = (description: string): OperationMeta => ({ idempotent: true, description });
const WRITE = (description: string): OperationMeta => ({ idempotent: false, description });

function checkId(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !BASE62_ID.test(value)) {
    throw invalidRequest(operation, `${name} must be a Spotify ID (base-62 letters and digits), got ${show(value)}`);
  }
  return value;
}

function checkUserId(operation: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidRequest(operation, `userId must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

function checkInteger(operation: string, name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidRequest(operation, `${name} must be an integer of at least ${min}, got ${show(value)}`);
  }
  return value;
}

function checkMarket(operation: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !MARKET.test(value)) {
    throw invalidRequest(
      operation,
      `market must be an ISO 3166-1 alpha-2 country code (e.g. "SE") or "from_token", got ${show(value)}`,
    );
  }
  return value;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Spotify has no idempotency keys: a key would let the pipeline retry a write Spotify may already have applied. */
function refuseIdempotencyKey(operation: string, options: CallOptions | undefined): void {
  if (options?.idempotencyKey !== undefined) {
    throw invalidRequest(
      operation,
      'Spotify has no idempotency keys, so this write cannot be made safe to retry; call it without idempotencyKey',
      'idempotency_unsupported',
    );
  }
}

export const spotify = defineConnector({
  id: 'spotify',
  displayName: 'Spotify',
  type: IntegrationType.ExternalApi,
  category: 'music',
  version: VERSION,
  config: spotifyConfigSchema,
  operations: {
    searchTracks: READ('Search the catalog for tracks (one page: limit and offset).'),
    getTrack: READ('Fetch a track by Spotify ID.'),
    getArtist: READ('Fetch an artist by Spotify ID.'),
    getAlbum: READ('Fetch an album (with its first page of tracks) by Spotify ID.'),
    getUserPlaylists: READ("Iterate a user's playlists ('me': the authorizing user's), one request per page."),
    getPlaylistTracks: READ("Iterate a playlist's items (tracks and episodes), one request per page."),
    createPlaylist: WRITE('Create a playlist for a user. Spotify has no idempotency key: never retried.'),
    addTracksToPlaylist: WRITE(
      'Add track or episode URIs to a playlist, 100 per request. Spotify has no idempotency key: never retried.',
    ),
  },
  mapError,
  create(config: ParsedSpotifyConfig, ctx) {
    const listeners = new Set<TokenListener>();
    let latest: SpotifyTokens | undefined;
    const transport = createTransport();
    const tokens = createTokenProvider(
      config,
      async (fresh) => {
        ctx.addSecret(fresh.accessToken);
        if (fresh.refreshToken) ctx.addSecret(fresh.refreshToken);
        latest = fresh;
        for (const listener of listeners) await listener(fresh);
      },
      transport.fetch,
    );

    let lastToken: string | undefined;
    // No onUnauthorized: core's client would resend a 401 itself, outside the pipeline. Here a 401 fails the call
    // with `auth`, and the hook below drops the refused token so the next call starts with a fresh one.
    const auth: AuthProvider = {
      async authorize(request, signal) {
        const token = await tokens.getAccessToken(signal);
        if (token !== lastToken) {
          ctx.addSecret(token);
          lastToken = token;
        }
        request.headers.set('authorization', `Bearer ${token}`);
      },
    };

    const client = createHttpClient({
      baseUrl: config.apiBaseUrl,
      provider: PROVIDER,
      auth,
      fetch: transport.fetch,
      // ctx.userAgent already names core; set as a header it is sent exactly as core composed it.
      headers: { 'user-agent': ctx.userAgent },
      hooks: {
        afterResponse(response, request) {
          if (response.status === 401) tokens.onUnauthorized?.(request);
          return undefined;
        },
      },
    });

    const apiBase = config.apiBaseUrl.replace(/\/+$/, '');
    /**
     * Spotify's `next` links are absolute URLs on api.spotify.com. When apiBaseUrl points elsewhere (a proxy, a
     * stand-in), they are followed there instead, so the walk stays on the configured host.
     */
    function onConfiguredHost(link: string | null | undefined): string | null | undefined {
      if (!link || apiBase === SPOTIFY_API_BASE_URL || !link.startsWith(`${SPOTIFY_API_BASE_URL}/`)) return link;
      return `${apiBase}${link.slice(SPOTIFY_API_BASE_URL.length)}`;
    }

    const userAuthorized = config.authMode === 'authorization_code';

    function get<T>(operation: string, path: string, query: Query, options: CallOptions | undefined): Promise<T> {
      return ctx.call(operation, ({ signal }) => client.get<T>(path, { query, signal }), options);
    }

    /** Every item of a paged collection, walking Spotify's `next` links; each page is one call through the pipeline. */
    function items<Item>(
      operation: string,
      path: string,
      query: Query,
      options: CallOptions | undefined,
    ): AsyncGenerator<Item, void, undefined> {
      const pageClient: HttpClient = {
        ...client,
        send: <T>(request: RequestOptions) =>
          ctx.call(operation, ({ signal }) => client.send<T>({ ...request, signal }), options),
      };
      return paginateItems<SpotifyPaging<Item>, Item>(pageClient, {
        path,
        query,
        strategy: {
          type: 'nextUrl',
          getNextUrl: (page) => onConfiguredHost(page.next),
          getItems: (page) => page.items,
        },
      });
    }

    function playlistsPath(operation: string, userId: string): string {
      if (userId !== 'me') return `/users/${encodeURIComponent(userId)}/playlists`;
      if (!userAuthorized) throw needsUserAuthorization(operation);
      return '/me/playlists';
    }

    async function searchTracks(
      query: string,
      params: SearchTracksParams = {},
      options?: CallOptions,
    ): Promise<SpotifyPaging<SpotifyTrack>> {
      const op = 'searchTracks';
      if (typeof query !== 'string' || query.trim() === '') {
        throw invalidRequest(op, `query must be a non-empty string, got ${show(query)}`);
      }
      const q: Query = {
        q: query,
        type: 'track',
        limit: checkInteger(op, 'limit', params.limit, 1),
        offset: checkInteger(op, 'offset', params.offset, 0),
        market: checkMarket(op, params.market),
      };
      const result = await get<{ tracks?: SpotifyPaging<SpotifyTrack> }>(op, '/search', q, options);
      if (!result?.tracks) throw mapError(new Error('Spotify answered a track search without a `tracks` page'));
      return result.tracks;
    }

    async function getTrack(id: string, params: MarketParams = {}, options?: CallOptions): Promise<SpotifyTrack> {
      const op = 'getTrack';
      const path = `/tracks/${checkId(op, 'id', id)}`;
      return get<SpotifyTrack>(op, path, { market: checkMarket(op, params.market) }, options);
    }

    async function getArtist(id: string, options?: CallOptions): Promise<SpotifyArtist> {
      const op = 'getArtist';
      return get<SpotifyArtist>(op, `/artists/${checkId(op, 'id', id)}`, {}, options);
    }

    async function getAlbum(id: string, params: MarketParams = {}, options?: CallOptions): Promise<SpotifyAlbum> {
      const op = 'getAlbum';
      const path = `/albums/${checkId(op, 'id', id)}`;
      return get<SpotifyAlbum>(op, path, { market: checkMarket(op, params.market) }, options);
    }

    async function* getUserPlaylists(
      userId: string,
      params: PlaylistPageParams = {},
      options?: CallOptions,
    ): AsyncGenerator<SpotifySimplifiedPlaylist, void, undefined> {
      const op = 'getUserPlaylists';
      const path = playlistsPath(op, checkUserId(op, userId));
      yield* items<SpotifySimplifiedPlaylist>(op, path, { limit: checkInteger(op, 'limit', params.limit, 1) }, options);
    }

    async function* getPlaylistTracks(
      playlistId: string,
      params: PlaylistItemsParams = {},
      options?: CallOptions,
    ): AsyncGenerator<SpotifyPlaylistItem, void, undefined> {
      const op = 'getPlaylistTracks';
      const path = `/playlists/${checkId(op, 'playlistId', playlistId)}/items`;
      const query = { limit: checkInteger(op, 'limit', params.limit, 1), market: checkMarket(op, params.market) };
      yield* items<SpotifyPlaylistItem>(op, path, query, options);
    }

    async function createPlaylist(
      userId: string,
      params: CreatePlaylistParams,
      options?: CallOptions,
    ): Promise<SpotifyPlaylist> {
      const op = 'createPlaylist';
      refuseIdempotencyKey(op, options);
      if (!userAuthorized) throw needsUserAuthorization(op);
      const path = playlistsPath(op, checkUserId(op, userId));
      const { name, description, collaborative } = params ?? ({} as CreatePlaylistParams);
      if (typeof name !== 'string' || name.trim() === '') {
        throw invalidRequest(op, `name must be a non-empty string, got ${show(name)}`);
      }
      for (const [key, value] of [
        ['public', params.public],
        ['collaborative', collaborative],
      ] as const) {
        if (value !== undefined && typeof value !== 'boolean') {
          throw invalidRequest(op, `${key} must be a boolean, got ${show(value)}`);
        }
      }
      if (description !== undefined && typeof description !== 'string') {
        throw invalidRequest(op, `description must be a string, got ${show(description)}`);
      }
      if (collaborative === true && params.public !== false) {
        throw invalidRequest(op, 'a collaborative playlist must be private: set public to false');
      }
      const json = { name, public: params.public, collaborative, description };
      return ctx.call(op, ({ signal }) => client.post<SpotifyPlaylist>(path, { json, signal }), options);
    }

    async function addTracksToPlaylist(
      playlistId: string,
      uris: readonly string[],
      params: AddTracksParams = {},
      options?: CallOptions,
    ): Promise<AddTracksResult> {
      const op = 'addTracksToPlaylist';
      refuseIdempotencyKey(op, options);
      if (!userAuthorized) throw needsUserAuthorization(op);
      const path = `/playlists/${checkId(op, 'playlistId', playlistId)}/items`;
      if (!Array.isArray(uris) || uris.length === 0) {
        throw invalidRequest(op, 'uris must be a non-empty array of Spotify track or episode URIs');
      }
      uris.forEach((uri, i) => {
        if (typeof uri !== 'string' || !ITEM_URI.test(uri)) {
          throw invalidRequest(
            op,
            `uris[${i}] must be a track or episode URI like "spotify:track:4iV5W9uYEdYUVa79Axb7Rh", got ${show(uri)}`,
          );
        }
      });
      const position = checkInteger(op, 'position', params.position, 0);
      const snapshotIds: string[] = [];
      for (let start = 0; start < uris.length; start += MAX_URIS_PER_REQUEST) {
        const json = {
          uris: uris.slice(start, start + MAX_URIS_PER_REQUEST),
          // Later chunks go right after the earlier ones, so the URIs keep their order.
          position: position === undefined ? undefined : position + start,
        };
        try {
          const answer = await ctx.call(
            op,
            ({ signal }) => client.post<{ snapshot_id: string }>(path, { json, signal }),
            options,
          );
          snapshotIds.push(answer.snapshot_id);
        } catch (error) {
          if (start === 0) throw error;
          throw withContext(
            error,
            `the first ${start} of ${uris.length} URIs were added before this request failed; add only the rest`,
          );
        }
      }
      return { snapshotId: snapshotIds.at(-1) as string, snapshotIds, added: uris.length };
    }

    return {
      /** Core's HTTP client with Spotify's auth: for endpoints the connector does not wrap (bypasses the pipeline). */
      client,
      async healthCheck({ signal }: { signal: AbortSignal }) {
        try {
          // Search is cheap, takes either kind of token, and is not deprecated (unlike /markets).
          await client.get('/search', { query: { q: 'a', type: 'track', limit: 1 }, signal });
        } catch (error) {
          throw mapError(error);
        }
        return { authMode: config.authMode };
      },
      async close() {
        listeners.clear();
        // The integration's own pool: no connection to Spotify or its token endpoint outlives the integration.
        await transport.close();
      },
      /**
       * Called after every refresh (authorization_code mode) with the new tokens, before they are used. Spotify may
       * rotate the refresh token: persist `tokens.refreshToken` here. A throwing listener fails the waiting calls.
       * If a refresh already happened (the health check at start refreshes), the listener gets its tokens at once.
       */
      onTokenRefresh(listener: TokenListener): () => void {
        listeners.add(listener);
        if (latest) {
          const replayed = latest;
          // Nothing waits on a replay, so a failure can only be reported.
          Promise.resolve()
            .then(() => listener(replayed))
            .catch((error: unknown) =>
              ctx.logger.error('onTokenRefresh listener failed on the latest tokens', { error: mapError(error) }),
            );
        }
        return () => listeners.delete(listener);
      },
      searchTracks,
      getTrack,
      getArtist,
      getAlbum,
      getUserPlaylists,
      getPlaylistTracks,
      createPlaylist,
      addTracksToPlaylist,
    };
  },
});

export type SpotifyInstance = ConnectorInstanceOf<typeof spotify>;
