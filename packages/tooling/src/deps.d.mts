export declare const FAMILIES_FILE: string;
export declare function readFamilies(root: string): Record<string, string[]>;
export declare function writeFamilies(root: string, families: Record<string, string[]>): string;
export declare function inFamily(dependency: string, family: string[]): boolean;
export declare function checkPackedManifest(
  id: string,
  manifest: Record<string, unknown>,
  family: string[] | undefined,
): string[];
export declare function packedManifest(dir: string): Record<string, unknown>;
export declare function checkDeps(
  root: string,
  options?: { families?: Record<string, string[]>; only?: string[] },
): { checked: string[]; problems: string[] };
