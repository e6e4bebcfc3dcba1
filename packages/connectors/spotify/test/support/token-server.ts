import { createHash, randomBytes } from 'node:crypto';
import { createFakeServer, type FakeRequest, type FakeResponse } from '@integrations/testkit';

/**
 * A small OAuth 2.0 authorization server (RFC 6749 + RFC 7636) on 127.0.0.1, standing in for
 * accounts.spotify.com, whose token endpoint is not in Spotify's OpenAPI description. It authenticates clients
 * (HTTP Basic or form fields), issues access tokens for the client credentials grant, trades PKCE-checked
 * authorization codes for tokens, and rotates refresh tokens: a spent or revoked refresh token is refused with
 * `invalid_grant`, as Spotify does.
 */
export interface TokenServerOptions {
  /** Client id → secret; null for a public client (PKCE, no secret). */
  clients?: Record<string, string | null>;
  /** Issue a new refresh token on every refresh and refuse the old one from then on. Default true. */
  rotateRefreshTokens?: boolean;
  /** Access token lifetime in seconds. Default 3600, like Spotify. */
  expiresIn?: number;
}

export interface TokenRequestRecord {
  grantType: string;
  clientId: string | undefined;
  /** How the client authenticated. */
  clientAuth: 'basic' | 'body' | 'none';
  refreshToken?: string | undefined;
  /** The status the server answered with. */
  status: number;
  error?: string | undefined;
}

export interface TokenServer {
  readonly url: string;
  readonly tokenUrl: string;
  readonly authorizeUrl: string;
  /** Every token request, in arrival order. */
  readonly requests: readonly TokenRequestRecord[];
  /** Access tokens issued so far. */
  readonly accessTokens: ReadonlySet<string>;
  addClient(clientId: string, secret: string | null): void;
  /** A refresh token as if `clientId`'s user had authorized the app earlier. */
  issueRefreshToken(clientId: string, scope?: string): string;
  /** The user revoked the app: the refresh token stops working. */
  revoke(refreshToken: string): void;
  /** Holds token responses until `release()`, so concurrent callers pile up behind one request. */
  hold(): void;
  release(): void;
  reset(): void;
  stop(): Promise<void>;
}

type ClientCheck = { failure: FakeResponse } | { clientId: string; confidential: boolean };

interface RefreshRecord {
  clientId: string;
  scope: string;
  state: 'active' | 'rotated' | 'revoked';
}

interface CodeRecord {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  used: boolean;
}

const token = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
/** RFC 6749 §2.3.1: Basic credentials are form-encoded before base64. */
const formDecode = (value: string) => new URLSearchParams(`v=${value}`).get('v') ?? '';

