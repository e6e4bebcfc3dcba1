import { defineTestConfig } from '@integrations/tooling/vitest';

export default defineTestConfig();
