import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StandIn } from './process.js';

export interface FakeRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  /** Values of the route's `:name` segments (and `*` for a trailing wildcard). */
  params: Record<string, string>;
  /** Lower-case names. */
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; throws on invalid JSON (the fake answers 500 with the message). */
  json<T = unknown>(): T;
}

export interface FakeResponse {
  status: number;
  headers?: OutgoingHttpHeaders | undefined;
  body?: string | Uint8Array | undefined;
}

export type FakeHandler = (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;

/** `'GET /accounts/:id'` → handler or fixed response. The method may be `*`; a path may end in `/*`. */
export type FakeRoutes = Record<string, FakeHandler | FakeResponse>;

export interface FakeServer extends StandIn {
  readonly port: number;
  /** Every request received since the last reset. */
  readonly requests: readonly FakeRequest[];
  /** Adds or replaces a route while running. */
  route(key: string, handler: FakeHandler | FakeResponse): void;
  /** Forgets recorded requests. */
  reset(): void;
}

type Init = { status?: number; headers?: OutgoingHttpHeaders };

/** A JSON response (status 200 unless given). */
export function json(body: unknown, init: Init = {}): FakeResponse {
  return {
    status: init.status ?? 200,
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
  };
}

/** A plain-text response (status 200 unless given). */
export function text(body: string, init: Init = {}): FakeResponse {
  return {
    status: init.status ?? 200,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...init.headers },
    body,
  };
}

/** An empty response with this status. */
export function status(code: number, init: Omit<Init, 'status'> = {}): FakeResponse {
  return { status: code, headers: init.headers, body: '' };
}

interface CompiledRoute {
  key: string;
  method: string;
  pattern: RegExp;
  names: string[];
  handler: FakeHandler | FakeResponse;
}

function compile(key: string, handler: FakeHandler | FakeResponse): CompiledRoute {
  const match = /^(\S+)\s+(\/\S*)$/.exec(key.trim());
  if (!match) throw new TypeError(`fake route "${key}" must look like "GET /path/:param"`);
  const [, method = '', path = ''] = match;
  const names: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') {
        names.push('*');
        return '(.*)';
      }
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { key, method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), names, handler };
}

/**
 * A tiny HTTP server for in-repo fakes and test stand-ins, on 127.0.0.1 (a free port unless given).
 * Unknown routes answer 404 naming the request; a throwing handler answers 500 with its message.
 */
export async function createFakeServer(routes: FakeRoutes, options: { port?: number } = {}): Promise<FakeServer> {
  const table: CompiledRoute[] = Object.entries(routes).map(([key, handler]) => compile(key, handler));
  let requests: FakeRequest[] = [];

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = Buffer.concat(chunks);
    let answer: FakeResponse;
    const route = table.find((r) => (r.method === '*' || r.method === method) && r.pattern.test(url.pathname));
    const params: Record<string, string> = {};
    if (route) {
      const values = route.pattern.exec(url.pathname)?.slice(1) ?? [];
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(values[i] ?? '');
      });
    }
    const request: FakeRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      params,
      headers: req.headers,
      body,
      text: () => body.toString('utf8'),
      json: <T>() => JSON.parse(body.toString('utf8')) as T,
    };
    requests.push(request);
    try {
      if (!route) answer = json({ error: `no fake route for ${method} ${url.pathname}` }, { status: 404 });
      else answer = typeof route.handler === 'function' ? await route.handler(request) : route.handler;
    } catch (error) {
      answer = json({ error: error instanceof Error ? error.message : String(error) }, { status: 500 });
    }
    const payload = answer.body ?? '';
    res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    route(key, handler) {
      const compiled = compile(key, handler);
      const index = table.findIndex((r) => r.key === key);
      if (index === -1) table.unshift(compiled);
      else table[index] = compiled;
    },
    reset() {
      requests = [];
    },
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
