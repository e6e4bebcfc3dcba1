export declare const START: string;
export declare const END: string;
export interface CatalogRow {
  id: string;
  name: string;
  displayName: string;
  category: string;
  version: string;
  sdk: { name: string; range: string }[];
  operations: string[];
  standIn: string;
}
export declare function detectStandIn(source: string): string | undefined;
export declare function collectCatalog(root: string): Promise<{ rows: CatalogRow[]; problems: string[] }>;
export declare function renderCatalog(rows: CatalogRow[]): string;
export declare function replaceBetweenMarkers(text: string, content: string, what?: string): string;
export declare function updateCatalog(
  root: string,
  options?: { check?: boolean },
): Promise<{ stale: boolean; problems: string[]; rows: number }>;
