/**
 * The multi-tenant registry: holds integrations per tenant, runs their lifecycle (validate config, create,
 * health checks on an interval, close), hands out typed handles, and summarises their state for status pages.
 */
import { type Clock, systemClock } from './clock.js';
import {
  type ContextOwner,
  createConnectorContext,
  createRedactingLogger,
  type IntegrationStats,
  RedactingEventBus,
} from './context.js';
import {
  type ConnectorConfigInput,
  type ConnectorDefinition,
  type ConnectorInstance,
  type ConnectorInstanceOf,
  type HealthDetails,
  type HealthReport,
  type IntegrationType,
  isConnectorDefinition,
  type Logger,
  validateConfig,
} from './contract.js';
import { type ConfigIssue, type ErrorKind, IntegrationError, InvalidConfigError } from './errors.js';
import { type BreakerState, EventBus, type EventSource, type HealthStatus } from './events.js';
import { locate, noop } from './policies/internal.js';
import { checkSettings, settings as policySettings } from './policies/options.js';
import { createPipeline } from './policies/pipeline.js';
import type {
  BulkheadOptions,
  CircuitBreakerOptions,
  Pipeline,
  RateLimitOptions,
  RetryOptions,
  StateStore,
} from './policies/types.js';
import { Redactor, secretValuesAt } from './redact.js';

export const DEFAULT_TENANT = 'default';

/** How often core checks an integration's health, and how long one check may take. */
export interface HealthCheckOptions {
  /** Default 30 000 ms. */
  intervalMs?: number;
  /** Default 10 000 ms. */
  timeoutMs?: number;
}

/** The resilience settings of one integration. `false` turns a policy off. */
export interface IntegrationSettings {
  /** Per-attempt timeout. Default 30 000 ms. */
  timeoutMs?: number | false;
  /** Default: 3 attempts with exponential backoff (idempotent operations only). */
  retry?: RetryOptions | false;
  /** Default: none (limits are provider- and plan-specific). */
  rateLimit?: RateLimitOptions | false;
  /** Default: the breaker's defaults (5 consecutive failures, 60 s recovery). */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Default: none. */
  bulkhead?: BulkheadOptions | false;
}

/** One integration as registered: which connector settings, for whom, and how to keep it healthy. */
export interface IntegrationConfig<TConfig = unknown> extends IntegrationSettings {
  /** Unique per tenant; used in URLs and metric labels: letters, digits, `_`, `-`, `.`. */
  name: string;
  /** Defaults to the connector's type. */
  type?: IntegrationType;
  /** Default true. A disabled integration is registered but not started by `enableAll`. */
  enabled?: boolean;
  /** The connector's own config, as its schema accepts it (before defaults are applied). */
  config: TConfig;
  /** `false`: no periodic checks (an explicit `healthCheck()` still works). */
  healthCheck?: HealthCheckOptions | false;
  /** Labels shown in status output (owner, team, runbook). Never put secrets here. */
  metadata?: Record<string, unknown>;
}

/** What one tenant changes over every integration's settings: its own limits, SLA and feature flags. */
export interface TenantOverrides {
  timeoutMs?: number | false;
  retry?: RetryOptions | false;
  rateLimit?: Partial<RateLimitOptions> | false;
  circuitBreaker?: CircuitBreakerOptions | false;
  bulkhead?: Partial<BulkheadOptions> | false;
  /** Feature flags the tenant has, for the application to read back with `registry.features()`. */
  features?: readonly string[];
  /** What the tenant was promised; `summary()` says whether each integration meets it. */
  sla?: ServiceLevel;
}

export interface ServiceLevel {
  /** Percent of calls that succeed, e.g. 99.9. */
  availability?: number;
  /** Mean call latency, in ms. */
  latencyMs?: number;
}

export interface RegistryOptions {
  tenants?: Readonly<Record<string, TenantOverrides>>;
  clock?: Clock;
  /** Where rate-limit and breaker state lives. Default: in memory, per process. */
  store?: StateStore;
  /** Receives core's own log lines and every connector's `ctx.logger` lines, redacted. Default: silent. */
  logger?: Logger;
  /** Bring your own bus (e.g. shared with other registries). Default: a new one, at `registry.events`. */
  events?: EventBus;
}

