/**
 * Connectors are resolved by id from the installed `@integrations/<id>` packages, so adding a provider to a
 * deployment is `pnpm add @integrations/<id>` plus a line of YAML: the gateway's code does not change.
 */
import { readFile } from 'node:fs/promises';
import { ConfigFileError, type ConnectorLookup, type LoadedConfig, loadConfig } from '@integrations/config';
import { type ConnectorDefinition, isConnectorDefinition } from '@integrations/core';

const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const PACKAGE_SCOPE = '@integrations/';

/** `aws-s3` → `awsS3`: the export name every connector package uses for its definition. */
export function exportName(id: string): string {
  return id.replace(/-([a-z0-9])/g, (_, char: string) => char.toUpperCase());
}

export interface ConnectorResolver {
  lookup: (id: string) => Promise<ConnectorDefinition | undefined>;
  /** Why an id could not be resolved, when the package exists but is not a usable connector. */
  problem(id: string): string | undefined;
  /** Ids of the installed connector packages, for error messages. */
  installed(): Promise<string[]>;
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(`'${specifier}'`)
  );
}

/**
 * Resolves `@integrations/<id>` with a dynamic import. `manifest` is the package.json whose dependencies are
 * the installed connectors (the gateway's own), read only to list them in an error.
 */
export function installedConnectors(
  manifest: URL = new URL('../package.json', import.meta.url),
  load: (specifier: string) => Promise<Record<string, unknown>> = (specifier) => import(specifier),
): ConnectorResolver {
  const problems = new Map<string, string>();
  const cache = new Map<string, Promise<ConnectorDefinition | undefined>>();

  const resolveOne = async (id: string): Promise<ConnectorDefinition | undefined> => {
    if (!ID.test(id)) {
      problems.set(id, 'connector ids are lowercase kebab-case');
      return undefined;
    }
    const specifier = `${PACKAGE_SCOPE}${id}`;
    let module: Record<string, unknown>;
    try {
      module = await load(specifier);
    } catch (error) {
      if (isModuleNotFound(error, specifier)) return undefined;
      problems.set(id, `${specifier} failed to load: ${(error as Error)?.message ?? String(error)}`);
      return undefined;
    }
    const name = exportName(id);
    const definition = module[name];
    if (!isConnectorDefinition(definition)) {
      problems.set(id, `${specifier} has no connector export named "${name}"`);
      return undefined;
    }
    if (definition.id !== id) {
      problems.set(id, `${specifier} exports connector "${definition.id}", not "${id}"`);
      return undefined;
    }
    return definition;
  };

  const lookup = (id: string): Promise<ConnectorDefinition | undefined> => {
    let found = cache.get(id);
    if (!found) {
      found = resolveOne(id);
      cache.set(id, found);
    }
    return found;
  };

  return {
    lookup,
    problem: (id) => problems.get(id),
    async installed() {
      let dependencies: Record<string, string> = {};
      try {
        const pkg = JSON.parse(await readFile(manifest, 'utf8')) as { dependencies?: Record<string, string> };
        dependencies = pkg.dependencies ?? {};
      } catch {
        return [];
      }
      const ids = Object.keys(dependencies)
        .filter((name) => name.startsWith(PACKAGE_SCOPE))
        .map((name) => name.slice(PACKAGE_SCOPE.length));
      const usable = await Promise.all(ids.map(async (id) => ((await lookup(id)) ? id : undefined)));
      return usable.filter((id): id is string => id !== undefined).sort();
    },
  };
}

export interface LoadGatewayConfigOptions {
  file: string;
  environment?: string | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Default: the installed `@integrations/<id>` packages. A record is used as is (tests pass their own). */
  connectors?: ConnectorLookup | ConnectorResolver | undefined;
}

function isResolver(value: unknown): value is ConnectorResolver {
  return typeof value === 'object' && value !== null && typeof (value as ConnectorResolver).lookup === 'function';
}

/**
 * Loads the YAML config with connectors resolved by id. With dynamic resolution the loader cannot list what is
 * installed, so an "unknown connector" issue is completed here with the installed ids (or why a package that
 * exists could not be used), keeping its file, line and path.
 */
export async function loadGatewayConfig(options: LoadGatewayConfigOptions): Promise<LoadedConfig> {
  const resolver =
    options.connectors === undefined || isResolver(options.connectors)
      ? ((options.connectors as ConnectorResolver | undefined) ?? installedConnectors())
      : undefined;
  const connectors: ConnectorLookup = resolver ? (id) => resolver.lookup(id) : (options.connectors as ConnectorLookup);
  try {
    return await loadConfig({ file: options.file, environment: options.environment, env: options.env, connectors });
  } catch (error) {
    if (!resolver || !(error instanceof ConfigFileError)) throw error;
    const unknown = /^unknown connector "([^"]*)"$/;
    if (!error.issues.some((issue) => unknown.test(issue.message))) throw error;
    const installed = await resolver.installed();
    const issues = error.issues.map((issue) => {
      const match = unknown.exec(issue.message);
      if (!match) return issue;
      const id = match[1] ?? '';
      const why = resolver.problem(id);
      const list = installed.length > 0 ? installed.join(', ') : 'none';
      return { ...issue, message: why ? `${issue.message}: ${why}` : `${issue.message} (installed: ${list})` };
    });
    throw new ConfigFileError(issues);
  }
}
