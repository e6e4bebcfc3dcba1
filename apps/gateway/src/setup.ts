/**
 * From a loaded config to a registry: each tenant gets its own instance of every integration it lists, built from
 * `defaults`, then the integration's settings, then the tenant's overrides (applied by core's registry).
 */
import type { LoadedConfig, LoadedIntegration } from '@integrations/config';
import type {
  HealthCheckOptions,
  IntegrationConfig,
  Logger,
  Registry,
  RegistryOptions,
  TenantOverrides,
} from '@integrations/core';
import { createRegistry, DEFAULT_TENANT } from '@integrations/core/registry';

/** Static routes under /integrations/health that an integration name would be shadowed by. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['live', 'ready']);

type Policy<T> = T | false | undefined;

/** `false` turns a policy off; an object is laid key by key over the default's object. */
function layer<T extends object>(base: Policy<T>, own: Policy<T>): Policy<T> {
  if (own === undefined) return base;
  if (own === false || base === undefined || base === false) return own;
  return { ...base, ...own };
}

/** The registry's settings for one integration: `defaults` with the integration's own settings over them. */
export function integrationConfig(
  defaults: LoadedConfig['defaults'],
  integration: LoadedIntegration,
): IntegrationConfig {
  const healthCheck: HealthCheckOptions | undefined =
    defaults.healthCheck || integration.healthCheck
      ? { ...defaults.healthCheck, ...integration.healthCheck }
      : undefined;
  return {
    name: integration.name,
    type: integration.type as IntegrationConfig['type'],
    enabled: integration.enabled,
    config: integration.config,
    timeoutMs: integration.timeoutMs ?? defaults.timeoutMs,
    retry: layer(defaults.retry, integration.retry),
    circuitBreaker: layer(defaults.circuitBreaker, integration.circuitBreaker),
    rateLimit: layer(defaults.rateLimit, integration.rateLimit),
    bulkhead: layer(defaults.bulkhead, integration.bulkhead),
    ...(healthCheck ? { healthCheck } : {}),
    ...(integration.metadata ? { metadata: integration.metadata } : {}),
  };
}

/** A tenant's overrides in the registry's terms: limits, feature flags and the promised service level. */
export function tenantOverrides(tenant: LoadedConfig['tenants'][number]): TenantOverrides {
  const overrides: TenantOverrides = { features: [...tenant.features] };
  if (tenant.sla !== undefined) overrides.sla = tenant.sla;
  if (tenant.timeoutMs !== undefined) overrides.timeoutMs = tenant.timeoutMs;
  if (tenant.retry !== undefined) overrides.retry = tenant.retry;
  if (tenant.circuitBreaker !== undefined) overrides.circuitBreaker = tenant.circuitBreaker;
  if (tenant.rateLimit !== undefined) overrides.rateLimit = tenant.rateLimit;
  if (tenant.bulkhead !== undefined) overrides.bulkhead = tenant.bulkhead;
  return overrides;
}

/** The tenants the gateway serves: the config's, or one `default` tenant when it defines none. */
export function tenantsOf(config: LoadedConfig): LoadedConfig['tenants'] {
  if (config.tenants.length > 0) return config.tenants;
  return [{ id: DEFAULT_TENANT, apiKeys: [], features: [], integrations: config.integrations.map((i) => i.name) }];
}

/** Where rate-limit and breaker state lives (`server.store`), as /integrations/status shows it. */
export interface StateStoreStatus {
  kind: 'memory' | 'redis';
  /** `down`: Redis cannot be reached and each replica follows `onUnavailable`. Memory is always `up`. */
  status: 'connecting' | 'up' | 'down' | 'closed';
  onUnavailable: 'local' | 'reject' | null;
  /** ISO time the store entered this status; null for memory. */
  since: string | null;
}

/** The status of core's in-process store: the default without `server.store`. */
export const MEMORY_STORE_STATUS: Readonly<StateStoreStatus> = Object.freeze({
  kind: 'memory',
  status: 'up',
  onUnavailable: null,
  since: null,
});

/** A Redis URL fit for a log line: scheme, host, port and database, never the user or password. */
export function describeStoreUrl(url: string): string {
  if (!URL.canParse(url)) return 'redis (URL not shown)';
  const { protocol, host, pathname } = new URL(url);
  return `${protocol}//${host}${pathname === '/' ? '' : pathname}`;
}

export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/** Builds the registry and registers every tenant's integrations (nothing is started yet). */
export function buildRegistry(
  config: LoadedConfig,
  options: Pick<RegistryOptions, 'clock' | 'store' | 'events'> & { logger?: Logger } = {},
): Registry {
  const reserved = config.integrations.filter((i) => RESERVED_NAMES.has(i.name)).map((i) => i.name);
  if (reserved.length > 0) {
    throw new GatewayConfigError(
      `${config.file}: integration name${reserved.length > 1 ? 's' : ''} ${reserved.map((n) => `"${n}"`).join(', ')} ` +
        `collide with the routes /integrations/health/live and /integrations/health/ready: rename ${reserved.length > 1 ? 'them' : 'it'}`,
    );
  }
  const tenants = tenantsOf(config);
  const registry = createRegistry({
    ...options,
    tenants: Object.fromEntries(tenants.map((tenant) => [tenant.id, tenantOverrides(tenant)])),
  });
  const byName = new Map(config.integrations.map((integration) => [integration.name, integration]));
  for (const tenant of tenants) {
    for (const name of tenant.integrations) {
      const integration = byName.get(name);
      // The loader has already rejected names that do not exist; this only narrows the type.
      if (!integration) continue;
      registry.register(integration.connector, integrationConfig(config.defaults, integration), { tenant: tenant.id });
    }
  }
  return registry;
}
