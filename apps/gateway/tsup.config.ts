import { defineBuild } from '@integrations/tooling/tsup';

export default defineBuild({
  entry: { index: 'src/index.ts', main: 'src/main.ts' },
  // Connectors are loaded by id at run time and the demo's stand-ins are dev-only: never bundle them.
  external: [/^@integrations\//, 's3rver', 'azurite'],
});
