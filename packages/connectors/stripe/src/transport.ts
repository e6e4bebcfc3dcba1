import { AsyncLocalStorage } from 'node:async_hooks';
import Stripe from 'stripe';
import { Agent, fetch as undiciFetch } from 'undici';

/**
 * stripe-node takes no AbortSignal per request. The attempt's signal travels in async context instead: the
 * connector runs each SDK call inside `withSignal`, and the SDK's fetch-based HTTP client picks the signal up
 * for the request it sends, so a timeout or an abort closes the socket instead of leaving it to finish.
 */
const attemptSignal = new AsyncLocalStorage<AbortSignal>();

export function withSignal<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  return attemptSignal.run(signal, run);
}

export interface StripeTransport {
  readonly httpClient: ReturnType<typeof Stripe.createFetchHttpClient>;
  /** Closes every connection the transport opened, aborting any request still in flight. */
  close(): Promise<void>;
}

/**
 * The SDK's fetch-based client over a connection pool of this integration's own: global fetch's pool is shared
 * by the whole process and cannot be closed, so its idle keep-alive sockets would outlive `close()`.
 */
export function createTransport(): StripeTransport {
  const agent = new Agent();
  const send = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = attemptSignal.getStore();
    // The SDK's own timeout signal stays in force beside the attempt's.
    const combined = signal && init?.signal ? AbortSignal.any([init.signal, signal]) : (signal ?? init?.signal);
    // undici's fetch is the engine behind Node's global fetch; its types differ only nominally from the DOM ones.
    return undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      signal: combined ?? null,
      dispatcher: agent,
    }) as unknown as Promise<Response>;
  };
  let closing: Promise<void> | undefined;
  return {
    httpClient: Stripe.createFetchHttpClient(send),
    close: () => (closing ??= agent.destroy()),
  };
}
