import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type ConnectorDefinition, IntegrationError } from '@integrations/core';
import type { z } from 'zod';
import { type Location, locate, mergedLocations, type Path, parseYaml } from './document.js';
import {
  fileSchema,
  type IntegrationSettings,
  type ResolvedFile,
  resolvedSchema,
  type ServerSettings,
  type TenantSettings,
} from './schema.js';

export interface ConfigFileIssue {
  file: string;
  line: number;
  column: number;
  /** Key path as written in the file, e.g. `environments.production.integrations.stripe_main.config.apiKey`. */
  path: string;
  message: string;
}

/** Every problem found in a config file, each with file:line:column and key path. */
export class ConfigFileError extends IntegrationError {
  readonly issues: readonly ConfigFileIssue[];

  constructor(unsorted: readonly ConfigFileIssue[]) {
    const issues = [...unsorted].sort((a, b) => a.line - b.line || a.column - b.column);
    const lines = issues.map((i) => `  ${i.file}:${i.line}:${i.column} ${i.path || '(file)'}: ${i.message}`);
    super(
      'invalid_config',
      `invalid config (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        retryable: false,
      },
    );
    this.issues = issues;
  }
}

export type ConnectorLookup =
  | Readonly<Record<string, ConnectorDefinition>>
  | ((id: string) => Promise<ConnectorDefinition | undefined> | ConnectorDefinition | undefined);

export interface LoadConfigOptions {
  file: string;
  /** Which `environments.<name>` section to merge over the base. Default: INTEGRATIONS_ENV, NODE_ENV, else development. */
  environment?: string | undefined;
  /** Where `${VAR}` references are read from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** The connectors integrations may name, by id. A function can load them on demand. */
  connectors: ConnectorLookup;
}

export interface LoadedIntegration extends Omit<IntegrationSettings, 'connector' | 'config'> {
  name: string;
  connector: ConnectorDefinition;
  /** Validated by the connector's own schema. */
  config: unknown;
}

export interface LoadedTenant extends TenantSettings {
  id: string;
  /** Resolved list: the tenant's own, or every integration when it names none. */
  integrations: string[];
}

export interface LoadedConfig {
  file: string;
  environment: string;
  server: ServerSettings;
  defaults: ResolvedFile['defaults'];
  integrations: LoadedIntegration[];
  tenants: LoadedTenant[];
  /** Every secret value the file resolved to (connector secrets, API keys, secret files), for redaction. */
  secrets: string[];
}

type Issue = { path: Path; message: string; location?: Location | undefined };

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Environment sections override the base key by key; lists and scalars are replaced whole. */
function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}

function getAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = isPlainObject(current) ? current[key] : undefined;
  return current;
}

export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const file = resolve(options.file);
  const env = options.env ?? process.env;
  const environment = options.environment ?? env.INTEGRATIONS_ENV ?? env.NODE_ENV ?? 'development';
  const shownFile = options.file;

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigFileError([
      { file: shownFile, line: 0, column: 0, path: '', message: `cannot read file (${code})` },
    ]);
  }

  const parsed = parseYaml(text);
  const toIssues = (issues: Issue[], locations: Map<string, Location>): ConfigFileIssue[] =>
    issues.map((issue) => {
      const location = issue.location ?? locate(locations, issue.path);
      return {
        file: shownFile,
        line: location?.line ?? 1,
        column: location?.column ?? 1,
        path: location && issue.path.length > 0 ? fullPath(location, issue.path, locations) : issue.path.join('.'),
        message: issue.message,
      };
    });
  if (parsed.syntaxErrors.length > 0) {
    throw new ConfigFileError(
      parsed.syntaxErrors.map((e) => ({
        file: shownFile,
        line: e.line,
        column: e.column,
        path: '',
        message: e.message,
      })),
    );
  }

  // Pass 1: the file's own shape, so unknown keys in any environment section are caught where written.
  const shape = fileSchema.safeParse(parsed.value ?? {}, { reportInput: true });
  if (!shape.success) throw new ConfigFileError(toIssues(zodIssues(shape.error), parsed.locations));
  const raw = shape.data;
  if (raw.environments && !(environment in raw.environments)) {
    const known = Object.keys(raw.environments).join(', ');
    throw new ConfigFileError(
      toIssues(
        [{ path: ['environments'], message: `environment "${environment}" is not defined (defined: ${known})` }],
        parsed.locations,
      ),
    );
  }

  // Pass 2: merge the environment's section over the base, resolve references, validate the result.
  const { environments, ...base } = raw;
  const merged = deepMerge(base, environments?.[environment] ?? {});
  const locations = mergedLocations(parsed.locations, environment);
  const issues: Issue[] = [];
  const fileSecrets: string[] = [];
  const resolved = await interpolate(merged, [], { env, dir: dirname(file), issues, fileSecrets });
  const result = resolvedSchema.safeParse(resolved, { reportInput: true });
  if (!result.success) issues.push(...zodIssues(result.error));
  if (issues.length > 0 || !result.success) throw new ConfigFileError(toIssues(issues, locations));
  const data = result.data;

  // Pass 3: each integration's connector exists and accepts its config.
  const integrations: LoadedIntegration[] = [];
  const secrets = new Set<string>(fileSecrets);
  if (data.server.adminApiKey) secrets.add(data.server.adminApiKey);
  const storeUrl = data.server.webhooks?.store.url;
  if (storeUrl) {
    secrets.add(storeUrl);
    const password = URL.canParse(storeUrl) ? decodeURIComponent(new URL(storeUrl).password) : '';
    if (password) secrets.add(password);
  }
  for (const [name, settings] of Object.entries(data.integrations)) {
    const definition = await lookup(options.connectors, settings.connector);
    if (!definition) {
      const known = knownIds(options.connectors);
      issues.push({
        path: ['integrations', name, 'connector'],
        message: `unknown connector "${settings.connector}"${known ? ` (installed: ${known})` : ''}`,
      });
      continue;
    }
    const validation = await definition.config['~standard'].validate(settings.config);
    if (validation.issues) {
      for (const issue of validation.issues) {
        const sub = (issue.path ?? []).map((s) => (typeof s === 'object' ? String(s.key) : String(s)));
        issues.push({ path: ['integrations', name, 'config', ...sub], message: issue.message });
      }
      continue;
    }
    for (const secretPath of definition.secrets) {
      const value = getAt(settings.config, secretPath.split('.'));
      if (typeof value === 'string' && value) secrets.add(value);
    }
    if (settings.webhooks) {
      for (const secret of settings.webhooks.secrets) secrets.add(secret);
      if (!data.server.webhooks) {
        issues.push({
          path: ['integrations', name, 'webhooks'],
          message: 'needs server.webhooks.store: events are stored durably before they are acknowledged',
        });
      }
      if (settings.webhooks.scheme === 'connector' && !definition.webhooks) {
        issues.push({
          path: ['integrations', name, 'webhooks'],
          message: `connector "${definition.id}" does not verify webhooks: use scheme: hmac-sha256 with an hmac section`,
        });
      }
    }
    const { connector: _id, config: _raw, ...rest } = settings;
    integrations.push({ ...rest, name, connector: definition, config: validation.value });
  }

  const allNames = Object.keys(data.integrations);
  const tenants: LoadedTenant[] = Object.entries(data.tenants).map(([id, tenant]) => {
    tenant.integrations?.forEach((ref, index) => {
      if (!allNames.includes(ref)) {
        issues.push({ path: ['tenants', id, 'integrations', index], message: `no integration named "${ref}"` });
      }
    });
    for (const key of tenant.apiKeys) secrets.add(key);
    return { ...tenant, id, integrations: tenant.integrations ?? allNames };
  });
  if (issues.length > 0) throw new ConfigFileError(toIssues(issues, locations));

  return {
    file,
    environment,
    server: data.server,
    defaults: data.defaults,
    integrations,
    tenants,
    secrets: [...secrets],
  };
}

/** The path as written in the file: inside `environments.<env>` when that is where the nearest key came from. */
function fullPath(location: Location, path: Path, locations: Map<string, Location>): string {
  for (let end = path.length; end >= 0; end--) {
    const prefix = path.slice(0, end).join('.');
    const found = locations.get(prefix);
    if (found === location) {
      const rest = path.slice(end).join('.');
      return rest ? `${location.filePath}.${rest}` : location.filePath;
    }
  }
  return path.join('.');
}

function zodIssues(error: { issues: readonly z.core.$ZodIssue[] }, prefix: Path = []): Issue[] {
  return error.issues.flatMap((issue): Issue[] => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // `retry: false | {...}`: report the branch that got furthest (the object's own field), not "Invalid input".
      const deepest = issue.errors.reduce((best, branch) => (depth(branch) > depth(best) ? branch : best));
      if (depth(deepest) > 0) return zodIssues({ issues: deepest }, path);
    }
    if (issue.code === 'unrecognized_keys') {
      return [{ path: [...path, issue.keys[0] ?? ''], message: `unknown key "${issue.keys.join('", "')}"` }];
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) return [{ path, message: 'is required' }];
    return [{ path, message: issue.message }];
  });
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

async function lookup(connectors: ConnectorLookup, id: string): Promise<ConnectorDefinition | undefined> {
  if (typeof connectors === 'function') return connectors(id);
  return Object.hasOwn(connectors, id) ? connectors[id] : undefined;
}

function knownIds(connectors: ConnectorLookup): string {
  return typeof connectors === 'function' ? '' : Object.keys(connectors).sort().join(', ');
}

interface InterpolateContext {
  env: Readonly<Record<string, string | undefined>>;
  dir: string;
  issues: Issue[];
  fileSecrets: string[];
}

/**
 * Resolves `${VAR}`, `${VAR:-default}` and `${file:path}` (a secret file, relative to the config file) in every
 * string. `$${` writes a literal `${`. Values never appear in messages: only the variable or file name does.
 */
async function interpolate(value: unknown, path: Path, ctx: InterpolateContext): Promise<unknown> {
  if (typeof value === 'string') return interpolateString(value, path, ctx);
  if (Array.isArray(value)) return Promise.all(value.map((item, i) => interpolate(item, [...path, i], ctx)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = await interpolate(item, [...path, key], ctx);
    return out;
  }
  return value;
}

async function interpolateString(text: string, path: Path, ctx: InterpolateContext): Promise<string> {
  const parts: string[] = [];
  let last = 0;
  for (const match of text.matchAll(REFERENCE)) {
    parts.push(text.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[0] === '$${') {
      parts.push('${');
      continue;
    }
    const body = (match[1] ?? '').trim();
    if (body.startsWith('file:')) {
      const target = body.slice(5).trim();
      try {
        const content = (await readFile(isAbsolute(target) ? target : resolve(ctx.dir, target), 'utf8')).replace(
          /\r?\n$/,
          '',
        );
        ctx.fileSecrets.push(content);
        parts.push(content);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        ctx.issues.push({ path, message: `secret file "${target}" cannot be read (${code})` });
      }
      continue;
    }
    const [variable = '', fallback] = body.split(/:-(.*)/s, 2);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      ctx.issues.push({
        path,
        message: `"\${${body}}" is not a valid reference (use \${VAR}, \${VAR:-default} or \${file:path})`,
      });
      continue;
    }
    const found = ctx.env[variable];
    if (found !== undefined && found !== '') parts.push(found);
    else if (fallback !== undefined) parts.push(fallback);
    else ctx.issues.push({ path, message: `environment variable ${variable} is not set` });
  }
  parts.push(text.slice(last));
  return parts.join('');
}
