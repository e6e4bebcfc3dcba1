import { defineConfig } from 'vitest/config';

// One run over every package, so CI ends with one summary. Each package keeps its own vitest.config.ts
// (built on @integrations/tooling/vitest), which this picks up as a project.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'packages/connectors/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
  },
});
