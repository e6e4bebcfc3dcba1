export declare function connectorNames(id: string): { camel: string; pascal: string };
