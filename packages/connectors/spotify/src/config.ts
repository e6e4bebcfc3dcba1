import { type ConfigInput, type ConfigIssue, type ConfigOutput, configSchema, field } from '@integrations/core';

/** Spotify's own endpoints: the defaults. Tests and proxies point the config elsewhere. */
export const SPOTIFY_API_BASE_URL = 'https://api.spotify.com/v1';
export const SPOTIFY_TOKEN_URL = 'https://accounts.spotify.com/api/token';
export const SPOTIFY_AUTHORIZE_URL = 'https://accounts.spotify.com/authorize';

const fields = {
  clientId: field.string({ minLength: 1, description: "The app's client ID from the Spotify developer dashboard." }),
  clientSecret: field.secret({
    optional: true,
    minLength: 1,
    description:
      "The app's client secret. Required for `client_credentials`; leave it out for a public (PKCE) client in `authorization_code` mode.",
  }),
  authMode: field.enum(['client_credentials', 'authorization_code'], {
    default: 'client_credentials',
    description:
      '`client_credentials`: app-only calls (catalog). `authorization_code`: calls on behalf of a user, with the refresh token that user granted.',
  }),
  refreshToken: field.secret({
    optional: true,
    minLength: 1,
    description:
      "The user's refresh token (from `exchangeSpotifyCode`). Required in `authorization_code` mode. Spotify may rotate it: persist the new one from `onTokenRefresh`.",
  }),
  scopes: field.stringArray({
    optional: true,
    description: 'Scopes `spotifyAuthorizeUrl` asks for when the call gives none (e.g. `playlist-modify-private`).',
  }),
  apiBaseUrl: field.url({ default: SPOTIFY_API_BASE_URL, description: 'Web API base URL, `/v1` included.' }),
  tokenUrl: field.url({ default: SPOTIFY_TOKEN_URL, description: 'OAuth 2.0 token endpoint.' }),
  authorizeUrl: field.url({ default: SPOTIFY_AUTHORIZE_URL, description: 'OAuth 2.0 authorization endpoint.' }),
};

type Fields = typeof fields;
export type SpotifyConfig = ConfigInput<Fields>;
export type ParsedSpotifyConfig = ConfigOutput<Fields>;

const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Rules between fields, which the per-field schema cannot state. */
function crossCheck(config: ParsedSpotifyConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.authMode === 'client_credentials') {
    if (config.clientSecret === undefined) {
      issues.push({ path: 'clientSecret', message: "is required when authMode is 'client_credentials'" });
    }
    if (config.refreshToken !== undefined) {
      issues.push({
        path: 'refreshToken',
        message: "is only used when authMode is 'authorization_code'; set authMode or remove it",
      });
    }
  } else if (config.refreshToken === undefined) {
    issues.push({
      path: 'refreshToken',
      message: "is required when authMode is 'authorization_code' (get one with exchangeSpotifyCode)",
    });
  }
  config.scopes?.forEach((scope, i) => {
    // RFC 6749 §3.3: a scope token is visible ASCII without spaces, quotes or backslashes.
    if (!SCOPE.test(scope)) issues.push({ path: `scopes.${i}`, message: `"${scope}" is not a valid scope name` });
  });
  for (const key of ['apiBaseUrl', 'tokenUrl', 'authorizeUrl'] as const) {
    const protocol = new URL(config[key]).protocol;
    if (protocol !== 'https:' && protocol !== 'http:') {
      issues.push({ path: key, message: 'must be an http:// or https:// URL' });
    }
  }
  return issues;
}

const base = configSchema(fields);

/** Core's config schema for Spotify, plus the rules between fields (which credentials each authMode needs). */
export const spotifyConfigSchema: typeof base = {
  ...base,
  '~standard': {
    ...base['~standard'],
    validate(value) {
      const result = base['~standard'].validate(value);
      const finish = (r: Awaited<typeof result>): Awaited<typeof result> => {
        if (r.issues) return r;
        const issues = crossCheck(r.value);
        if (issues.length === 0) return r;
        return { issues: issues.map((i) => ({ message: i.message, path: i.path.split('.') })) };
      };
      return result instanceof Promise ? result.then(finish) : finish(result);
    },
  },
};
