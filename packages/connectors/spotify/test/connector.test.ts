import { describeConnector, specPath, startPrism } from '@integrations/testkit';
import { spotify } from '../src/index.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

const CLIENT_ID = 'conformance-client';
let tokenServer: TokenServer;
let refreshToken: string;

/** Spotify's error body, `{ error: { status, message } }`, for an injected status. */
function spotifyError(status: number) {
  const messages: Record<number, string> = {
    401: 'The access token expired',
    403: 'Insufficient client scope',
    404: 'Non existing id',
    429: 'API rate limit exceeded',
    503: 'Service unavailable',
  };
  return {
    contentType: 'application/json',
    body: JSON.stringify({ error: { status, message: messages[status] ?? `Request failed with status ${status}` } }),
  };
}

describeConnector(spotify, {
  // Prism serves Spotify's OpenAPI description (paths without /v1, any bearer accepted); the token endpoint is
  // the local OAuth server. Refresh tokens are not rotated here: every integration the suite starts reuses one.
  standIn: async () => {
    const [prism, tokens] = await Promise.all([
      startPrism(specPath('spotify/fixed-spotify-open-api.yml')),
      startTokenServer({ rotateRefreshTokens: false }),
    ]);
    tokenServer = tokens;
    refreshToken = tokens.issueRefreshToken(CLIENT_ID, 'playlist-modify-private');
    return {
      url: prism.url,
      stop: async () => {
        await Promise.all([prism.stop(), tokens.stop()]);
      },
    };
  },
  // The canary is the client secret the token server checks, so every healthy run proves it stays hidden.
  config: (url, { secret }) => {
    tokenServer.addClient(CLIENT_ID, secret);
    return {
      clientId: CLIENT_ID,
      clientSecret: secret,
      authMode: 'authorization_code' as const,
      refreshToken,
      apiBaseUrl: url,
      tokenUrl: tokenServer.tokenUrl,
    };
  },
  invalidConfig: { config: { clientId: 'app', authMode: 'client_credentials' }, path: 'clientSecret' },
  idempotentCall: (instance, options) => instance.getTrack('11dFghVXANMlKmJXsNCbNl', {}, options),
  // Spotify takes no idempotency key, so no header: the suite checks the write is sent exactly once.
  nonIdempotentCall: (instance, options) =>
    instance.createPlaylist('smedjan', { name: 'Conformance', public: false }, options),
  errorResponse: spotifyError,
});
