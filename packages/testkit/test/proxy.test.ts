import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy, faults, isPortOpen } from '../src/index.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A plain request with node:http, so the test controls connection reuse. */
function send(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; agent?: Agent | false } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
        res.on('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

let target: Server;
let targetUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
  target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const payload = JSON.stringify({ echo: body, path: req.url, long: 'x'.repeat(2000) });
      res.writeHead(200, { 'content-type': 'application/json', 'x-target': 'yes' });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

describe('createFaultProxy', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await createFaultProxy({
      target: targetUrl,
      errorResponse: (status) => ({
        contentType: 'application/vnd.test+json',
        body: JSON.stringify({ error: { code: `E${status}` } }),
      }),
    });
  });
  afterAll(() => proxy.close());
  afterEach(() => {
    proxy.reset();
    seen.length = 0;
  });

  it('forwards method, path, query, headers and body, and records the request', async () => {
    const reply = await send(`${proxy.url}/things/1?x=1&y=two`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-target']).toBe('yes');
    expect(JSON.parse(reply.body)).toMatchObject({ echo: '{"a":1}', path: '/things/1?x=1&y=two' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/things/1?x=1&y=two', body: '{"a":1}' });
    expect(seen[0]?.headers.authorization).toBe('Bearer t');
    expect(proxy.requests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/things/1?x=1&y=two', fault: 'pass', clientClosed: false }),
    ]);
    expect(proxy.requests[0]?.headers.authorization).toBe('Bearer t');
  });

  it('fails the next two requests, then passes', async () => {
    proxy.script(...faults.times(2, faults.status(503)));
    expect(proxy.pending).toBe(2);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(`${proxy.url}/r`)).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(seen).toHaveLength(1);
    expect(proxy.requests.map((r) => r.fault)).toEqual(['status', 'status', 'pass']);
    expect(proxy.pending).toBe(0);
  });

  it('shapes injected statuses with errorResponse and adds the given headers', async () => {
    proxy.script(faults.status(429, { headers: { 'retry-after': '1' } }));
    const reply = await send(`${proxy.url}/limited`, { method: 'POST', body: 'payload' });
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.headers['content-type']).toBe('application/vnd.test+json');
    expect(JSON.parse(reply.body)).toEqual({ error: { code: 'E429' } });
    expect(seen).toHaveLength(0);
  });

  it('uses a body given with the fault instead of errorResponse', async () => {
    proxy.script(faults.status(400, { body: 'plain', contentType: 'text/plain' }));
    const reply = await send(`${proxy.url}/x`);
    expect(reply).toMatchObject({ status: 400, body: 'plain' });
    expect(reply.headers['content-type']).toBe('text/plain');
  });

  it('delays a request before forwarding it', async () => {
    proxy.script(faults.latency(400));
    const pending = send(`${proxy.url}/slow`);
    // The proxy has the request, the target does not yet.
    await expect.poll(() => proxy.requests.length).toBe(1);
    expect(seen).toHaveLength(0);
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(proxy.requests[0]?.fault).toBe('latency');
  });

  it('resets the connection', async () => {
    proxy.script(faults.reset());
    await expect(send(`${proxy.url}/reset`)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(seen).toHaveLength(0);
    expect((await send(`${proxy.url}/after`)).status).toBe(200);
  });

  it('resets fetch connections too (undici reports the socket error as the cause)', async () => {
    proxy.script(faults.reset());
    const error = await fetch(`${proxy.url}/reset`).then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    expect(error?.cause?.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
  });

  it('hangs until reset releases the request', async () => {
    proxy.script(faults.hang());
    const pending = send(`${proxy.url}/hang`);
    let settled = false;
    pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await expect.poll(() => proxy.requests.length).toBe(1);
    expect(settled).toBe(false);
    proxy.reset();
    await expect(pending).rejects.toThrow();
  });

  it('records a client that gives up on a hung request', async () => {
    proxy.script(faults.hang());
    const controller = new AbortController();
    const pending = fetch(`${proxy.url}/hang`, { signal: controller.signal });
    await expect.poll(() => proxy.requests.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expect.poll(() => proxy.requests[0]?.clientClosed).toBe(true);
  });

  it('truncates a body after sending its full content-length', async () => {
    proxy.script(faults.truncate(100));
    const error = await new Promise<{ length: string | undefined; received: number; failed: boolean }>((resolve) => {
      const req = request(`${proxy.url}/big`, { agent: false }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => resolve({ length: res.headers['content-length'], received, failed: false }));
        res.on('error', () => resolve({ length: res.headers['content-length'], received, failed: true }));
        res.on('aborted', () => resolve({ length: res.headers['content-length'], received, failed: true }));
      });
      req.end();
    });
    expect(error.failed).toBe(true);
    expect(error.received).toBe(100);
    expect(Number(error.length)).toBeGreaterThan(2000);
    await expect(fetch(`${proxy.url}/big`).then((r) => r.text())).resolves.toContain('"long"');
    proxy.script(faults.truncate());
    await expect(fetch(`${proxy.url}/big`).then((r) => r.text())).rejects.toThrow();
  });

  it('serves keep-alive clients over one connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      proxy.script(faults.status(500));
      const first = await send(`${proxy.url}/a`, { agent });
      const second = await send(`${proxy.url}/b`, { agent });
      expect([first.status, second.status]).toEqual([500, 200]);
      expect(proxy.requests.map((r) => r.path)).toEqual(['/a', '/b']);
    } finally {
      agent.destroy();
    }
  });

  it('names a failing upstream with a 502', async () => {
    const dead = await createFaultProxy({ target: 'http://127.0.0.1:1' });
    try {
      const reply = await send(`${dead.url}/x`);
      expect(reply.status).toBe(502);
      expect(reply.body).toContain('upstream failed');
    } finally {
      await dead.close();
    }
  });

  it('rejects a target that is not http', async () => {
    await expect(createFaultProxy({ target: 'https://127.0.0.1:1' })).rejects.toThrow(/must be an http:\/\/ URL/);
  });

  it('announces a one-second keep-alive, so pooled clients do not reuse idle sockets', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const reply = await send(`${proxy.url}/short`, { agent });
      expect(reply.headers['keep-alive']).toBe('timeout=1');
    } finally {
      agent.destroy();
    }
  });
});

