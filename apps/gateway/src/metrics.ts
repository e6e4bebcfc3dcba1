/**
 * Prometheus metrics from the registry's events. Every event is recorded twice: in the scrape of all tenants
 * (the admin's) and in its tenant's own prom-client Registry, so a tenant's scrape holds only its own series
 * and both are rendered by prom-client itself.
 */
import type { HealthStatus, Registry as IntegrationRegistry, IntegrationSummary } from '@integrations/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const STATUSES: readonly HealthStatus[] = ['initializing', 'healthy', 'degraded', 'unhealthy', 'disabled'];
const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
const CALL_LABELS = ['tenant', 'integration', 'provider', 'operation', 'outcome'] as const;
const OP_LABELS = ['tenant', 'integration', 'provider', 'operation'] as const;
const SOURCE_LABELS = ['tenant', 'integration', 'provider'] as const;

/** The metric families, created once per prom-client Registry. */
class MetricSet {
  readonly attemptDuration: Histogram<(typeof CALL_LABELS)[number]>;
  readonly calls: Counter<(typeof CALL_LABELS)[number]>;
  readonly retries: Counter<(typeof OP_LABELS)[number]>;
  readonly rateLimitRejections: Counter<(typeof OP_LABELS)[number]>;
  readonly bulkheadRejections: Counter<(typeof OP_LABELS)[number]>;
  readonly breakerState: Gauge<(typeof SOURCE_LABELS)[number] | 'state'>;
  readonly health: Gauge<(typeof SOURCE_LABELS)[number] | 'status'>;

  constructor(registry: Registry, summaries: (() => IntegrationSummary[]) | undefined) {
    const registers = [registry];
    this.attemptDuration = new Histogram({
      name: 'integrations_call_duration_seconds',
      help: 'Duration of each attempt of a connector operation, by outcome (success or the error kind).',
      labelNames: CALL_LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.calls = new Counter({
      name: 'integrations_calls_total',
      help: 'Connector operations by final outcome (success, or the error kind after retries).',
      labelNames: CALL_LABELS,
      registers,
    });
    this.retries = new Counter({
      name: 'integrations_retries_total',
      help: 'Retries scheduled after a retryable failure.',
      labelNames: OP_LABELS,
      registers,
    });
    this.rateLimitRejections = new Counter({
      name: 'integrations_rate_limit_rejections_total',
      help: 'Calls rejected by the rate limiter because no token came within the allowed wait.',
      labelNames: OP_LABELS,
      registers,
    });
    this.bulkheadRejections = new Counter({
      name: 'integrations_bulkhead_rejections_total',
      help: 'Calls rejected because the bulkhead and its queue were full.',
      labelNames: OP_LABELS,
      registers,
    });
    this.breakerState = new Gauge({
      name: 'integrations_circuit_breaker_state',
      help: 'Circuit breaker state: 1 for the current state, 0 for the others.',
      labelNames: [...SOURCE_LABELS, 'state'],
      registers,
    });
    this.health = new Gauge({
      name: 'integrations_health_status',
      help: 'Health of each integration: 1 for the current status, 0 for the others.',
      labelNames: [...SOURCE_LABELS, 'status'],
      registers,
    });
    if (summaries) {
      // Read at scrape time: headroom changes with every call and refill, not on an event.
      new Gauge({
        name: 'integrations_rate_limit_headroom',
        help: 'Rate-limit tokens available now (integrations with a rate limit only).',
        labelNames: SOURCE_LABELS,
        registers,
        collect() {
          this.reset();
          for (const s of summaries()) {
            if (s.rateLimitHeadroom !== null) {
              this.set({ tenant: s.tenant, integration: s.name, provider: s.provider }, s.rateLimitHeadroom);
            }
          }
        },
      });
    }
  }
}

type Source = { tenant: string; integration: string; provider: string };

export class GatewayMetrics {
  private readonly all = new Registry();
  private readonly allSet: MetricSet;
  private readonly tenants = new Map<string, { registry: Registry; set: MetricSet }>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly registry: IntegrationRegistry) {
    collectDefaultMetrics({ register: this.all, prefix: 'integrations_gateway_' });
    this.allSet = new MetricSet(this.all, () => registry.summary().integrations);
    for (const summary of registry.summary().integrations) this.track(summary);
    const events = registry.events;
    this.unsubscribe.push(
      events.on('call:success', (e) => {
        const labels = { ...sourceLabels(e), operation: e.operation, outcome: 'success' };
        this.each(e.tenant, (set) => {
          set.attemptDuration.observe(labels, e.durationMs / 1000);
          set.calls.inc(labels);
        });
      }),
      events.on('call:failure', (e) => {
        const labels = { ...sourceLabels(e), operation: e.operation, outcome: e.error.kind };
        this.each(e.tenant, (set) => {
          set.attemptDuration.observe(labels, e.durationMs / 1000);
          if (!e.willRetry) set.calls.inc(labels);
        });
      }),
      events.on('retry:scheduled', (e) => {
        this.each(e.tenant, (set) => set.retries.inc({ ...sourceLabels(e), operation: e.operation }));
      }),
      events.on('rate:limited', (e) => {
        if (!e.rejected) return;
        this.each(e.tenant, (set) => set.rateLimitRejections.inc({ ...sourceLabels(e), operation: e.operation }));
      }),
      events.on('bulkhead:rejected', (e) => {
        this.each(e.tenant, (set) => set.bulkheadRejections.inc({ ...sourceLabels(e), operation: e.operation }));
      }),
      events.on('breaker:state', (e) => {
        this.each(e.tenant, (set) => setOneOf(set.breakerState, sourceLabels(e), 'state', BREAKER_STATES, e.to));
      }),
      events.on('health:change', (e) => {
        this.each(e.tenant, (set) => setOneOf(set.health, sourceLabels(e), 'status', STATUSES, e.to));
      }),
    );
  }

  /** Starts the series of an integration at its current state (call after registering it). */
  track(summary: IntegrationSummary): void {
    const source = { tenant: summary.tenant, integration: summary.name, provider: summary.provider };
    this.each(summary.tenant, (set) => {
      setOneOf(set.health, source, 'status', STATUSES, summary.status);
      if (summary.breaker !== null) setOneOf(set.breakerState, source, 'state', BREAKER_STATES, summary.breaker);
    });
  }

  /** The exposition text: every tenant's series plus the process's (admin), or one tenant's series. */
  async render(tenant: string | undefined): Promise<{ contentType: string; body: string }> {
    const registry = tenant === undefined ? this.all : this.forTenant(tenant).registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private forTenant(tenant: string): { registry: Registry; set: MetricSet } {
    let entry = this.tenants.get(tenant);
    if (!entry) {
      const registry = new Registry();
      const set = new MetricSet(registry, () => this.registry.summary({ tenant }).integrations);
      entry = { registry, set };
      this.tenants.set(tenant, entry);
    }
    return entry;
  }

  private each(tenant: string, record: (set: MetricSet) => void): void {
    record(this.allSet);
    record(this.forTenant(tenant).set);
  }
}

function sourceLabels(e: Source): Source {
  return { tenant: e.tenant, integration: e.integration, provider: e.provider };
}

function setOneOf<L extends string>(
  gauge: Gauge<L>,
  source: Source,
  label: L,
  values: readonly string[],
  current: string,
): void {
  for (const value of values) {
    gauge.set({ ...source, [label]: value } as Record<L, string>, value === current ? 1 : 0);
  }
}
