import {
  buildAuthorizeUrl,
  createPkcePair,
  exchangeAuthorizationCode,
  type OAuth2TokenProvider,
  type OAuth2Tokens,
  oauth2ClientCredentials,
  oauth2RefreshToken,
} from '@integrations/core/http';
import { type ParsedSpotifyConfig, SPOTIFY_AUTHORIZE_URL, SPOTIFY_TOKEN_URL, type SpotifyConfig } from './config.js';
import { invalidRequest, PROVIDER } from './errors.js';

/** What Spotify's token endpoint answered, normalised by core (`refreshToken` is the one to keep from now on). */
export type SpotifyTokens = OAuth2Tokens;

/**
 * The newest refresh token for each configured one (per token endpoint and client), for this process. Spotify may
 * retire a refresh token when it issues a new one, so an integration restarted with its original config (disable
 * then enable, a registry rebuilt) must carry on from the newest token, not the spent one.
 */
const successors = new Map<string, string>();

/**
 * The access-token source for the configured mode. Both cache the token until shortly before `expires_in` and
 * renew it single-flight; the refresh-token one also stores a rotated refresh token before anyone uses the new
 * access token, so a spent refresh token is never sent twice.
 */
export function createTokenProvider(
  config: ParsedSpotifyConfig,
  onTokens: (tokens: SpotifyTokens) => Promise<void>,
  fetch?: typeof globalThis.fetch,
): OAuth2TokenProvider {
  const endpoint = {
    fetch,
    tokenUrl: config.tokenUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    provider: PROVIDER,
  };
  if (config.authMode === 'client_credentials') return oauth2ClientCredentials(endpoint);
  // The config schema requires refreshToken in this mode.
  const configured = config.refreshToken as string;
  const key = JSON.stringify([config.tokenUrl, config.clientId, configured]);
  return oauth2RefreshToken({
    ...endpoint,
    refreshToken: successors.get(key) ?? configured,
    async onTokens(tokens) {
      if (tokens.refreshToken) successors.set(key, tokens.refreshToken);
      await onTokens(tokens);
    },
  });
}

export interface SpotifyAuthorizeOptions {
  /** Must match one of the app's redirect URIs in the Spotify dashboard exactly. */
  redirectUri: string;
  /** An unguessable value tied to the user's session; check that the callback brings it back. */
  state: string;
  /** Scopes to ask for. Default: the config's `scopes`. */
  scopes?: readonly string[] | undefined;
  /** Ask the user to approve again even if they already did (Spotify's `show_dialog`). */
  showDialog?: boolean | undefined;
}

export interface SpotifyAuthorizeRequest {
  /** Send the user here. */
  url: string;
  /** Keep it with the session (server side): `exchangeSpotifyCode` needs it. */
  codeVerifier: string;
}

function absoluteUrl(value: unknown, what: string, operation: string): string {
  if (typeof value !== 'string' || !URL.canParse(value)) {
    throw invalidRequest(operation, `${what} must be an absolute URL`);
  }
  return value;
}

/**
 * Step one of the authorization-code flow with PKCE: a fresh verifier and the Spotify authorize URL carrying its
 * S256 challenge, the state and the scopes.
 */
export async function spotifyAuthorizeUrl(
  config: Pick<SpotifyConfig, 'clientId' | 'authorizeUrl' | 'scopes'>,
  options: SpotifyAuthorizeOptions,
): Promise<SpotifyAuthorizeRequest> {
  const operation = 'spotifyAuthorizeUrl';
  const redirectUri = absoluteUrl(options?.redirectUri, 'redirectUri', operation);
  if (typeof options.state !== 'string' || options.state === '') {
    throw invalidRequest(operation, 'state must be a non-empty string (it protects the callback against CSRF)');
  }
  const pkce = await createPkcePair();
  const url = buildAuthorizeUrl({
    authorizeUrl: config.authorizeUrl ?? SPOTIFY_AUTHORIZE_URL,
    clientId: config.clientId,
    redirectUri,
    state: options.state,
    scope: options.scopes ?? config.scopes,
    codeChallenge: pkce.challenge,
    params: options.showDialog === undefined ? undefined : { show_dialog: String(options.showDialog) },
  });
  return { url, codeVerifier: pkce.verifier };
}

export interface ExchangeSpotifyCodeOptions {
  /** The `code` query parameter Spotify sent to the redirect URI. */
  code: string;
  /** The same redirect URI the authorize URL carried. */
  redirectUri: string;
  /** From `spotifyAuthorizeUrl`. */
  codeVerifier: string;
  signal?: AbortSignal | undefined;
}

/**
 * Step two: trades the code Spotify sent to the redirect URI (and the PKCE verifier) for tokens. Put
 * `refreshToken` in the config (`authMode: 'authorization_code'`). A refused code fails with `auth`, code
 * `invalid_grant`.
 */
export function exchangeSpotifyCode(
  config: Pick<SpotifyConfig, 'clientId' | 'clientSecret' | 'tokenUrl'>,
  options: ExchangeSpotifyCodeOptions,
): Promise<SpotifyTokens> {
  return exchangeAuthorizationCode({
    tokenUrl: config.tokenUrl ?? SPOTIFY_TOKEN_URL,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    provider: PROVIDER,
    code: options.code,
    redirectUri: options.redirectUri,
    codeVerifier: options.codeVerifier,
    signal: options.signal,
  });
}