export interface TenantOption {
  /** Default `default`. */
  tenant?: string;
}

/**
 * What `get` returns: the connector's operations, plus the integration's identity, live status, health check
 * and the raw SDK client.
 */
export type IntegrationHandle<I extends ConnectorInstance = ConnectorInstance> = Omit<
  I,
  'healthCheck' | 'close' | 'client'
> & {
  readonly name: string;
  readonly tenant: string;
  readonly provider: string;
  /** Live: read it again rather than keeping it. */
  readonly status: HealthStatus;
  /** Checks the provider now (or joins the check in flight) and updates `status`. */
  healthCheck(): Promise<HealthReport>;
  /** Stops this integration (like `registry.disable(name)`); `registry.enable(name)` starts it again. */
  close(): Promise<void>;
  /** The SDK's own client. Throws `unavailable` while the integration is not running. */
  readonly client: I['client'];
};

export interface IntegrationInfo {
  name: string;
  tenant: string;
  provider: string;
  type: IntegrationType;
  category: string;
  status: HealthStatus;
  enabled: boolean;
}

export interface IntegrationSummary extends IntegrationInfo {
  displayName: string;
  /** Null when the integration has no breaker. */
  breaker: BreakerState | null;
  /** Rate-limit tokens available now; null without a rate limit. */
  rateLimitHeadroom: number | null;
  calls: number;
  failures: number;
  /** 0..1, null before the first call. */
  successRate: number | null;
  meanLatencyMs: number | null;
  lastErrorKind: ErrorKind | null;
  lastErrorAt: string | null;
  lastHealth: HealthReport | null;
  /** The tenant's service level and whether this integration meets it (null before the first call). */
  sla: (ServiceLevel & { met: boolean | null }) | null;
  metadata: Record<string, unknown>;
}

export interface RegistrySummary {
  /** ISO timestamp. */
  generatedAt: string;
  total: number;
  byType: Record<string, number>;
  byStatus: Record<HealthStatus, number>;
  /** Over every call of every integration in scope: 0..1, null before the first call. */
  successRate: number | null;
  meanLatencyMs: number | null;
  integrations: IntegrationSummary[];
}

export interface Registry {
  /** Lifecycle and call events of every integration: `registry.events.on('call:failure', ...)`. */
  readonly events: EventBus;
  /**
   * Registers an integration (does not start it: `enableAll` or `enable` does). Throws InvalidConfigError for
   * malformed settings and a `conflict` error when the name is taken in that tenant.
   */
  register<D extends ConnectorDefinition>(
    definition: D,
    config: IntegrationConfig<ConnectorConfigInput<D>>,
    options?: TenantOption,
  ): IntegrationHandle<ConnectorInstanceOf<D>>;
  /** A registered integration. Throws a `not_found` error for a name the tenant does not have. */
  get<D extends ConnectorDefinition = ConnectorDefinition>(
    name: string,
    options?: TenantOption,
  ): IntegrationHandle<ConnectorInstanceOf<D>>;
  has(name: string, options?: TenantOption): boolean;
  list(options?: TenantOption): IntegrationInfo[];
  /** Every tenant that has an integration registered. */
  tenants(): string[];
  /** The tenant's feature flags from `createRegistry({ tenants })`. */
  features(options?: TenantOption): readonly string[];
  /** Starts one integration; resolves with its first health report. Rejects when its config or `create` fails. */
  enable(name: string, options?: TenantOption): Promise<HealthReport>;
  disable(name: string, options?: TenantOption): Promise<void>;
  /**
   * Starts every integration registered with `enabled` not false (in one tenant, or all). Waits for all;
   * if any fail to start, rejects with an AggregateError listing them (the others are running).
   */
  enableAll(options?: TenantOption): Promise<void>;
  disableAll(options?: TenantOption): Promise<void>;
  /** Counts, rates and per-integration state for status pages. Never contains config values. */
  summary(options?: TenantOption): RegistrySummary;
  /** Stops everything, once. Later calls return the same promise. */
  close(): Promise<void>;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const STATUSES: readonly HealthStatus[] = ['initializing', 'healthy', 'degraded', 'unhealthy', 'disabled'];

/** A tenant's override laid over the integration's setting: `false` turns it off, an object changes fields. */
function merge<T extends object>(base: T | false | undefined, override: Partial<T> | false | undefined) {
  return override === undefined ? base : override && ({ ...base, ...override } as T);
}

/** The integration's settings with defaults filled in and the tenant's overrides laid over them. */
function effectiveSettings(config: IntegrationSettings, tenant: TenantOverrides = {}): IntegrationSettings {
  return {
    timeoutMs: tenant.timeoutMs ?? config.timeoutMs ?? 30_000,
    retry: merge(config.retry ?? {}, tenant.retry),
    rateLimit: merge(config.rateLimit, tenant.rateLimit),
    circuitBreaker: merge(config.circuitBreaker ?? {}, tenant.circuitBreaker),
    bulkhead: merge(config.bulkhead, tenant.bulkhead),
  };
}

function checkTenant(tenant: string): void {
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    throw new IntegrationError(
      'invalid_request',
      `tenant ${JSON.stringify(tenant)} is not a valid tenant id (letters, digits, "_", ".", ":", "@", "-")`,
      { retryable: false },
    );
  }
}

