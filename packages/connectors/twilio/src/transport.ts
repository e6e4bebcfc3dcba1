import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import twilioSdk from 'twilio';
import type BaseRequestClient from 'twilio/lib/base/RequestClient';

/** The production API host. Edge and region variants (`api.sydney.au1.twilio.com`) are the same API. */
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

/** An HTTP answer the SDK turned into an exception, kept for errors.ts (the SDK drops headers and raw bodies). */
export interface RawResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: unknown;
}

interface Exchange {
  signal: AbortSignal;
  response?: RawResponse | undefined;
}

/**
 * The SDK takes no AbortSignal and keeps no response on its errors. Each attempt runs inside `inAttempt`: the
 * request client reads the attempt's signal from async context (so a timeout or abort closes the socket), and
 * records a failed response, which is then tied to the error the SDK throws for it.
 */
const current = new AsyncLocalStorage<Exchange>();
const responses = new WeakMap<object, RawResponse>();

/** The HTTP response behind an SDK error, when there was one. */
export function responseOf(error: unknown): RawResponse | undefined {
  return typeof error === 'object' && error !== null ? responses.get(error) : undefined;
}

export async function inAttempt<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  const exchange: Exchange = { signal };
  try {
    return await current.run(exchange, run);
  } catch (error) {
    if (exchange.response && typeof error === 'object' && error !== null) responses.set(error, exchange.response);
    throw error;
  }
}

function isTwilioApiHost(hostname: string): boolean {
  return hostname === 'api.twilio.com' || (hostname.startsWith('api.') && hostname.endsWith('.twilio.com'));
}

/**
 * The SDK's own request client (axios, form bodies, basic auth), with three changes: requests for the REST API
 * go to `apiBaseUrl` (the SDK has no base-URL option), each request carries the attempt's AbortSignal, and the
 * sockets live in agents of our own so `close()` can release them.
 */
export class ConnectorRequestClient extends twilioSdk.RequestClient {
  private readonly base: URL | undefined;
  private readonly plainAgent = new HttpAgent({ keepAlive: true });

  constructor(apiBaseUrl: string) {
    // The SDK's 429 retries are off (the default, stated here): core's pipeline is the only retry layer.
    super({ autoRetry: false, maxRetries: 0, keepAlive: true });
    const base = new URL(apiBaseUrl);
    this.base = base.href === new URL(TWILIO_API_BASE_URL).href ? undefined : base;
    // Without this, http:// targets would share Node's global agent, which close() must not destroy.
    this.axios.defaults.httpAgent = this.plainAgent;
    this.axios.interceptors.request.use((config) => {
      const exchange = current.getStore();
      if (exchange) config.signal = exchange.signal;
      return config;
    });
  }

  override async request<TData>(opts: BaseRequestClient.RequestOptions<TData>) {
    const response = await super.request({ ...opts, uri: this.rewrite(opts.uri) });
    if (response.statusCode >= 400) {
      const exchange = current.getStore();
      if (exchange) {
        exchange.response = {
          statusCode: response.statusCode,
          headers: (response.headers ?? {}) as Record<string, unknown>,
          body: response.body,
        };
      }
    }
    return response;
  }

  private rewrite(uri: string): string {
    if (!this.base) return uri;
    const url = new URL(uri);
    if (!isTwilioApiHost(url.hostname)) return uri;
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${prefix}${url.pathname}${url.search}`;
  }

  /** Closes every pooled socket. Safe to call twice. */
  close(): void {
    this.plainAgent.destroy();
    (this.axios.defaults.httpsAgent as HttpsAgent | undefined)?.destroy?.();
  }
}
