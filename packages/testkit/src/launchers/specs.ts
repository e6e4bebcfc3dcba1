import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The env var that says where provider specs live. */
export const SPECS_ENV = 'INTEGRATIONS_SPECS_DIR';

/** The workspace root above `from`: the nearest directory with pnpm-workspace.yaml, else with .git. */
export function findRepoRoot(from = process.cwd()): string {
  for (const marker of ['pnpm-workspace.yaml', '.git']) {
    let dir = resolve(from);
    for (;;) {
      if (existsSync(join(dir, marker))) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return resolve(from);
}

/** Where specs are looked up: $INTEGRATIONS_SPECS_DIR, else `<repo root>/../shared/specs`. */
export function specsDir(): string {
  return resolve(process.env[SPECS_ENV] ?? join(findRepoRoot(), '..', 'shared', 'specs'));
}

/**
 * The absolute path of a provider spec (`specPath('twilio/twilio_api_v2010.json')`). Throws, naming the setting
 * and how to fetch the specs, when the file is not there.
 */
export function specPath(relative: string): string {
  const dir = specsDir();
  const file = resolve(dir, relative);
  if (!existsSync(file)) {
    const source = process.env[SPECS_ENV] ? `${SPECS_ENV}=${process.env[SPECS_ENV]}` : `${SPECS_ENV} is unset`;
    throw new Error(
      `provider spec "${relative}" not found at ${file} (${source}; default <repo root>/../shared/specs). ` +
        `Set ${SPECS_ENV} to the directory holding the specs, or run \`pnpm specs:fetch\` to download them.`,
    );
  }
  return file;
}
