import { defineConfig, mergeConfig } from 'vitest/config';
import { packageDefines } from './tsup.mjs';

/**
 * The one test setup every package uses. Tests live in test/**\/*.test.ts; timeouts are generous because
 * connector tests start real stand-ins (Prism, s3rver, Azurite) on a 2-core machine.
 * @param {import('vitest/config').UserConfig} [overrides]
 */
export function defineTestConfig(overrides = {}) {
  return mergeConfig(
    defineConfig({
      define: packageDefines(),
      test: {
        include: ['test/**/*.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 60_000,
        pool: 'forks',
        reporters: process.env.CI ? ['default'] : ['default'],
      },
    }),
    overrides,
  );
}
