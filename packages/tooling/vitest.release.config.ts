import { defineConfig } from 'vitest/config';

// The release tests (`pnpm test:release`): slow, end to end, one file at a time. Kept out of `pnpm test`.
export default defineConfig({
  test: {
    include: ['release-test/**/*.e2e.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['verbose'],
  },
});
