export type AuthKind = 'api-key' | 'oauth2' | 'sdk-credentials' | 'none';
export declare const AUTH_CHOICES: AuthKind[];
export declare const USAGE: string;
export declare class GeneratorError extends Error {}

/** Answers as given: flags, then prompts. */
export interface RawAnswers {
  id?: string | undefined;
  name?: string | undefined;
  category?: string | undefined;
  auth?: string | undefined;
  sdk?: string | undefined;
  'base-url'?: string | undefined;
  'token-url'?: string | undefined;
  description?: string | undefined;
  type?: string | undefined;
  root?: string | undefined;
  help?: boolean | undefined;
}

export interface ConnectorOptions {
  id: string;
  name: string;
  category: string;
  auth: AuthKind;
  sdk: string | undefined;
  sdkRange: string | undefined;
  baseUrl: string | undefined;
  tokenUrl: string | undefined;
  description: string;
  typeKey: string;
  camel: string;
  pascal: string;
  envPrefix: string;
}

export interface Ask {
  input(options: {
    message: string;
    default?: string;
    validate?: (value: string) => boolean | string;
  }): Promise<string>;
  select(options: { message: string; choices: { value: string; name: string }[] }): Promise<string>;
}

export declare function parseSdk(value: string | undefined): { name: string | undefined; range: string | undefined };
export declare function parseFlags(argv: string[]): RawAnswers;
export declare function fillMissing(raw: RawAnswers, ask: Ask): Promise<RawAnswers>;
export declare function missingFlags(raw: RawAnswers): string[];
export declare function lookupSdkRange(name: string): string;
export declare function resolveOptions(
  raw: RawAnswers,
  options?: { lookup?: (name: string) => string },
): ConnectorOptions;
export declare function devRanges(root: string): Record<string, string>;
export declare function renderConnector(
  root: string,
  options: ConnectorOptions,
): { dir: string; files: Record<string, string> };
export declare function generateConnector(
  root: string,
  options: ConnectorOptions,
  settings?: { format?: boolean },
): { dir: string; files: string[]; formatted: boolean };
