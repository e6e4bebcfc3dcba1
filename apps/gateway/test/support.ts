/**
 * What the gateway tests share: a small connector over a real node:http stand-in (for tests about the gateway
 * itself rather than a provider), config files written to a temp dir, and a gateway built from them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ConnectorLookup } from '@integrations/config';
import {
  type CallOptions,
  configSchema,
  defineConnector,
  field,
  IntegrationError,
  kindFromNetworkError,
  kindFromStatus,
} from '@integrations/core';
import { createGateway, type Gateway, loadGatewayConfig } from '../src/index.js';

export type ProbeMode = 'ok' | 'down' | 'slow';

/** A provider stand-in: answers /health and /ping, or 503 (echoing the caller's Authorization header) when down. */
export interface ProbeServer {
  readonly url: string;
  mode: ProbeMode;
  slowMs: number;
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startProbeServer(): Promise<ProbeServer> {
  const state: { mode: ProbeMode; slowMs: number; requests: string[] } = { mode: 'ok', slowMs: 1000, requests: [] };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests.push(`${req.method} ${req.url}`);
    const answer = () => {
      if (state.mode === 'down') {
        // A careless provider error that repeats the credential: the gateway must never show it.
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `service unavailable for ${req.headers.authorization ?? 'anonymous'}` }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    };
    if (state.mode === 'slow') setTimeout(answer, state.slowMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: ProbeMode) {
      state.mode = mode;
    },
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(ms: number) {
      state.slowMs = ms;
    },
    requests: state.requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The connector the tests register: `ping` (idempotent), `charge` (not) and `pages` (paged), through ctx.call. */
export const probe = defineConnector({
  id: 'probe',
  displayName: 'Probe',
  type: 'external_api',
  category: 'testing',
  version: '1.0.0',
  config: configSchema({ baseUrl: field.url(), token: field.secret({ minLength: 8 }) }),
  operations: { ping: { idempotent: true }, charge: { idempotent: false }, pages: { idempotent: true } },
  mapError(error) {
    if (IntegrationError.isInstance(error)) return error;
    return new IntegrationError(kindFromNetworkError(error) ?? 'internal', String((error as Error)?.message ?? error), {
      cause: error,
    });
  },
  create(config, ctx) {
    const get = async (path: string, signal?: AbortSignal) => {
      const response = await fetch(`${config.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${config.token}` },
        signal: signal ?? null,
      });
      const text = await response.text();
      if (!response.ok) {
        throw new IntegrationError(kindFromStatus(response.status), `probe answered ${response.status}: ${text}`, {
          status: response.status,
        });
      }
      return JSON.parse(text) as { ok: boolean };
    };
    return {
      client: { baseUrl: config.baseUrl },
      healthCheck: async ({ signal }: { signal: AbortSignal }) => ({ answered: (await get('/health', signal)).ok }),
      ping: (options?: CallOptions) => ctx.call('ping', (scope) => get('/ping', scope.signal), options),
      charge: (options?: CallOptions) => ctx.call('charge', (scope) => get('/charge', scope.signal), options),
      /** `count` results, fetched one page (request) at a time, like an SDK's auto-paginating list. */
      pages: async function* (count: number) {
        for (let page = 1; page <= count; page++) {
          yield await ctx.call('pages', (scope) => get(`/pages/${page}`, scope.signal));
        }
      },
    };
  },
});

export interface TempDir {
  path: string;
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'gateway-test-'));
  return {
    path,
    async write(name, text) {
      const file = join(path, name);
      await writeFile(file, text);
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

/** Collects the gateway's JSON log lines. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export async function gatewayFrom(
  file: string,
  options: {
    env?: Record<string, string>;
    connectors?: ConnectorLookup;
    logs?: LogSink;
    demoApiKey?: string;
  } = {},
): Promise<Gateway> {
  const config = await loadGatewayConfig({
    file,
    environment: 'test',
    env: options.env ?? {},
    ...(options.connectors ? { connectors: options.connectors } : {}),
  });
  return createGateway({
    config,
    logger: options.logs ? { level: 'debug', stream: options.logs } : false,
    demoApiKey: options.demoApiKey,
  });
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
