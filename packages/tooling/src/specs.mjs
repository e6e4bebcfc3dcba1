import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../../..');
export const manifest = JSON.parse(readFileSync(join(here, 'specs-manifest.json'), 'utf8'));

/** The one setting that says where provider specs live. */
export function specsDir() {
  return resolve(process.env.INTEGRATIONS_SPECS_DIR ?? join(REPO_ROOT, '..', 'shared', 'specs'));
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

export function sourceUrl(entry, urlPattern = manifest.urlPattern) {
  return urlPattern.replace('{repo}', entry.repo).replace('{commit}', entry.commit).replace('{path}', entry.path);
}

/**
 * Makes sure every spec is present in `dir` with its pinned sha256, fetching the missing or wrong ones from
 * their public source at the pinned commit. A download whose hash differs is refused and not written.
 * @returns {Promise<{ file: string, action: 'present' | 'fetched' }[]>}
 */
export async function ensureSpecs({ dir = specsDir(), urlPattern = manifest.urlPattern, fetchImpl = fetch } = {}) {
  const results = [];
  for (const entry of manifest.files) {
    const target = join(dir, entry.file);
    if (existsSync(target) && sha256(readFileSync(target)) === entry.sha256) {
      results.push({ file: entry.file, action: 'present' });
      continue;
    }
    const url = sourceUrl(entry, urlPattern);
    let response;
    try {
      response = await fetchImpl(url);
    } catch (error) {
      const reason = error.cause?.code ?? error.cause?.message ?? error.message;
      throw new Error(
        `fetching ${entry.file} from ${url} failed (${reason}); ${target} is missing or has the wrong hash`,
      );
    }
    if (!response.ok) throw new Error(`fetching ${entry.file} from ${url} failed: HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const actual = sha256(bytes);
    if (actual !== entry.sha256) {
      throw new Error(`${entry.file} from ${url} has sha256 ${actual}, expected ${entry.sha256}: not written`);
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(`${target}.partial`, bytes);
    renameSync(`${target}.partial`, target);
    results.push({ file: entry.file, action: 'fetched' });
  }
  return results;
}
