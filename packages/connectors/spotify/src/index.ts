export {
  type ExchangeSpotifyCodeOptions,
  exchangeSpotifyCode,
  type SpotifyAuthorizeOptions,
  type SpotifyAuthorizeRequest,
  type SpotifyTokens,
  spotifyAuthorizeUrl,
} from './auth.js';
export {
  SPOTIFY_API_BASE_URL,
  SPOTIFY_AUTHORIZE_URL,
  SPOTIFY_TOKEN_URL,
  type SpotifyConfig,
  spotifyConfigSchema,
} from './config.js';
export {
  type AddTracksParams,
  type AddTracksResult,
  type CreatePlaylistParams,
  MAX_URIS_PER_REQUEST,
  type MarketParams,
  type PlaylistItemsParams,
  type PlaylistPageParams,
  type SearchTracksParams,
  type SpotifyInstance,
  spotify,
  type TokenListener,
} from './connector.js';
export type * from './types.js';
export { VERSION } from './version.js';
