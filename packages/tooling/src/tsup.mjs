import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

/** Values every package sees at build time, read from its own package.json. */
export function packageDefines(dir = process.cwd()) {
  const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  return {
    __PACKAGE_NAME__: JSON.stringify(pkg.name),
    __PACKAGE_VERSION__: JSON.stringify(pkg.version),
  };
}

/**
 * The one build every package uses: ESM with bundled .d.ts, Node 20 target, and the package's
 * name and version injected (user agents read them).
 * @param {import('tsup').Options & { entry?: Record<string, string> | string[] }} [options]
 */
export function defineBuild(options = {}) {
  return defineConfig({
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: true,
    treeshake: true,
    define: packageDefines(),
    ...options,
  });
}
