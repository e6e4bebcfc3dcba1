import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSpecs, manifest, specsDir } from '../src/specs.mjs';

// Serves the real spec files the way their public source would (/{repo}/{commit}/{path}), from the local copy,
// and lets a test swap in tampered bytes.
let server: Server;
let base: string;
const tampered = new Set<string>();
const served: string[] = [];

beforeAll(async () => {
  const source = specsDir();
  server = createServer((req, res) => {
    const entry = manifest.files.find((f) => req.url === `/${f.repo}/${f.commit}/${f.path}`);
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    served.push(entry.file);
    const bytes = readFileSync(join(source, entry.file));
    res.writeHead(200).end(tampered.has(entry.file) ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('ensureSpecs', () => {
  it('fetches every missing spec from its pinned source and verifies it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'specs-'));
    try {
      const results = await ensureSpecs({ dir, urlPattern: `${base}/{repo}/{commit}/{path}` });
      expect(results.map((r) => r.action)).toEqual(manifest.files.map(() => 'fetched'));
      for (const f of manifest.files) expect(existsSync(join(dir, f.file))).toBe(true);
      // Second run: everything present with the right hash, nothing downloaded.
      served.length = 0;
      const again = await ensureSpecs({ dir, urlPattern: `${base}/{repo}/{commit}/{path}` });
      expect(again.every((r) => r.action === 'present')).toBe(true);
      expect(served).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a download whose sha256 does not match and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'specs-'));
    const first = manifest.files[0]!;
    tampered.add(first.file);
    try {
      await expect(ensureSpecs({ dir, urlPattern: `${base}/{repo}/{commit}/{path}` })).rejects.toThrow(
        `${first.file} from ${base}/${first.repo}/${first.commit}/${first.path} has sha256`,
      );
      expect(existsSync(join(dir, first.file))).toBe(false);
    } finally {
      tampered.clear();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a local file whose hash is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'specs-'));
    const entry = manifest.files.find((f) => f.file.startsWith('sendgrid'))!;
    try {
      for (const f of manifest.files) {
        mkdirSync(dirname(join(dir, f.file)), { recursive: true });
        copyFileSync(join(specsDir(), f.file), join(dir, f.file));
      }
      writeFileSync(join(dir, entry.file), '{}');
      const results = await ensureSpecs({ dir, urlPattern: `${base}/{repo}/{commit}/{path}` });
      expect(results.find((r) => r.file === entry.file)?.action).toBe('fetched');
      expect(results.filter((r) => r.action === 'fetched')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
