export declare const CONNECTOR_FILES: string[];
export declare function connectorNames(id: string): { camel: string; pascal: string };
export declare function checkPackage(
  dir: string,
  options?: { attw?: boolean },
): Promise<{ skipped: boolean; problems: string[] }>;
export declare function checkConventions(root: string, options?: { only?: string[] }): Promise<string[]>;
