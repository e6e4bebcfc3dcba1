export declare const REPO_ROOT: string;
export declare const manifest: {
  urlPattern: string;
  files: { file: string; repo: string; commit: string; path: string; sha256: string }[];
};
export declare function specsDir(): string;
export declare function sourceUrl(entry: { repo: string; commit: string; path: string }, urlPattern?: string): string;
export declare function ensureSpecs(options?: {
  dir?: string;
  urlPattern?: string;
  fetchImpl?: typeof fetch;
}): Promise<{ file: string; action: 'present' | 'fetched' }[]>;
