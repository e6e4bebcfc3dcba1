import { type ErrorKind, IntegrationError } from '../errors.js';
import { type AuthProvider, type AuthRequest, base64url, basicCredentials } from './auth.js';
import { errorFromFailure, errorFromResponse, extractProviderError, parseLenient, redact } from './errors.js';

/** A token endpoint's answer, normalised. */
export interface OAuth2Tokens {
  accessToken: string;
  tokenType: string;
  /** Absent when the provider did not issue one (or, on refresh, kept the old one). */
  refreshToken: string | undefined;
  /** Lifetime in seconds, as the provider sent it. */
  expiresIn: number | undefined;
  /** Epoch ms at which the access token expires, computed when the response arrived. */
  expiresAt: number | undefined;
  scope: string | undefined;
  idToken: string | undefined;
  /** The whole response, for provider-specific fields. */
  raw: Record<string, unknown>;
}

export interface TokenEndpointOptions {
  tokenUrl: string | URL;
  clientId: string;
  /** Omit for public clients (PKCE). */
  clientSecret?: string | undefined;
  /** How the client authenticates: HTTP Basic (RFC 6749's recommendation, the default) or form fields. */
  authStyle?: 'header' | 'body' | undefined;
  fetch?: typeof globalThis.fetch | undefined;
  /** Names the provider in errors. Defaults to the token URL's host. */
  provider?: string | undefined;
  /**
   * Upper bound on one token request. A request shared by many waiting calls cannot be ended by any one
   * caller's signal, so this keeps a hung token endpoint from stalling every call behind it.
   */
  requestTimeoutMs?: number | undefined;
}

/** A provider whose access token can also be read directly (e.g. to hand to an SDK). */
export interface OAuth2TokenProvider extends AuthProvider {
  getAccessToken(signal?: AbortSignal): Promise<string>;
}

const DEFAULT_TOKEN_TIMEOUT_MS = 30_000;
const DEFAULT_REFRESH_SKEW_MS = 60_000;

function configError(message: string): IntegrationError {
  return new IntegrationError('invalid_config', message);
}

function parseUrl(value: string | URL, what: string): URL {
  try {
    return new URL(value);
  } catch {
    throw configError(`${what} is not an absolute URL`);
  }
}

function requireString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') throw configError(`${what} must be a non-empty string`);
}

function checkEndpoint(options: TokenEndpointOptions): URL {
  const url = parseUrl(options.tokenUrl, 'tokenUrl');
  requireString(options.clientId, 'clientId');
  if (options.clientSecret !== undefined) requireString(options.clientSecret, 'clientSecret');
  if (options.authStyle !== undefined && options.authStyle !== 'header' && options.authStyle !== 'body') {
    throw configError(`authStyle must be 'header' or 'body', got ${JSON.stringify(options.authStyle)}`);
  }
  return url;
}

const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);

function scopeString(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  return typeof scope === 'string' ? scope : scope.join(' ');
}

/** 4xx from a token endpoint means the grant or the client was refused; rate limits and 5xx stay retryable. */
function tokenErrorKind(status: number): ErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  return status >= 500 ? 'unavailable' : 'auth';
}

/** POSTs a grant to the token endpoint and normalises the answer. Errors never carry the secrets it sent. */
async function requestToken(
  options: TokenEndpointOptions,
  params: Record<string, string | undefined>,
  signal: AbortSignal | undefined,
  now: () => number = Date.now,
): Promise<OAuth2Tokens> {
  const url = parseUrl(options.tokenUrl, 'tokenUrl');
  const provider = options.provider ?? url.host;
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) body.set(key, value);
  const headers = new Headers({ accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' });
  const { clientId, clientSecret } = options;
  if (clientSecret !== undefined && (options.authStyle ?? 'header') === 'header') {
    // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
    headers.set('authorization', basicCredentials(formEncode(clientId), formEncode(clientSecret)));
  } else {
    body.set('client_id', clientId);
    if (clientSecret !== undefined) body.set('client_secret', clientSecret);
  }
  const secrets = [clientSecret, params.refresh_token, params.code, params.code_verifier].filter(
    (s): s is string => s !== undefined,
  );
  const timeout = AbortSignal.timeout(options.requestTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const what = `token request POST ${url.origin}${url.pathname}`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  try {
    const response = await fetchImpl(url.href, { method: 'POST', headers, body: body.toString(), signal: combined });
    if (!response.ok) {
      throw await errorFromResponse(response, {
        provider,
        method: 'POST',
        url,
        secrets,
        kind: tokenErrorKind(response.status),
      });
    }
    const receivedAt = now();
    const raw = parseLenient(await response.text(), response.headers.get('content-type'));
    return normaliseTokens(raw, receivedAt, { provider, what, secrets });
  } catch (error) {
    throw errorFromFailure(error, { provider, what, signal: combined, secrets });
  }
}

function normaliseTokens(
  raw: unknown,
  receivedAt: number,
  context: { provider: string; what: string; secrets: string[] },
): OAuth2Tokens {
  const { provider, what, secrets } = context;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new IntegrationError('auth', `${provider} ${what} answered without a JSON object`, { provider });
  }
  const r = raw as Record<string, unknown>;
  if (typeof r.access_token !== 'string' || r.access_token === '') {
    // Some providers (GitHub) report grant errors with a 200 status.
    const { message, code } = extractProviderError(r);
    const detail = message ? `: ${redact(message, secrets).slice(0, 300)}` : ': no access_token in the response';
    throw new IntegrationError('auth', `${provider} ${what} failed${detail}`, { provider, code });
  }
  const expiresIn = r.expires_in === undefined || r.expires_in === null ? undefined : Number(r.expires_in);
  const validExpiry = expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    accessToken: r.access_token,
    tokenType: text(r.token_type) ?? 'Bearer',
    refreshToken: text(r.refresh_token),
    expiresIn: validExpiry,
    expiresAt: validExpiry === undefined ? undefined : receivedAt + validExpiry * 1000,
    scope: text(r.scope),
    idToken: text(r.id_token),
    raw: r,
  };
}

