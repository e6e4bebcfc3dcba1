import { defineBuild } from '@integrations/tooling/tsup';

export default defineBuild({
  entry: {
    index: 'src/index.ts',
    'fakes/stripe': 'src/fakes/stripe/index.ts',
    'fakes/bigquery': 'src/fakes/bigquery/index.ts',
  },
});
