import { Agent, createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortOpen } from '../src/index.js';
import { createCountingRelay } from '../src/relay.js';

let target: Server;
let targetUrl: string;

beforeAll(async () => {
  target = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`you asked for ${req.url}`));
  });
  // Longer than any test: only the client ends a connection.
  target.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

function get(url: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createCountingRelay', () => {
  it('relays bytes and counts a pooled connection as open until the client destroys its agent', async () => {
    const relay = await createCountingRelay(targetUrl);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await get(`${relay.url}/one`, agent)).toBe('you asked for /one');
      expect(await get(`${relay.url}/two`, agent)).toBe('you asked for /two');
      expect([relay.opened, relay.open]).toEqual([1, 1]);
      agent.destroy();
      await expect.poll(() => relay.open).toBe(0);
      expect(relay.opened).toBe(1);
    } finally {
      agent.destroy();
      await relay.close();
    }
  });

  it('counts a connection the client ends (FIN) as closed', async () => {
    const relay = await createCountingRelay(targetUrl);
    try {
      const socket = connect({ host: '127.0.0.1', port: relay.port });
      await new Promise((resolve) => socket.once('connect', resolve));
      await expect.poll(() => relay.open).toBe(1);
      socket.end();
      await expect.poll(() => relay.open).toBe(0);
      socket.destroy();
    } finally {
      await relay.close();
    }
  });

  it('destroys relayed connections and stops listening on close', async () => {
    const relay = await createCountingRelay(targetUrl);
    const socket = connect({ host: '127.0.0.1', port: relay.port });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    await expect.poll(() => relay.open).toBe(1);
    await relay.close();
    await relay.close();
    await closed;
    expect(await isPortOpen(relay.port)).toBe(false);
  });
});