/**
 * Runs at most one `run` at a time; callers arriving while it runs share its result. The next call after it
 * settles starts a fresh one.
 */
function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | undefined;
  return () => {
    if (inflight) return inflight;
    const promise = Promise.resolve().then(run);
    inflight = promise;
    const clear = () => {
      if (inflight === promise) inflight = undefined;
    };
    promise.then(clear, clear);
    return promise;
  };
}

/** Waits for a shared promise, giving up (without cancelling it for the others) when this caller's signal aborts. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is renewed before use. */
  renewAt: number;
  stale: boolean;
}

function cacheToken(tokens: OAuth2Tokens, skewMs: number): CachedToken {
  const { expiresAt, expiresIn } = tokens;
  // Renew a little early, but never sooner than half-way through a short-lived token's life.
  const renewAt =
    expiresAt === undefined || expiresIn === undefined
      ? Number.POSITIVE_INFINITY
      : expiresAt - Math.min(skewMs, (expiresIn * 1000) / 2);
  return { accessToken: tokens.accessToken, renewAt, stale: false };
}

interface TokenCacheOptions {
  /** How long before expiry a token is renewed. Default 60 s (at most half its lifetime). */
  refreshSkewMs?: number | undefined;
  /** Wall clock in epoch ms; tests pass their own. */
  now?: (() => number) | undefined;
}

/** The shared half of both grant types: a cached token, renewed single-flight, dropped on a 401. */
function tokenProvider(
  options: TokenCacheOptions,
  initial: CachedToken | undefined,
  obtain: () => Promise<OAuth2Tokens>,
  /** Runs after the new token is in place; if it throws, the waiting calls fail but the token stays in use. */
  renewed?: (tokens: OAuth2Tokens) => Promise<void>,
): OAuth2TokenProvider {
  const now = options.now ?? Date.now;
  const skewMs = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
  let current = initial;
  const renew = singleFlight(async () => {
    const tokens = await obtain();
    const token = cacheToken(tokens, skewMs);
    current = token;
    await renewed?.(tokens);
    return token;
  });
  async function getAccessToken(signal?: AbortSignal): Promise<string> {
    const token = current;
    if (token && !token.stale && now() < token.renewAt) return token.accessToken;
    return (await waitFor(renew(), signal)).accessToken;
  }
  return {
    getAccessToken,
    async authorize(request: AuthRequest, signal?: AbortSignal) {
      request.headers.set('authorization', `Bearer ${await getAccessToken(signal)}`);
    },
    onUnauthorized(rejected: AuthRequest) {
      // Only the token that was refused is dropped: a 401 for an older token must not renew a fresh one.
      if (current && rejected.headers.get('authorization') === `Bearer ${current.accessToken}`) current.stale = true;
    },
  };
}

export interface ClientCredentialsOptions extends TokenEndpointOptions, TokenCacheOptions {
  scope?: string | readonly string[] | undefined;
  /** Extra form fields some providers need (e.g. `audience`). */
  params?: Record<string, string> | undefined;
}

/**
 * OAuth 2.0 client credentials grant. The token is cached until shortly before `expires_in`; concurrent calls
 * needing a new one share a single token request.
 */
export function oauth2ClientCredentials(options: ClientCredentialsOptions): OAuth2TokenProvider {
  checkEndpoint(options);
  requireString(options.clientSecret, 'clientSecret');
  const scope = scopeString(options.scope);
  return tokenProvider(options, undefined, () =>
    requestToken(options, { ...options.params, grant_type: 'client_credentials', scope }, undefined, options.now),
  );
}

export interface RefreshTokenOptions extends TokenEndpointOptions, TokenCacheOptions {
  refreshToken: string;
  /** A still-valid access token to start with; without one the first call refreshes. */
  accessToken?: string | undefined;
  /** Epoch ms at which `accessToken` expires; without it the token is used until a 401. */
  expiresAt?: number | undefined;
  scope?: string | readonly string[] | undefined;
  /**
   * Called after every refresh, before the new access token is used, with the refresh token to keep from now on.
   * Persist it here: providers that rotate refresh tokens invalidate the old one.
   */
  onTokens?: ((tokens: OAuth2Tokens) => void | Promise<void>) | undefined;
}

