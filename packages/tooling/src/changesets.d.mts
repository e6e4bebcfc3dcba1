export declare function resolveBase(
  cwd: string,
  options?: { base?: string; mainBranch?: string },
): { sha: string; how: string } | { skip: string };
export declare function changedFiles(cwd: string, sha: string): string[];
export declare function readChangesets(root: string): { named: Map<string, string[]>; problems: string[] };
export declare function checkChangesets(
  root: string,
  options?: { base?: string },
): Promise<{
  skip?: string;
  base?: string;
  changed: string[];
  missing: { name: string; files: string[] }[];
  problems: string[];
}>;