describe('createFaultProxy keepAliveTimeoutMs', () => {
  it('keeps idle connections as long as asked, until the client closes its pool', async () => {
    const proxy = await createFaultProxy({ target: targetUrl, keepAliveTimeoutMs: 30_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${proxy.url}/a`, { agent });
      await send(`${proxy.url}/b`, { agent });
      expect(first.headers['keep-alive']).toBe('timeout=30');
      // One pooled socket served both requests and stays open while idle.
      expect(proxy.connections).toBe(1);
      agent.destroy();
      await expect.poll(() => proxy.connections).toBe(0);
    } finally {
      agent.destroy();
      await proxy.close();
    }
  });

  it('rejects a timeout under one second or not in whole milliseconds', async () => {
    for (const keepAliveTimeoutMs of [0, 999, 1500.5, Number.NaN]) {
      await expect(createFaultProxy({ target: targetUrl, keepAliveTimeoutMs })).rejects.toThrow(
        /keepAliveTimeoutMs must be a whole number of milliseconds, at least 1000; received/,
      );
    }
  });
});

describe('createFaultProxy close()', () => {
  it('destroys open sockets, hung requests included, and stops listening', async () => {
    const proxy = await createFaultProxy({ target: targetUrl });
    const agent = new Agent({ keepAlive: true });
    await send(`${proxy.url}/idle`, { agent });
    proxy.script(faults.hang(), faults.latency(60_000));
    const hung = send(`${proxy.url}/hang`).catch((e: unknown) => e);
    const slow = send(`${proxy.url}/slow`).catch((e: unknown) => e);
    await expect.poll(() => proxy.requests.length).toBe(3);
    await proxy.close();
    await proxy.close();
    expect(await hung).toBeInstanceOf(Error);
    expect(await slow).toBeInstanceOf(Error);
    expect(await isPortOpen(proxy.port)).toBe(false);
    agent.destroy();
  });
});