interface Shared {
  events: EventBus;
  clock: Clock;
  store: StateStore | undefined;
  logger: Logger;
  isClosed(): boolean;
}

/** One registered integration: its settings, pipeline, statistics, and the running instance when started. */
class Integration implements ContextOwner {
  readonly source: EventSource;
  readonly redactor = new Redactor();
  readonly stats: IntegrationStats = {
    calls: 0,
    failures: 0,
    totalLatencyMs: 0,
    lastErrorKind: undefined,
    lastErrorAt: undefined,
  };
  readonly pipeline: Pipeline;
  readonly handle: IntegrationHandle;
  readonly type: IntegrationType;
  readonly logger: Logger;
  readonly clock: Clock;
  private readonly shared: Shared;
  readonly definition: ConnectorDefinition;
  readonly config: IntegrationConfig;
  private readonly sla: ServiceLevel | undefined;
  private readonly intervalMs: number | undefined;
  private readonly checkTimeoutMs: number;
  status: HealthStatus;
  enabled: boolean;
  instance: ConnectorInstance | undefined;
  private lastReport: HealthReport | undefined;
  private startError: IntegrationError | undefined;
  private abort: AbortController | undefined;
  private starting: Promise<HealthReport> | undefined;
  private checking: { generation: number; promise: Promise<HealthReport> } | undefined;
  private timer: unknown;
  /** Bumped whenever the integration stops, so work begun before then cannot overwrite newer state. */
  private generation = 0;
  private readonly bound = new Map<PropertyKey, { fn: unknown; bound: unknown }>();
  private boundFor: ConnectorInstance | undefined;

  constructor(
    shared: Shared,
    definition: ConnectorDefinition,
    config: IntegrationConfig,
    tenant: string,
    settings: IntegrationSettings,
    sla: ServiceLevel | undefined,
  ) {
    this.shared = shared;
    this.definition = definition;
    this.config = config;
    this.sla = sla;
    this.clock = shared.clock;
    const source = (this.source = { provider: definition.id, integration: config.name, tenant });
    this.type = config.type ?? definition.type;
    this.enabled = config.enabled !== false;
    this.status = this.enabled ? 'initializing' : 'disabled';
    const health = config.healthCheck;
    const { intervalMs, timeoutMs } = policySettings('healthCheck', health || undefined);
    this.intervalMs = health === false ? undefined : intervalMs;
    this.checkTimeoutMs = timeoutMs!;
    // Input secrets are known before validation, so even a config error cannot echo one.
    for (const secret of secretValuesAt(config.config, definition.secrets)) this.redactor.add(secret);
    this.logger = createRedactingLogger(shared.logger, this.redactor, source);
    this.pipeline = createPipeline({
      ...settings,
      clock: shared.clock,
      events: new RedactingEventBus(shared.events, this.redactor),
      source,
      store: shared.store,
      key: `${tenant}/${config.name}`,
    });
    this.handle = createHandle(this);
  }

