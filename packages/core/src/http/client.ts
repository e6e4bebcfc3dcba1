import { IntegrationError } from '../errors.js';
import { VERSION } from '../version.js';
import type { AuthProvider } from './auth.js';
import { describeRequest, errorFromFailure, errorFromResponse } from './errors.js';

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue | readonly QueryValue[]>;

/** A body that can be sent twice (the client resends once after a 401), so no streams. */
export type RequestBody = string | Blob | ArrayBuffer | Uint8Array<ArrayBuffer> | URLSearchParams | FormData;

export interface RequestOptions {
  method?: string | undefined;
  /** Relative to `baseUrl` (`/users/42` → `<baseUrl>/users/42`), or an absolute URL on the same origin. */
  path: string;
  query?: Query | undefined;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: Query | URLSearchParams | undefined;
  /** Sent as is; set its content-type in `headers`. */
  body?: RequestBody | undefined;
  headers?: HeadersInit | undefined;
  signal?: AbortSignal | undefined;
}

export type MethodOptions = Omit<RequestOptions, 'method' | 'path'>;

/** The request as the client is about to send it. Hooks may change it; it already carries credentials. */
export interface HttpRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: RequestBody | undefined;
}

export interface HttpHooks {
  /** Runs after auth, before every attempt. Do not log `request.headers`: they hold credentials. */
  beforeRequest?(request: HttpRequest): void | Promise<void>;
  /** Sees every response before error mapping; may return a replacement. */
  afterResponse?(response: Response, request: HttpRequest): Response | undefined | Promise<Response | undefined>;
}

export interface HttpClientOptions {
  baseUrl: string | URL;
  /** Names the provider in errors (`spotify`). */
  provider: string;
  auth?: AuthProvider | undefined;
  headers?: HeadersInit | undefined;
  /** The connector's part of the user agent (`@integrations/spotify/0.1.0`); core's is appended. */
  userAgent?: string | undefined;
  /** Replaces global fetch (proxies, tests). */
  fetch?: typeof globalThis.fetch | undefined;
  hooks?: HttpHooks | undefined;
}

export interface HttpResponse<T> {
  data: T;
  status: number;
  headers: Headers;
  /** The URL asked for, before auth added anything to it. */
  url: URL;
}

export interface HttpClient {
  readonly baseUrl: URL;
  readonly provider: string;
  /** Sends a request and returns the parsed body (JSON when the response says so, text otherwise, undefined for 204). */
  request<T = unknown>(options: RequestOptions): Promise<T>;
  /** Like `request`, with the status and headers. */
  send<T = unknown>(options: RequestOptions): Promise<HttpResponse<T>>;
  /** The unread 2xx Response (downloads, streams). Non-2xx still throws. */
  raw(options: RequestOptions): Promise<Response>;
  get<T = unknown>(path: string, options?: MethodOptions): Promise<T>;
  post<T = unknown>(path: string, options?: MethodOptions): Promise<T>;
  put<T = unknown>(path: string, options?: MethodOptions): Promise<T>;
  patch<T = unknown>(path: string, options?: MethodOptions): Promise<T>;
  delete<T = unknown>(path: string, options?: MethodOptions): Promise<T>;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers whose values are credentials whoever set them. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];

function appendQuery(params: URLSearchParams, query: Query): void {
  for (const [key, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values as readonly QueryValue[]) if (v !== undefined && v !== null) params.append(key, String(v));
  }
}

const ABSOLUTE_URL = /^[a-z][a-z\d+.-]*:/i;

