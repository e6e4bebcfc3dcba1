import { defineTestConfig } from './src/vitest.mjs';

export default defineTestConfig();
