import { defineBuild } from '@integrations/tooling/tsup';

export default defineBuild({
  entry: {
    index: 'src/index.ts',
    registry: 'src/registry.ts',
    policies: 'src/policies/index.ts',
    http: 'src/http/index.ts',
    webhooks: 'src/webhooks.ts',
  },
});