  get name(): string {
    return this.source.integration;
  }

  get tenant(): string {
    return this.source.tenant;
  }

  /**
   * Turns anything thrown into a scrubbed IntegrationError stamped with where it happened. The connector's
   * `mapError` maps foreign errors; if it throws or returns something else, the failure becomes `internal`.
   */
  map(error: unknown, operation?: string): IntegrationError {
    let mapped = error as IntegrationError;
    if (!IntegrationError.isInstance(error)) {
      try {
        mapped = this.definition.mapError(error);
        if (!IntegrationError.isInstance(mapped)) throw mapped;
      } catch (failure) {
        mapped = new IntegrationError(
          'internal',
          `${this.definition.id}: mapError did not return an IntegrationError`,
          {
            cause: failure === mapped ? error : failure,
          },
        );
      }
    }
    return this.redactor.redactError(locate(mapped, operation as string, this.source));
  }

  /** Starts the integration if it is not running; resolves with the first health report. */
  async enable(): Promise<HealthReport> {
    this.enabled = true;
    while (this.starting) {
      // Join the start in flight. If a disable cancelled it, and nothing disabled us since, start afresh.
      const report = await this.starting;
      if (this.startError) throw this.startError;
      if (this.instance || !this.enabled) return report;
    }
    if (this.instance) return this.lastReport ?? this.check();
    const starting = this.start().finally(() => {
      if (this.starting === starting) this.starting = undefined;
    });
    this.starting = starting;
    const report = await starting;
    if (this.startError) throw this.startError;
    return report;
  }

  async disable(): Promise<void> {
    this.enabled = false;
    await this.stop();
    // An enable may have come in while this one waited for a start to finish: the later call wins.
    if (!this.enabled) this.setStatus('disabled');
  }

  async healthCheck(): Promise<HealthReport> {
    const { startError } = this;
    if (!this.enabled) return this.report('disabled', 0);
    if (this.starting) return this.starting;
    if (this.instance) return this.check();
    // Registered but never started: say so instead of starting it behind the caller's back.
    if (!startError) return this.report(this.status, 0, undefined, this.unavailable('healthCheck'));
    const failed = () => this.lastReport ?? this.report('unhealthy', 0, undefined, startError);
    // A failed start is retried (the provider may be back); a bad config cannot heal by itself.
    return startError.kind === 'invalid_config' ? failed() : this.enable().catch(failed);
  }

  /** Why an operation cannot run now. */
  unavailable(operation: string): IntegrationError {
    const { startError, name } = this;
    const reason = this.shared.isClosed()
      ? 'is closed: the registry was closed'
      : !this.enabled
        ? `is disabled: call registry.enable('${name}') first`
        : startError
          ? `failed to start (${startError.kind}): ${startError.message}`
          : 'is not initialized yet: await registry.enableAll() or registry.enable(name) first';
    return new IntegrationError('unavailable', `integration "${name}" (tenant "${this.tenant}") ${reason}`, {
      ...this.source,
      operation,
      retryable: false,
    });
  }

  /** A function of the running instance, bound to it (connectors built as classes keep their `this`). */
  member(instance: ConnectorInstance, prop: PropertyKey): unknown {
    const value = Reflect.get(instance, prop);
    if (typeof value !== 'function') return value;
    if (this.boundFor !== instance) {
      this.bound.clear();
      this.boundFor = instance;
    }
    let cached = this.bound.get(prop);
    if (cached?.fn !== value) this.bound.set(prop, (cached = { fn: value, bound: value.bind(instance) }));
    return cached!.bound;
  }

