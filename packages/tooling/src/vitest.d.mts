import type { UserConfig } from 'vitest/config';
export declare function defineTestConfig(overrides?: UserConfig): UserConfig;