/** Everything that identifies a credential on the request, so error messages can strip it. */
function credentialsOf(request: HttpRequest, before: { headers: Headers; url: URL }): string[] {
  const secrets: string[] = [];
  request.headers.forEach((value, name) => {
    if (CREDENTIAL_HEADERS.includes(name) || before.headers.get(name) !== value) {
      secrets.push(value);
      // `Bearer abc` → also `abc`, in case the provider echoes the bare token.
      const space = value.indexOf(' ');
      if (space > 0) secrets.push(value.slice(space + 1));
    }
  });
  for (const [name, value] of request.url.searchParams) {
    if (!before.url.searchParams.getAll(name).includes(value)) secrets.push(value);
  }
  return secrets;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  let baseUrl: URL;
  try {
    baseUrl = new URL(options.baseUrl);
  } catch {
    throw new IntegrationError('invalid_config', `${options.provider} baseUrl is not an absolute URL`);
  }
  if (typeof options.provider !== 'string' || options.provider === '') {
    throw new IntegrationError('invalid_config', 'http client provider must be a non-empty string');
  }
  const { provider, auth, hooks } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const coreAgent = `@integrations/core/${VERSION}`;
  const userAgent = options.userAgent ? `${options.userAgent} ${coreAgent}` : coreAgent;
  const basePath = baseUrl.pathname.replace(/\/+$/, '');

  function resolveUrl(path: string, query: Query | undefined): URL {
    let url: URL;
    if (ABSOLUTE_URL.test(path)) {
      url = new URL(path);
      if (url.origin !== baseUrl.origin) {
        throw new IntegrationError(
          'invalid_request',
          `${provider} refuses to send credentials to ${url.origin}: requests must stay on ${baseUrl.origin}`,
          { provider },
        );
      }
    } else {
      url = new URL(baseUrl.origin);
      const mark = path.indexOf('?');
      const pathname = mark === -1 ? path : path.slice(0, mark);
      url.pathname = `${basePath}/${pathname.replace(/^\/+/, '')}`;
      if (mark !== -1) url.search = path.slice(mark + 1);
    }
    if (query) appendQuery(url.searchParams, query);
    return url;
  }

  function buildRequest(request: RequestOptions, url: URL): HttpRequest {
    const headers = new Headers({ accept: 'application/json', 'user-agent': userAgent });
    const copy = (value: string, name: string) => headers.set(name, value);
    new Headers(options.headers).forEach(copy);
    new Headers(request.headers).forEach(copy);
    const given = [request.json !== undefined, request.form !== undefined, request.body !== undefined];
    if (given.filter(Boolean).length > 1) {
      throw new IntegrationError('invalid_request', `${provider} request takes only one of json, form or body`, {
        provider,
      });
    }
    let body: RequestBody | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (request.form !== undefined) {
      const params = new URLSearchParams();
      if (request.form instanceof URLSearchParams) for (const [k, v] of request.form) params.append(k, v);
      else appendQuery(params, request.form);
      body = params.toString();
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    }
    return { method: (request.method ?? 'GET').toUpperCase(), url: new URL(url), headers, body };
  }

  /**
   * Sends one attempt, following redirects by hand: credentials go only to baseUrl's origin. A redirect
   * elsewhere (a download link on a CDN) is followed for GET/HEAD with a bare request.
   */
  async function transmit(request: HttpRequest, signal: AbortSignal | undefined): Promise<Response> {
    let { method, url, headers, body } = request;
    for (let hop = 0; ; hop++) {
      const response = await fetchImpl(url.href, { method, headers, body: body ?? null, signal, redirect: 'manual' });
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
      await discard(response);
      if (hop === MAX_REDIRECTS) {
        throw new IntegrationError('internal', `${provider} ${describeRequest(method, url)}: too many redirects`, {
          provider,
        });
      }
      const next = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      if (next.origin !== baseUrl.origin) {
        if (method !== 'GET' && method !== 'HEAD') {
          throw new IntegrationError(
            'invalid_request',
            `${provider} ${describeRequest(method, request.url)} redirected to ${next.origin}; not resending it there`,
            { provider },
          );
        }
        headers = new Headers({ accept: headers.get('accept') ?? '*/*', 'user-agent': userAgent });
      }
      url = next;
    }
  }

  /** Returns the response, the request as sent, and the URL before auth touched it (safe to show). */
  async function execute(request: RequestOptions): Promise<{ response: Response; sent: HttpRequest; url: URL }> {
    const { signal } = request;
    let secrets: string[] = [];
    let what = `${(request.method ?? 'GET').toUpperCase()} ${request.path.split('?')[0]}`;
    try {
      const url = resolveUrl(request.path, request.query);
      let retriedAuth = false;
      for (;;) {
        const prepared = buildRequest(request, url);
        what = describeRequest(prepared.method, prepared.url);
        signal?.throwIfAborted();
        const before = { headers: new Headers(prepared.headers), url: new URL(prepared.url) };
        await auth?.authorize(prepared, signal);
        await hooks?.beforeRequest?.(prepared);
        secrets = credentialsOf(prepared, before);
        let response = await transmit(prepared, signal);
        response = (await hooks?.afterResponse?.(response, prepared)) ?? response;
        if (response.status === 401 && auth?.onUnauthorized && !retriedAuth) {
          retriedAuth = true;
          await discard(response);
          await auth.onUnauthorized(prepared, signal);
          continue;
        }
        if (!response.ok && response.status !== 304) {
          throw await errorFromResponse(response, { provider, method: prepared.method, url: prepared.url, secrets });
        }
        return { response, sent: prepared, url };
      }
    } catch (error) {
      throw errorFromFailure(error, { provider, what, signal, secrets });
    }
  }

  async function send<T>(request: RequestOptions): Promise<HttpResponse<T>> {
    const { response, sent, url } = await execute(request);
    const what = describeRequest(sent.method, url);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw errorFromFailure(error, { provider, what, signal: request.signal });
    }
    const result = { status: response.status, headers: response.headers, url };
    const contentType = response.headers.get('content-type')?.toLowerCase() ?? '';
    if (response.status === 204 || response.status === 205 || response.status === 304 || text === '') {
      return { ...result, data: undefined as T };
    }
    if (!contentType.includes('json')) return { ...result, data: text as T };
    try {
      return { ...result, data: JSON.parse(text) as T };
    } catch (error) {
      throw new IntegrationError('internal', `${provider} ${what} answered ${response.status} with invalid JSON`, {
        provider,
        status: response.status,
        cause: error,
      });
    }
  }

  const request = async <T>(o: RequestOptions): Promise<T> => (await send<T>(o)).data;
  const method =
    (name: string) =>
    <T = unknown>(path: string, o: MethodOptions = {}) =>
      request<T>({ ...o, method: name, path });

  return {
    baseUrl,
    provider,
    request,
    send,
    raw: async (o) => (await execute(o)).response,
    get: method('GET'),
    post: method('POST'),
    put: method('PUT'),
    patch: method('PATCH'),
    delete: method('DELETE'),
  };
}
