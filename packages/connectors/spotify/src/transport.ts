import { Agent, fetch as undiciFetch } from 'undici';

export interface SpotifyTransport {
  /** fetch over the integration's own connection pool. */
  readonly fetch: typeof globalThis.fetch;
  /** Closes every connection the transport opened, aborting any request still in flight. */
  close(): Promise<void>;
}

/**
 * A connection pool of the integration's own, for the API and the token endpoint alike: global fetch's pool is
 * shared by the whole process and cannot be closed, so its idle keep-alive sockets would outlive `close()`.
 */
export function createTransport(): SpotifyTransport {
  const agent = new Agent();
  // undici's fetch is the engine behind Node's global fetch; its types differ only nominally from the DOM ones.
  const send = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    }) as unknown as Promise<Response>;
  let closing: Promise<void> | undefined;
  return {
    fetch: send as typeof globalThis.fetch,
    close: () => (closing ??= agent.destroy()),
  };
}
