import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does to one request. */
export type Fault =
  | { type: 'pass' }
  /** Wait, then forward. */
  | { type: 'latency'; ms: number }
  /** Drop the connection with a TCP reset before answering. */
  | { type: 'reset' }
  /** Never answer; the request is released only when the proxy closes. */
  | { type: 'hang' }
  /** Answer with this status instead of forwarding. Without a body, the proxy's `errorResponse` shapes it. */
  | {
      type: 'status';
      status: number;
      headers?: Record<string, string> | undefined;
      body?: string | undefined;
      contentType?: string | undefined;
    }
  /** Forward, send the stand-in's headers with the full content-length, then cut the body after `bytes`. */
  | { type: 'truncate'; bytes?: number | undefined };

export type FaultType = Fault['type'];

/** Builders for faults, so a script reads like the scenario: `proxy.script(faults.status(503), faults.pass())`. */
export const faults = {
  pass: (): Fault => ({ type: 'pass' }),
  latency: (ms: number): Fault => ({ type: 'latency', ms }),
  reset: (): Fault => ({ type: 'reset' }),
  hang: (): Fault => ({ type: 'hang' }),
  status: (
    status: number,
    options: { headers?: Record<string, string>; body?: string; contentType?: string } = {},
  ): Fault => ({ type: 'status', status, ...options }),
  truncate: (bytes?: number): Fault => ({ type: 'truncate', bytes }),
  /** The same fault `count` times: `proxy.script(...faults.times(2, faults.status(503)))`. */
  times: (count: number, fault: Fault): Fault[] => Array.from({ length: count }, () => fault),
};

/** A provider-shaped error body for an injected status, so the SDK parses it like the real provider's. */
export interface ErrorResponse {
  contentType: string;
  body: string;
  headers?: Record<string, string> | undefined;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  /** Lower-case names, as Node parses them. */
  headers: IncomingHttpHeaders;
  /** The fault applied to this request. */
  fault: FaultType;
  /** True when the client hung up before the proxy finished answering (an abort or a client-side timeout). */
  clientClosed: boolean;
}

export interface FaultProxyOptions {
  /** The stand-in's base URL (`http://127.0.0.1:4010`); only its origin is used. */
  target: string;
  /** Body for injected statuses that do not bring their own. Defaults to a small JSON error. */
  errorResponse?: ((status: number) => ErrorResponse) | undefined;
  /**
   * How long an idle client connection is kept open (announced as `Keep-Alive: timeout=`). Default 1000 ms, so
   * pooled sockets drain soon after a client stops; make it long to see whether a client closes its pool itself.
   */
  keepAliveTimeoutMs?: number | undefined;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the client here. */
  readonly url: string;
  readonly port: number;
  /** Every request seen since the last reset, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /**
   * Queues faults for the next requests, one each, in order; requests after the last one pass through.
   * Replaces any script still queued. `script(faults.status(503), faults.status(503))` fails the next two.
   */
  script(...steps: (Fault | Fault[])[]): void;
  /** Faults still queued. */
  readonly pending: number;
  /** Client connections open right now (idle keep-alive ones included). */
  readonly connections: number;
  /** Clears the script and the recorded requests, and releases hung requests. */
  reset(): void;
  /** Stops listening and destroys every open socket, so no handle outlives the proxy. */
  close(): Promise<void>;
}

// Hop-by-hop headers describe one connection and are not forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function defaultErrorResponse(status: number): ErrorResponse {
  return {
    contentType: 'application/json',
    body: JSON.stringify({ error: { status, message: REASONS[status] ?? `status ${status}` } }),
  };
}

/**
 * An HTTP proxy on 127.0.0.1 that forwards to a stand-in and injects faults on request. It streams bodies,
 * keeps idle client connections only briefly unless told otherwise (so pooled sockets drain quickly after a client
 * closes), and opens a fresh upstream connection per request so upstream sockets never outlive the exchange.
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:') {
    throw new TypeError(`createFaultProxy: target must be an http:// URL, received ${options.target}`);
  }
  const errorResponse = options.errorResponse ?? defaultErrorResponse;
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 1000;
  if (!Number.isInteger(keepAliveTimeoutMs) || keepAliveTimeoutMs < 1000) {
    throw new TypeError(
      `createFaultProxy: keepAliveTimeoutMs must be a whole number of milliseconds, at least 1000; received ${keepAliveTimeoutMs}`,
    );
  }

  let queue: Fault[] = [];
  let requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const server: Server = createServer((req, res) => {
    const fault = queue.shift() ?? faults.pass();
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      fault: fault.type,
      clientClosed: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosed = true;
      hung.delete(res);
    });
    handle(fault, req, res);
  });
  // Short idle keep-alive by default: clients with a pool (undici, keep-alive agents) read the announced timeout
  // and drop idle sockets at once, so a connection left over measures the connector, not the proxy's patience.
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function drain(req: IncomingMessage, then: () => void): void {
    req.resume();
    if (req.readableEnded) then();
    else req.once('end', then);
  }

  function handle(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
    switch (fault.type) {
      case 'pass':
        forward(req, res);
        return;
      case 'latency':
        later(fault.ms, () => (closed ? res.destroy() : forward(req, res)));
        return;
      case 'reset': {
        const socket = req.socket;
        // resetAndDestroy sends an RST, which clients report as ECONNRESET rather than a clean close.
        if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else socket.destroy();
        return;
      }
      case 'hang':
        hung.add(res);
        req.resume();
        return;
      case 'status':
        drain(req, () => {
          const shaped = fault.body === undefined ? errorResponse(fault.status) : undefined;
          const body = fault.body ?? shaped?.body ?? '';
          const headers: OutgoingHttpHeaders = {
            'content-type': fault.contentType ?? shaped?.contentType ?? 'application/json',
            ...shaped?.headers,
            ...fault.headers,
            'content-length': Buffer.byteLength(body),
          };
          res.writeHead(fault.status, headers);
          res.end(body);
        });
        return;
      case 'truncate':
        forward(req, res, { bytes: fault.bytes });
        return;
    }
  }

  /** Forwards to the stand-in; with `truncate`, cuts the response body short after the headers. */
  function forward(req: IncomingMessage, res: ServerResponse, truncate?: { bytes?: number | undefined }): void {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port || 80,
        method: req.method,
        path: req.url,
        headers: endToEnd(req.headers),
        // One connection per exchange: nothing pooled upstream outlives the request.
        agent: false,
      },
      (answer) => {
        if (!truncate) {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const full = Buffer.concat(chunks);
          // An empty body still promises bytes, so the client sees a short read either way.
          const length = Math.max(full.length, 16);
          const cut = Math.min(truncate.bytes ?? Math.floor(full.length / 2), Math.max(full.length - 1, 0));
          res.writeHead(answer.statusCode ?? 200, answer.statusMessage, {
            ...endToEnd(answer.headers),
            'content-length': length,
          });
          res.write(full.subarray(0, cut), () => {
            res.socket?.destroy();
          });
        });
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({
        error: { status: 502, message: `fault proxy: upstream failed: ${error.message}` },
      });
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    // The client gave up: stop the upstream exchange too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function releaseHung(): void {
    for (const res of hung) res.destroy();
    hung.clear();
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get pending() {
      return queue.length;
    },
    get connections() {
      return sockets.size;
    },
    script(...steps) {
      queue = steps.flat();
    },
    reset() {
      queue = [];
      requests = [];
      releaseHung();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      releaseHung();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await stopped;
    },
  };
}