/**
 * OAuth 2.0 refresh token grant. One refresh at a time: every call that finds the token expired (or gets a 401)
 * waits for the same refresh, and the next refresh starts only after it has stored the (possibly rotated)
 * refresh token, so a spent refresh token is never sent.
 */
export function oauth2RefreshToken(options: RefreshTokenOptions): OAuth2TokenProvider {
  checkEndpoint(options);
  requireString(options.refreshToken, 'refreshToken');
  if (options.accessToken !== undefined) requireString(options.accessToken, 'accessToken');
  const scope = scopeString(options.scope);
  const skewMs = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
  let refreshToken = options.refreshToken;
  const initial =
    options.accessToken === undefined
      ? undefined
      : {
          accessToken: options.accessToken,
          renewAt: options.expiresAt === undefined ? Number.POSITIVE_INFINITY : options.expiresAt - skewMs,
          stale: false,
        };
  const obtain = async () => {
    const tokens = await requestToken(
      options,
      { grant_type: 'refresh_token', refresh_token: refreshToken, scope },
      undefined,
      options.now,
    );
    refreshToken = tokens.refreshToken ?? refreshToken;
    return { ...tokens, refreshToken };
  };
  const { onTokens } = options;
  const save = async (tokens: OAuth2Tokens) => {
    try {
      await onTokens?.(tokens);
    } catch (error) {
      throw new IntegrationError('internal', 'onTokens failed after a token refresh; the new tokens were not saved', {
        provider: options.provider,
        cause: error,
      });
    }
  };
  return tokenProvider(options, initial, obtain, save);
}

export interface PkcePair {
  verifier: string;
  challenge: string;
  method: 'S256';
}

function webCrypto(): Crypto {
  const crypto = globalThis.crypto;
  if (!crypto?.subtle) throw new IntegrationError('internal', 'WebCrypto (globalThis.crypto.subtle) is not available');
  return crypto;
}

/** The S256 code challenge of a PKCE verifier: base64url(sha256(verifier)). */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await webCrypto().subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** A fresh PKCE verifier (`length` chars of base64url, within RFC 7636's 43–128) and its S256 challenge. */
export async function createPkcePair(length = 64): Promise<PkcePair> {
  if (!Number.isInteger(length) || length < 43 || length > 128) {
    throw new IntegrationError(
      'invalid_request',
      `PKCE verifier length must be an integer from 43 to 128, got ${length}`,
    );
  }
  // Every base64url character carries 6 uniformly random bits, so a prefix stays uniform.
  const bytes = webCrypto().getRandomValues(new Uint8Array(Math.ceil((length * 3) / 4)));
  const verifier = base64url(bytes).slice(0, length);
  return { verifier, challenge: await pkceChallenge(verifier), method: 'S256' };
}

export interface AuthorizeUrlOptions {
  authorizeUrl: string | URL;
  clientId: string;
  redirectUri: string;
  scope?: string | readonly string[] | undefined;
  /** Opaque value the callback must echo back (CSRF protection). */
  state: string;
  codeChallenge: string;
  /** Provider-specific parameters (e.g. `access_type: 'offline'`, `prompt`). */
  params?: Record<string, string> | undefined;
}

/** The authorization-code-with-PKCE URL to send the user to. Parameters already on `authorizeUrl` are kept. */
export function buildAuthorizeUrl(options: AuthorizeUrlOptions): string {
  const url = parseUrl(options.authorizeUrl, 'authorizeUrl');
  requireString(options.clientId, 'clientId');
  requireString(options.redirectUri, 'redirectUri');
  requireString(options.state, 'state');
  requireString(options.codeChallenge, 'codeChallenge');
  const scope = scopeString(options.scope);
  const params: Record<string, string | undefined> = {
    ...options.params,
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    scope,
    state: options.state,
    code_challenge: options.codeChallenge,
    code_challenge_method: 'S256',
  };
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.href;
}

export interface ExchangeCodeOptions extends TokenEndpointOptions {
  code: string;
  redirectUri: string;
  codeVerifier: string;
  signal?: AbortSignal | undefined;
}

/** Trades an authorization code (and its PKCE verifier) for tokens. */
export async function exchangeAuthorizationCode(options: ExchangeCodeOptions): Promise<OAuth2Tokens> {
  checkEndpoint(options);
  requireString(options.code, 'code');
  requireString(options.redirectUri, 'redirectUri');
  requireString(options.codeVerifier, 'codeVerifier');
  return requestToken(
    options,
    {
      grant_type: 'authorization_code',
      code: options.code,
      redirect_uri: options.redirectUri,
      code_verifier: options.codeVerifier,
    },
    options.signal,
  );
}