  private async start(): Promise<HealthReport> {
    const generation = ++this.generation;
    const abort = (this.abort = new AbortController());
    const { definition, clock } = this;
    this.startError = undefined;
    // A retry after a failed start stays `unhealthy` until it succeeds: no flapping through `initializing`.
    if (this.status !== 'unhealthy') this.setStatus('initializing');
    const began = clock.now();
    let instance: ConnectorInstance;
    try {
      const parsed = await validateConfig(definition, this.config.config);
      for (const secret of secretValuesAt(parsed, definition.secrets)) this.redactor.add(secret);
      instance = await definition.create(parsed, createConnectorContext(this, abort.signal));
      if (typeof instance?.healthCheck !== 'function') {
        throw new IntegrationError('internal', `${definition.id}: create() must return an object with healthCheck()`);
      }
    } catch (error) {
      if (generation !== this.generation) return this.report(this.status, 0);
      abort.abort();
      this.abort = undefined;
      const failure = (this.startError = this.map(error));
      this.logger.error('integration failed to start', { error: failure });
      const report = this.record(this.report('unhealthy', clock.now() - began, undefined, failure), failure);
      if (failure.kind !== 'invalid_config') this.schedule();
      return report;
    }
    if (generation !== this.generation) {
      // Disabled or closed while `create` ran: this instance never becomes visible.
      await this.closeInstance(instance);
      return this.report(this.status, 0);
    }
    this.instance = instance;
    const report = await this.check();
    this.schedule();
    return report;
  }

  private async stop(): Promise<void> {
    this.generation++;
    this.clearTimer();
    const { instance, abort, starting } = this;
    this.instance = this.abort = this.startError = undefined;
    abort?.abort();
    if (instance) await this.closeInstance(instance);
    // A start in flight sees the new generation and closes what it created.
    if (starting) await starting;
  }

  private async closeInstance(instance: ConnectorInstance): Promise<void> {
    try {
      await instance.close?.();
    } catch (error) {
      this.logger.warn('integration failed to close cleanly', { error: this.map(error) });
    }
  }

  /** One health check at a time: a caller arriving while one runs gets its result. */
  private check(): Promise<HealthReport> {
    const { generation } = this;
    // A check left over from before a restart belongs to the old instance: the new one gets its own.
    if (this.checking?.generation === generation) return this.checking.promise;
    const checking = {
      generation,
      promise: this.runCheck().finally(() => {
        if (this.checking === checking) this.checking = undefined;
      }),
    };
    this.checking = checking;
    return checking.promise;
  }