function oauthError(status: number, error: string, description: string, extra: Record<string, string> = {}) {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close', ...extra },
    body: JSON.stringify({ error, error_description: description }),
  } satisfies FakeResponse;
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const clients = new Map<string, string | null>(Object.entries(options.clients ?? {}));
  const rotate = options.rotateRefreshTokens ?? true;
  const expiresIn = options.expiresIn ?? 3600;
  const refreshTokens = new Map<string, RefreshRecord>();
  const codes = new Map<string, CodeRecord>();
  const accessTokens = new Set<string>();
  let requests: TokenRequestRecord[] = [];
  let gate: { promise: Promise<void>; open: () => void } | undefined;

  function issueRefreshToken(clientId: string, scope = ''): string {
    const value = token('rt_');
    refreshTokens.set(value, { clientId, scope, state: 'active' });
    return value;
  }

  function tokens(scope: string, refreshToken?: string): FakeResponse {
    const accessToken = token('at_');
    accessTokens.add(accessToken);
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope,
    };
    if (refreshToken) body.refresh_token = refreshToken;
    return {
      status: 200,
      // A fresh connection per token request: nothing pooled outlives the exchange in tests that count sockets.
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' },
      body: JSON.stringify(body),
    };
  }

  /** Who is asking, or the 401 for a client that failed to authenticate. */
  function authenticate(request: FakeRequest, form: URLSearchParams, record: TokenRequestRecord): ClientCheck {
    const header = request.headers.authorization;
    let clientId: string | undefined;
    let secret: string | undefined;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
      record.clientAuth = 'basic';
      if (form.has('client_secret')) {
        return { failure: oauthError(400, 'invalid_request', 'use one client authentication method') };
      }
    } else {
      clientId = form.get('client_id') ?? undefined;
      secret = form.get('client_secret') ?? undefined;
      record.clientAuth = secret === undefined ? 'none' : 'body';
    }
    record.clientId = clientId;
    const known = clientId === undefined ? undefined : clients.get(clientId);
    if (clientId === undefined || known === undefined) {
      return { failure: oauthError(401, 'invalid_client', 'Invalid client', { 'www-authenticate': 'Basic' }) };
    }
    if (known === null ? secret !== undefined : secret !== known) {
      return { failure: oauthError(401, 'invalid_client', 'Invalid client secret', { 'www-authenticate': 'Basic' }) };
    }
    return { clientId, confidential: known !== null };
  }

  function grant(request: FakeRequest, record: TokenRequestRecord): FakeResponse {
    if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(request.text());
    record.grantType = form.get('grant_type') ?? '';
    const client = authenticate(request, form, record);
    if ('failure' in client) return client.failure;
    switch (record.grantType) {
      case 'client_credentials':
        if (!client.confidential) return oauthError(400, 'unauthorized_client', 'public clients cannot use this grant');
        return tokens('');
      case 'refresh_token': {
        const presented = form.get('refresh_token') ?? '';
        record.refreshToken = presented;
        const stored = refreshTokens.get(presented);
        if (!stored || stored.clientId !== client.clientId) {
          return oauthError(400, 'invalid_grant', 'Invalid refresh token');
        }
        if (stored.state !== 'active') return oauthError(400, 'invalid_grant', 'Refresh token revoked');
        if (!rotate) return tokens(stored.scope);
        stored.state = 'rotated';
        return tokens(stored.scope, issueRefreshToken(client.clientId, stored.scope));
      }
      case 'authorization_code': {
        const code = codes.get(form.get('code') ?? '');
        if (!code || code.used || code.clientId !== client.clientId) {
          return oauthError(400, 'invalid_grant', 'Invalid authorization code');
        }
        code.used = true;
        if (form.get('redirect_uri') !== code.redirectUri) {
          return oauthError(400, 'invalid_grant', 'Invalid redirect URI');
        }
        if (s256(form.get('code_verifier') ?? '') !== code.challenge) {
          return oauthError(400, 'invalid_grant', 'code_verifier was incorrect');
        }
        return tokens(code.scope, issueRefreshToken(client.clientId, code.scope));
      }
      default:
        return oauthError(400, 'unsupported_grant_type', `grant_type ${record.grantType || '(missing)'}`);
    }
  }

  const server = await createFakeServer({
    'POST /api/token': async (request) => {
      const record: TokenRequestRecord = { grantType: '', clientId: undefined, clientAuth: 'none', status: 0 };
      requests.push(record);
      if (gate) await gate.promise;
      const answer = grant(request, record);
      record.status = answer.status;
      if (answer.status !== 200) record.error = (JSON.parse(String(answer.body)) as { error: string }).error;
      return answer;
    },
    // The user approves at once: redirect back with a code bound to the client, redirect URI and PKCE challenge.
    'GET /authorize': (request) => {
      const q = request.query;
      const clientId = q.get('client_id') ?? '';
      const redirectUri = q.get('redirect_uri') ?? '';
      if (!clients.has(clientId)) return oauthError(400, 'invalid_client', 'INVALID_CLIENT: Invalid client');
      if (!URL.canParse(redirectUri)) return oauthError(400, 'invalid_request', 'INVALID_CLIENT: Invalid redirect URI');
      const back = new URL(redirectUri);
      const state = q.get('state');
      if (state !== null) back.searchParams.set('state', state);
      const challenge = q.get('code_challenge');
      if (q.get('response_type') !== 'code') {
        back.searchParams.set('error', 'unsupported_response_type');
      } else if (!challenge || q.get('code_challenge_method') !== 'S256') {
        back.searchParams.set('error', 'invalid_request');
      } else {
        const code = token('code_');
        codes.set(code, { clientId, redirectUri, challenge, scope: q.get('scope') ?? '', used: false });
        back.searchParams.set('code', code);
      }
      return { status: 302, headers: { location: back.href, connection: 'close' }, body: '' };
    },
  });

  return {
    url: server.url,
    tokenUrl: `${server.url}/api/token`,
    authorizeUrl: `${server.url}/authorize`,
    get requests() {
      return requests;
    },
    accessTokens,
    addClient(clientId, secret) {
      clients.set(clientId, secret);
    },
    issueRefreshToken,
    revoke(refreshToken) {
      const stored = refreshTokens.get(refreshToken);
      if (stored) stored.state = 'revoked';
    },
    hold() {
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
    reset() {
      requests = [];
    },
    stop: () => {
      gate?.open();
      return server.stop();
    },
  };
}
