import type { Options } from 'tsup';
export declare function packageDefines(dir?: string): Record<string, string>;
export declare function defineBuild(options?: Options): Options | Options[];
