import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Client } from '@sendgrid/client';
import type { ClientRequest } from '@sendgrid/client/src/request';

interface Exchange {
  signal: AbortSignal;
  /** Set once the SDK builds the HTTP request: an error before that is the SDK refusing the input. */
  sent: boolean;
}

/**
 * The SDK takes no AbortSignal. Each attempt runs inside `inAttempt`: the client reads the attempt's signal from
 * async context (so a timeout or abort closes the socket) and notes whether a request went out at all.
 */
const current = new AsyncLocalStorage<Exchange>();
const unsent = new WeakSet<object>();

/** True for an error the SDK threw before sending anything (its own check of the mail it was given). */
export function neverSent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && unsent.has(error);
}

export async function inAttempt<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  const exchange: Exchange = { signal, sent: false };
  try {
    return await current.run(exchange, run);
  } catch (error) {
    if (!exchange.sent && typeof error === 'object' && error !== null) unsent.add(error);
    throw error;
  }
}

/**
 * `@sendgrid/client` pointed at `apiBaseUrl`, with its own connection pools (released by `close`) and the attempt's
 * AbortSignal on every request. `@sendgrid/mail` builds its own Client, so the connector hands it this one.
 */
export class ConnectorClient extends Client {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(apiKey: string, apiBaseUrl: string, userAgent: string) {
    super();
    this.setApiKey(apiKey);
    // setApiKey() resets baseUrl to the region's host: ours goes after it.
    this.setDefaultRequest('baseUrl', apiBaseUrl);
    this.setDefaultRequest({ httpAgent: this.httpAgent, httpsAgent: this.httpsAgent } as unknown as ClientRequest);
    const sdkAgent = (this as unknown as { defaultHeaders: Record<string, string> }).defaultHeaders['User-Agent'];
    this.setDefaultHeader('User-Agent', sdkAgent ? `${sdkAgent} ${userAgent}` : userAgent);
  }

  override createRequest(data: ClientRequest): ClientRequest {
    const options = super.createRequest(data) as ClientRequest & { signal?: AbortSignal };
    const exchange = current.getStore();
    if (exchange) {
      exchange.sent = true;
      options.signal = exchange.signal;
    }
    return options;
  }

  /** Closes every pooled socket. Safe to call twice. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