  private async runCheck(): Promise<HealthReport> {
    const { instance, abort, generation, clock, checkTimeoutMs } = this;
    if (!instance || !abort) return this.report(this.status, 0);
    const controller = new AbortController();
    const onClose = () => controller.abort(abort.signal.reason);
    abort.signal.addEventListener('abort', onClose, { once: true });
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => {
        const error = new IntegrationError('timeout', `health check timed out after ${checkTimeoutMs} ms`, this.source);
        controller.abort(error);
        reject(error);
      }, checkTimeoutMs);
    });
    const began = clock.now();
    let report: HealthReport;
    let failure: IntegrationError | undefined;
    try {
      const details = await Promise.race([instance.healthCheck({ signal: controller.signal }), timeout]);
      const clean = this.redactor.redactValue(details ?? {}) as HealthDetails;
      report = this.report(clean.degraded === true ? 'degraded' : 'healthy', clock.now() - began, clean);
    } catch (error) {
      failure = this.map(error);
      // Throttled is reachable but constrained: degraded, not down.
      const status = failure.kind === 'rate_limited' ? 'degraded' : 'unhealthy';
      report = this.report(status, clock.now() - began, undefined, failure);
    } finally {
      clock.clearTimeout(timer);
      abort.signal.removeEventListener('abort', onClose);
    }
    return generation === this.generation ? this.record(report, failure) : report;
  }

  private report(status: HealthStatus, latencyMs: number, details = {}, error?: IntegrationError): HealthReport {
    return {
      status,
      latencyMs: Math.max(0, Math.round(latencyMs * 1000) / 1000),
      checkedAt: new Date().toISOString(),
      details,
      error: error && { kind: error.kind, message: this.redactor.redact(error.message) },
    };
  }

  private record(report: HealthReport, failure: IntegrationError | undefined): HealthReport {
    this.lastReport = report;
    this.setStatus(report.status, failure);
    return report;
  }

  setStatus(to: HealthStatus, error?: IntegrationError): void {
    const from = this.status;
    if (from === to) return;
    this.status = to;
    const { events } = this.shared;
    if (events.has('health:change')) events.emit('health:change', { ...this.source, from, to, error });
  }

  /** Next periodic check. Scheduled after the previous one finished, so checks never overlap. */
  private schedule(): void {
    if (this.intervalMs === undefined || !this.enabled || this.shared.isClosed()) return;
    this.clearTimer();
    const { generation } = this;
    this.timer = this.clock.setTimeout(async () => {
      this.timer = undefined;
      if (generation !== this.generation) return;
      if (this.instance) {
        await this.check();
        this.schedule();
      } else if (!this.starting) {
        // A failed start: try again; start() schedules the next tick itself.
        await this.enable().catch(noop);
      }
    }, this.intervalMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  summary(): IntegrationSummary {
    const { stats, definition, sla } = this;
    const { calls } = stats;
    const headroom = this.pipeline.rateLimitHeadroom();
    const successRate = calls === 0 ? null : (calls - stats.failures) / calls;
    const meanLatencyMs = calls === 0 ? null : stats.totalLatencyMs / calls;
    const met =
      successRate === null || meanLatencyMs === null
        ? null
        : (sla?.availability ?? 0) <= successRate * 100 && meanLatencyMs <= (sla?.latencyMs ?? Infinity);
    // Fields written out, not `...this.info()`: V8 builds a spread followed by more keys through a slow path that
    // made this 40 times slower, and status pages call it for every integration on every request.
    const { name, tenant, type, status, enabled } = this;
    return {
      name,
      tenant,
      provider: definition.id,
      type,
      category: definition.category,
      status,
      enabled,
      displayName: definition.displayName,
      breaker: this.pipeline.breakerState() ?? null,
      rateLimitHeadroom: headroom === undefined ? null : Math.floor(headroom),
      calls,
      failures: stats.failures,
      successRate,
      meanLatencyMs,
      lastErrorKind: stats.lastErrorKind ?? null,
      lastErrorAt: stats.lastErrorAt ?? null,
      lastHealth: this.lastReport ?? null,
      sla: sla ? { ...sla, met } : null,
      metadata: this.redactor.redactValue(this.config.metadata ?? {}) as Record<string, unknown>,
    };
  }

  info(): IntegrationInfo {
    const { name, tenant, definition, type, status, enabled } = this;
    return { name, tenant, provider: definition.id, type, category: definition.category, status, enabled };
  }
}

/**
 * The handle is a Proxy, so it always reaches the instance running now: after a disable/enable cycle the same
 * handle talks to the new instance, and while nothing runs every operation rejects with `unavailable`.
 */
function createHandle(integration: Integration): IntegrationHandle {
  const healthCheck = () => integration.healthCheck();
  const close = () => integration.disable();
  // What the handle itself answers, read on each access (so `status` is live).
  const own: Record<PropertyKey, () => unknown> = {
    name: () => integration.name,
    tenant: () => integration.tenant,
    provider: () => integration.definition.id,
    status: () => integration.status,
    healthCheck: () => healthCheck,
    close: () => close,
    client: () => {
      if (!integration.instance) throw integration.unavailable('client');
      return integration.instance.client;
    },
  };
  return new Proxy(Object.create(null) as IntegrationHandle, {
    get(_target, prop) {
      // Never thenable: `await registry.get(...)` must yield the handle itself.
      if (prop === 'then') return undefined;
      if (Object.hasOwn(own, prop)) return own[prop]!();
      const instance = integration.instance;
      if (instance) return integration.member(instance, prop);
      return typeof prop === 'symbol' ? undefined : unavailableMember(integration, prop);
    },
    has(_target, prop) {
      if (Object.hasOwn(own, prop)) return true;
      return integration.instance !== undefined && prop in integration.instance;
    },
  });
}

/** Stands in for an operation (or a namespace of them) while the integration is not running. */
function unavailableMember(integration: Integration, path: string): unknown {
  const reject = () => Promise.reject(integration.unavailable(path));
  return new Proxy(reject, {
    get(target, prop) {
      if (prop === 'then' || typeof prop === 'symbol') return Reflect.get(target, prop);
      return unavailableMember(integration, `${path}.${prop}`);
    },
  });
}

/** Creates the registry. Integrations are isolated per tenant: own instances, breakers and rate limits. */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const events = options.events ?? new EventBus();
  const tenantOverrides = options.tenants ?? {};
  const issues: ConfigIssue[] = [];
  for (const [tenant, overrides] of Object.entries(tenantOverrides)) {
    checkTenant(tenant);
    const at = `tenants.${tenant}.`;
    // Partial: a tenant may change only the burst of a rate limit the integration defines.
    checkSettings(overrides as Record<string, unknown>, at, issues, true);
    const { features, sla = {} } = overrides;
    if (features !== undefined && !(Array.isArray(features) && features.every((f) => typeof f === 'string'))) {
      issues.push({ path: `${at}features`, message: 'must be an array of strings' });
    }
    for (const [key, value] of Object.entries(sla)) {
      if (!(typeof value === 'number' && value > 0 && (key !== 'availability' || value <= 100))) {
        issues.push({ path: `${at}sla.${key}`, message: 'must be a positive number (availability ≤ 100)' });
      }
    }
  }
  if (issues.length > 0) throw new InvalidConfigError('registry', issues);

  let closed = false;
  let closing: Promise<void> | undefined;
  const shared: Shared = {
    events,
    clock: options.clock ?? systemClock,
    store: options.store,
    logger: options.logger ?? { debug: noop, info: noop, warn: noop, error: noop },
    isClosed: () => closed,
  };
  const byTenant = new Map<string, Map<string, Integration>>();

  const tenantOf = (opts: TenantOption | undefined): string => {
    const tenant = opts?.tenant ?? DEFAULT_TENANT;
    checkTenant(tenant);
    return tenant;
  };
  const integrationsOf = (opts: TenantOption | undefined) =>
    byTenant.get(tenantOf(opts)) ?? new Map<string, Integration>();
  /** One tenant's integrations, or every tenant's without a tenant option. */
  const scope = (opts: TenantOption | undefined): Integration[] =>
    opts?.tenant === undefined
      ? [...byTenant.values()].flatMap((m) => [...m.values()])
      : [...integrationsOf(opts).values()];
  const find = (name: string, opts: TenantOption | undefined): Integration => {
    const found = integrationsOf(opts).get(name);
    if (found) return found;
    const tenant = tenantOf(opts);
    // Only this tenant's names: the error must not reveal what other tenants have.
    const known = [...integrationsOf(opts).keys()].slice(0, 20).join(', ');
    throw new IntegrationError(
      'not_found',
      `no integration "${name}" is registered for tenant "${tenant}"${known && `; registered: ${known}`}`,
      { integration: name, tenant, retryable: false },
    );
  };
  const assertOpen = (what: string) => {
    if (closed) {
      throw new IntegrationError('unavailable', `cannot ${what}: the registry is closed`, { retryable: false });
    }
  };

  const registry: Registry = {
    events,

    register(definition, config, opts) {
      assertOpen('register');
      const tenant = tenantOf(opts);
      if (!isConnectorDefinition(definition)) {
        throw new IntegrationError('invalid_config', 'register() expects a connector built with defineConnector()', {
          tenant,
          retryable: false,
        });
      }
      const provider = definition.id;
      if (typeof config !== 'object' || config === null) {
        throw new InvalidConfigError(provider, [{ path: '', message: 'integration config must be an object' }], {
          tenant,
        });
      }
      const invalidConfig = (found: ConfigIssue[]) =>
        new InvalidConfigError(provider, found, { tenant, integration: String(config.name) });
      const found: ConfigIssue[] = [];
      if (typeof config.name !== 'string' || !NAME_PATTERN.test(config.name)) {
        found.push({ path: 'name', message: 'must be 1–128 letters, digits, "_", "-" or "." (used in URLs)' });
      }
      if (config.enabled !== undefined && typeof config.enabled !== 'boolean') {
        found.push({ path: 'enabled', message: 'must be a boolean' });
      }
      checkSettings(config as unknown as Record<string, unknown>, '', found, true);
      if (found.length > 0) throw invalidConfig(found);
      const integrations = byTenant.get(tenant) ?? new Map<string, Integration>();
      if (integrations.has(config.name)) {
        throw new IntegrationError(
          'conflict',
          `integration "${config.name}" is already registered for tenant "${tenant}"`,
          { provider, integration: config.name, tenant, code: 'duplicate_integration', retryable: false },
        );
      }
      const overrides = tenantOverrides[tenant];
      const sla = overrides?.sla;
      const settings = effectiveSettings(config, overrides);
      // Checked again once merged: a tenant's partial rate limit needs requestsPerMinute from somewhere.
      checkSettings(settings as Record<string, unknown>, '', found, false);
      if (found.length > 0) throw invalidConfig(found);
      let integration: Integration;
      try {
        integration = new Integration(shared, definition, config as IntegrationConfig, tenant, settings, sla);
      } catch (error) {
        // What only a policy checks (retry.jitter): reported like every other bad setting.
        throw invalidConfig([{ path: '', message: String((error as Error)?.message) }]);
      }
      byTenant.set(tenant, integrations.set(config.name, integration));
      return integration.handle as unknown as IntegrationHandle<ConnectorInstanceOf<typeof definition>>;
    },

    get(name, opts) {
      return find(name, opts).handle as unknown as IntegrationHandle<never>;
    },

    has(name, opts) {
      return integrationsOf(opts).has(name);
    },

    list(opts) {
      return [...integrationsOf(opts).values()].map((i) => i.info());
    },

    tenants() {
      return [...byTenant.keys()];
    },

    features(opts) {
      return [...(tenantOverrides[tenantOf(opts)]?.features ?? [])];
    },

    enable(name, opts) {
      const integration = find(name, opts);
      assertOpen('enable');
      return integration.enable();
    },

    disable(name, opts) {
      return find(name, opts).disable();
    },

    async enableAll(opts) {
      assertOpen('enable');
      const targets = scope(opts).filter((i) => i.config.enabled !== false);
      const results = await Promise.allSettled(targets.map((i) => i.enable()));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as IntegrationError] : []));
      if (failures.length > 0) {
        const list = failures.map((e) => `${e.integration} (tenant ${e.tenant}): ${e.message}`).join('; ');
        throw new AggregateError(
          failures,
          `${failures.length} of ${targets.length} integrations failed to start: ${list}`,
        );
      }
    },

    async disableAll(opts) {
      await Promise.all(scope(opts).map((i) => i.disable()));
    },

    summary(opts) {
      const entries = scope(opts);
      const integrations = entries.map((i) => i.summary());
      const byType: Record<string, number> = {};
      const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<HealthStatus, number>;
      let calls = 0;
      let failures = 0;
      let latency = 0;
      for (const { type, status } of integrations) {
        byType[type] = (byType[type] ?? 0) + 1;
        byStatus[status]++;
      }
      for (const { stats } of entries) {
        calls += stats.calls;
        failures += stats.failures;
        latency += stats.totalLatencyMs;
      }
      return {
        generatedAt: new Date().toISOString(),
        total: integrations.length,
        byType,
        byStatus,
        successRate: calls === 0 ? null : (calls - failures) / calls,
        meanLatencyMs: calls === 0 ? null : latency / calls,
        integrations,
      };
    },

    close() {
      closed = true;
      closing ??= Promise.all(scope(undefined).map((i) => i.disable())).then(noop);
      return closing;
    },
  };
  return registry;
}
