import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IntegrationError, type Registry } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stripe } from '../src/index.js';

const API_KEY = 'sk_test_transport_suite_key';

/** A provider that takes each call and either never answers or resets the connection, recording every one. */
let server: Server;
let url: string;
let mode: 'hang' | 'reset' = 'hang';
const received: IncomingMessage[] = [];
let onRequest: ((request: IncomingMessage) => void) | undefined;
const registries: Registry[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    // Enabling the integration checks health against the balance: answered, so only the call under test misbehaves.
    if (request.url === '/v1/balance') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ object: 'balance', livemode: false, available: [], pending: [] }));
      return;
    }
    received.push(request);
    onRequest?.(request);
    if (mode === 'reset') request.socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
  received.length = 0;
  onRequest = undefined;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function connect() {
  const registry = createRegistry();
  registries.push(registry);
  const handle = registry.register(stripe, {
    name: 'transport',
    config: { apiKey: API_KEY, apiBaseUrl: url },
    retry: { maxAttempts: 1 },
    timeoutMs: 30_000,
    healthCheck: false,
  });
  return { registry, handle };
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    expect(IntegrationError.isInstance(error)).toBe(true);
    return error as IntegrationError;
  }
  throw new Error('expected the call to fail');
}

describe('transport', () => {
  it("a caller's abort closes the request's connection at the provider", async () => {
    mode = 'hang';
    const { registry, handle } = connect();
    await registry.enable('transport');
    const arrived = new Promise<IncomingMessage>((resolve) => {
      onRequest = resolve;
    });
    const controller = new AbortController();
    const call = rejection(handle.customers.retrieve('cus_hung', { signal: controller.signal }));
    const request = await arrived;
    const closed = new Promise<void>((resolve) => request.socket.once('close', () => resolve()));
    controller.abort();
    expect(await call).toMatchObject({ kind: 'cancelled' });
    // Resolves only when the client really dropped the connection; a request left running would keep it open.
    await closed;
  });

  it('a reset connection reaches the provider once: the SDK does not retry by itself', async () => {
    mode = 'reset';
    const { registry, handle } = connect();
    await registry.enable('transport');
    const error = await rejection(handle.customers.retrieve('cus_reset'));
    expect(error.kind).toBe('unavailable');
    expect(received).toHaveLength(1);
  });
});
