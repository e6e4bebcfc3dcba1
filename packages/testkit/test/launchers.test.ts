import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AZURITE_ACCOUNT,
  azuriteConnectionString,
  createFakeServer,
  isPortOpen,
  json,
  SPECS_ENV,
  specPath,
  startAzurite,
  startPrism,
  startRedisServer,
  startS3rver,
  startVerdaccio,
  status,
  text,
} from '../src/index.js';

const fixtureSpec = fileURLToPath(new URL('./fixtures/openapi.yaml', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startPrism', () => {
  it('serves a spec, then stops with no process or port left', async () => {
    const prism = await startPrism(fixtureSpec);
    try {
      const response = await fetch(`${prism.url}/ping`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(alive(prism.pid)).toBe(true);
    } finally {
      await prism.stop();
      await prism.stop();
    }
    expect(alive(prism.pid)).toBe(false);
    expect(await isPortOpen(prism.port)).toBe(false);
  });

  it('names the spec and shows Prism output when it cannot start', async () => {
    await expect(startPrism('/nonexistent/spec.yaml', { readyTimeoutMs: 20_000 })).rejects.toThrow(
      /prism.*(exited|not ready).*\n?.*/s,
    );
  });
});

describe('startS3rver', () => {
  it('serves S3 on 127.0.0.1 with the given buckets, then frees the port and its directory', async () => {
    const s3 = await startS3rver({ buckets: ['conformance'] });
    try {
      const response = await fetch(`${s3.url}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<Name>conformance</Name>');
    } finally {
      await s3.stop();
      await s3.stop();
    }
    expect(alive(s3.pid)).toBe(false);
    expect(await isPortOpen(s3.port)).toBe(false);
    expect(existsSync(s3.directory)).toBe(false);
  });

  it('pages listings with continuation tokens, though this process refuses DES', async () => {
    // s3rver encrypts its continuation tokens with DES; OpenSSL 3 refuses it here, so it must run elsewhere.
    expect(() => createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8))).toThrow();
    const s3 = await startS3rver({ buckets: ['paged'] });
    try {
      for (const key of ['a', 'b', 'c']) {
        const put = await fetch(`${s3.url}/paged/${key}`, { method: 'PUT', body: key });
        expect(put.status).toBe(200);
      }
      const first = await fetch(`${s3.url}/paged?list-type=2&max-keys=2`);
      const firstBody = await first.text();
      expect(first.status).toBe(200);
      expect(firstBody).toContain('<IsTruncated>true</IsTruncated>');
      const token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(firstBody)?.[1];
      expect(token).toBeDefined();
      const second = await fetch(
        `${s3.url}/paged?list-type=2&max-keys=2&continuation-token=${encodeURIComponent(token ?? '')}`,
      );
      const secondBody = await second.text();
      expect(second.status).toBe(200);
      expect([...secondBody.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1])).toEqual(['c']);
    } finally {
      await s3.stop();
    }
  });

  it('names s3rver and shows its output when it cannot start', async () => {
    // The port is taken: s3rver fails to listen and exits.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      await expect(startS3rver({ port, readyTimeoutMs: 20_000 })).rejects.toThrow(
        /s3rver exited .*before it was ready:.*EADDRINUSE/s,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('keeps a directory it was given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3rver-own-'));
    try {
      const s3 = await startS3rver({ dir });
      await s3.stop();
      expect(existsSync(dir)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('startAzurite', () => {
  it('serves blob storage for the development account, then stops with no process or port left', async () => {
    const azurite = await startAzurite();
    try {
      // No credentials: Azurite answers with its own shared-key error, which proves it is the blob service.
      const response = await fetch(`${azurite.url}/${AZURITE_ACCOUNT}?comp=list`);
      expect(response.status).toBe(403);
      expect(response.headers.get('x-ms-request-id')).toBeTruthy();
      expect(azurite.connectionString).toBe(azuriteConnectionString(azurite.url));
      expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.url}/${AZURITE_ACCOUNT};`);
    } finally {
      await azurite.stop();
      await azurite.stop();
    }
    expect(alive(azurite.pid)).toBe(false);
    expect(await isPortOpen(azurite.port)).toBe(false);
  });
});

/** One inline Redis command over raw TCP: the reply's first line. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`${command}\r\n`));
    socket.setEncoding('utf8');
    socket.once('data', (reply: string) => {
      socket.destroy();
      resolve(reply.split('\r\n')[0] ?? '');
    });
    socket.once('error', reject);
  });
}

describe('startRedisServer', () => {
  it('serves Redis, stops with no process or port left, and starts again on the same port', async () => {
    const first = await startRedisServer();
    try {
      expect(first.url).toBe(`redis://127.0.0.1:${first.port}`);
      expect(await redisCommand(first.port, 'SET k v')).toBe('+OK');
    } finally {
      await first.stop();
      await first.stop();
    }
    expect(alive(first.pid)).toBe(false);
    expect(await isPortOpen(first.port)).toBe(false);
    const again = await startRedisServer({ port: first.port });
    try {
      expect(await redisCommand(again.port, 'PING')).toBe('+PONG');
      // Nothing was kept on disk: the restarted server starts empty.
      expect(await redisCommand(again.port, 'EXISTS k')).toBe(':0');
    } finally {
      await again.stop();
    }
  });
});

function verdaccioInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('verdaccio/package.json');
    return true;
  } catch {
    return false;
  }
}

describe('startVerdaccio', () => {
  const storage = join(tmpdir(), `verdaccio-test-${process.pid}`);
  afterAll(() => rm(storage, { recursive: true, force: true }));

  // Verdaccio is an optional peer; under CI its absence is a failure, locally it is reported as skipped.
  it.skipIf(!verdaccioInstalled() && !process.env.CI)(
    'registers a user and serves the registry offline, then stops with no process or port left',
    async () => {
      const registry = await startVerdaccio({ storage });
      try {
        const token = await registry.addUser('conformance', 'conformance-password');
        expect(token.length).toBeGreaterThan(10);
        const whoami = await fetch(`${registry.url}/-/whoami`, { headers: { authorization: `Bearer ${token}` } });
        expect(await whoami.json()).toEqual({ username: 'conformance' });
        const missing = await fetch(`${registry.url}/@integrations%2fnothing-here`);
        expect(missing.status).toBe(404);
        expect(registry.npmrc(token)).toContain(`@integrations:registry=${registry.url}/`);
      } finally {
        await registry.stop();
        await registry.stop();
      }
      expect(alive(registry.pid)).toBe(false);
      expect(await isPortOpen(registry.port)).toBe(false);
    },
  );
});

describe('createFakeServer', () => {
  it('routes by method and path pattern, records requests, and answers 404 for the rest', async () => {
    const fake = await createFakeServer({
      'GET /accounts/:id': (req) => json({ id: req.params.id, q: req.query.get('expand') }),
      'POST /accounts': (req) => json({ created: req.json<{ name: string }>().name }, { status: 201 }),
      'GET /health': text('ok'),
      'DELETE /accounts/:id': status(204),
      'GET /files/*': (req) => text(req.params['*'] ?? ''),
      'GET /boom': () => {
        throw new Error('handler failed');
      },
    });
    try {
      expect(await (await fetch(`${fake.url}/accounts/a%201?expand=x`)).json()).toEqual({ id: 'a 1', q: 'x' });
      const created = await fetch(`${fake.url}/accounts`, { method: 'POST', body: '{"name":"n"}' });
      expect([created.status, await created.json()]).toEqual([201, { created: 'n' }]);
      expect(await (await fetch(`${fake.url}/health`)).text()).toBe('ok');
      expect((await fetch(`${fake.url}/accounts/1`, { method: 'DELETE' })).status).toBe(204);
      expect(await (await fetch(`${fake.url}/files/a/b.txt`)).text()).toBe('a/b.txt');
      const boom = await fetch(`${fake.url}/boom`);
      expect([boom.status, await boom.json()]).toEqual([500, { error: 'handler failed' }]);
      const missing = await fetch(`${fake.url}/nope`, { method: 'PUT' });
      expect([missing.status, await missing.json()]).toEqual([404, { error: 'no fake route for PUT /nope' }]);
      fake.route('GET /health', text('changed'));
      expect(await (await fetch(`${fake.url}/health`)).text()).toBe('changed');
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /accounts/a%201',
        'POST /accounts',
        'GET /health',
        'DELETE /accounts/1',
        'GET /files/a/b.txt',
        'GET /boom',
        'PUT /nope',
        'GET /health',
      ]);
      fake.reset();
      expect(fake.requests).toHaveLength(0);
    } finally {
      await fake.stop();
      await fake.stop();
    }
    expect(await isPortOpen(fake.port)).toBe(false);
  });

  it('rejects a malformed route key', async () => {
    await expect(createFakeServer({ 'GET accounts': status(200) })).rejects.toThrow(/must look like "GET \/path/);
  });
});

describe('specPath', () => {
  const saved = process.env[SPECS_ENV];
  afterAll(() => {
    if (saved === undefined) delete process.env[SPECS_ENV];
    else process.env[SPECS_ENV] = saved;
  });

  it('resolves a spec under INTEGRATIONS_SPECS_DIR', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'specs-'));
    try {
      await mkdir(join(dir, 'acme'));
      await writeFile(join(dir, 'acme', 'api.yaml'), 'openapi: 3.0.3');
      process.env[SPECS_ENV] = dir;
      expect(specPath('acme/api.yaml')).toBe(join(dir, 'acme', 'api.yaml'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the setting and the fetch script when a spec is missing', () => {
    process.env[SPECS_ENV] = join(tmpdir(), 'no-such-specs-dir');
    expect(() => specPath('acme/missing.yaml')).toThrow(/INTEGRATIONS_SPECS_DIR.*pnpm specs:fetch/s);
  });

  it('defaults to <repo root>/../shared/specs', () => {
    delete process.env[SPECS_ENV];
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    expect(() => specPath('acme/missing.yaml')).toThrow(join(root, '..', 'shared', 'specs', 'acme', 'missing.yaml'));
  });
});
