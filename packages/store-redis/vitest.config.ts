import { defineTestConfig } from '@integrations/tooling/vitest';

// One file at a time: the multi-process test measures a fleet-wide rate, and three replicas plus a Redis
// Cluster running beside it on two cores would starve it.
export default defineTestConfig({ test: { fileParallelism: false } });
