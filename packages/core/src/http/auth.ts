import { IntegrationError } from '../errors.js';

/** The parts of an outgoing request an auth provider may change. */
export interface AuthRequest {
  readonly headers: Headers;
  readonly url: URL;
}

/**
 * Puts credentials on a request. The client calls `authorize` before every attempt; on a 401 it calls
 * `onUnauthorized` with the rejected request (so a provider can tell whether its credentials already changed),
 * then authorizes and sends the request once more.
 */
export interface AuthProvider {
  authorize(request: AuthRequest, signal?: AbortSignal): void | Promise<void>;
  onUnauthorized?(rejected: AuthRequest, signal?: AbortSignal): void | Promise<void>;
}

/** A credential, or a function that returns the current one (read at every request). */
export type Secret = string | (() => string | Promise<string>);

async function resolveSecret(secret: Secret, what: string): Promise<string> {
  const value = typeof secret === 'function' ? await secret() : secret;
  if (typeof value !== 'string' || value === '') {
    throw new IntegrationError('invalid_config', `${what} is empty`, { retryable: false });
  }
  return value;
}

function requireSecret(secret: Secret, what: string): void {
  if (typeof secret !== 'function' && (typeof secret !== 'string' || secret === '')) {
    throw new IntegrationError('invalid_config', `${what} must be a non-empty string or a function`);
  }
}

export type ApiKeyOptions = { value: Secret } & ({ header: string; query?: never } | { query: string; header?: never });

/** An API key in a header (`{ header: 'X-Api-Key', value }`) or a query parameter (`{ query: 'api_key', value }`). */
export function apiKey(options: ApiKeyOptions): AuthProvider {
  const { header, query, value } = options;
  if ((header === undefined) === (query === undefined) || (header ?? query) === '') {
    throw new IntegrationError('invalid_config', 'apiKey needs exactly one of `header` or `query`');
  }
  requireSecret(value, 'apiKey value');
  return {
    async authorize(request) {
      const key = await resolveSecret(value, 'apiKey value');
      if (header !== undefined) request.headers.set(header, key);
      else request.url.searchParams.set(query as string, key);
    },
  };
}

/** `Authorization: Bearer <token>`. Pass a function to supply a token that changes (read at every request). */
export function bearer(token: Secret): AuthProvider {
  requireSecret(token, 'bearer token');
  return {
    async authorize(request) {
      request.headers.set('authorization', `Bearer ${await resolveSecret(token, 'bearer token')}`);
    },
  };
}

/** Base64 of raw bytes; btoa alone only takes Latin-1. */
export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The value of an `Authorization: Basic` header (RFC 7617, UTF-8). */
export function basicCredentials(user: string, password: string): string {
  return `Basic ${base64(new TextEncoder().encode(`${user}:${password}`))}`;
}

/** HTTP Basic authentication. */
export function basic(user: string, password: string): AuthProvider {
  if (typeof user !== 'string' || user === '' || user.includes(':')) {
    throw new IntegrationError('invalid_config', 'basic auth user must be a non-empty string without ":"');
  }
  if (typeof password !== 'string')
    throw new IntegrationError('invalid_config', 'basic auth password must be a string');
  const value = basicCredentials(user, password);
  return {
    authorize(request) {
      request.headers.set('authorization', value);
    },
  };
}
