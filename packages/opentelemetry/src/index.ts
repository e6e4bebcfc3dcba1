import type { BreakerState, EventBus, EventSource, HealthStatus, IntegrationEvents } from '@integrations/core';
import {
  type Attributes,
  type Meter,
  type MeterProvider,
  metrics,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { VERSION } from './version.js';

export { VERSION };

const SCOPE = '@integrations/opentelemetry';

export interface InstrumentOptions {
  /** Default: the global provider (whatever SDK the application registered; a no-op when none). */
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
}

/** Anything that exposes core's event bus: a registry, or a bus of your own. */
export interface Instrumentable {
  readonly events: EventBus;
}

/** Numeric encodings for gauges, so dashboards can alert on thresholds. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };
export const HEALTH_VALUE: Record<HealthStatus, number> = {
  healthy: 1,
  degraded: 0.5,
  initializing: 0,
  unhealthy: 0,
  disabled: 0,
};

function sourceAttributes(source: EventSource): Attributes {
  return {
    'integration.provider': source.provider,
    'integration.name': source.integration,
    'integration.tenant': source.tenant,
  };
}

const key = (source: EventSource) => `${source.tenant}\u0000${source.integration}`;

/**
 * Turns core's events into spans and metrics:
 * - a CLIENT span per attempt (`<provider> <operation>`), backdated to the attempt's start, with outcome and
 *   `error.type` set to the error kind on failure;
 * - `integration.call.duration` (histogram, seconds), `integration.calls` (counter by outcome),
 *   `integration.retries`, `integration.rate_limit.rejections`, `integration.bulkhead.rejections` (counters),
 *   `integration.breaker.state` (0 closed, 1 half-open, 2 open) and `integration.health` (1 healthy, 0.5 degraded,
 *   0 otherwise) as observable gauges.
 * Returns a function that detaches every listener.
 */
export function instrument(target: Instrumentable, options: InstrumentOptions = {}): () => void {
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, VERSION);
  const meter: Meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);

  const duration = meter.createHistogram('integration.call.duration', {
    description: 'Duration of one attempt of an integration operation',
    unit: 's',
  });
  const calls = meter.createCounter('integration.calls', { description: 'Attempts by outcome' });
  const retries = meter.createCounter('integration.retries', { description: 'Retries scheduled' });
  const rateLimited = meter.createCounter('integration.rate_limit.rejections', {
    description: 'Calls rejected by the rate limiter',
  });
  const bulkheadRejected = meter.createCounter('integration.bulkhead.rejections', {
    description: 'Calls rejected because the bulkhead was full',
  });

  // Gauges read the last state each integration reported.
  const breakerStates = new Map<string, { attributes: Attributes; value: number }>();
  const healthStates = new Map<string, { attributes: Attributes; value: number }>();
  const breakerGauge = meter.createObservableGauge('integration.breaker.state', {
    description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
  });
  const healthGauge = meter.createObservableGauge('integration.health', {
    description: 'Health: 1 healthy, 0.5 degraded, 0 otherwise',
  });
  const observeBreakers = (result: { observe(value: number, attributes: Attributes): void }) => {
    for (const { value, attributes } of breakerStates.values()) result.observe(value, attributes);
  };
  const observeHealth = (result: { observe(value: number, attributes: Attributes): void }) => {
    for (const { value, attributes } of healthStates.values()) result.observe(value, attributes);
  };
  breakerGauge.addCallback(observeBreakers);
  healthGauge.addCallback(observeHealth);

  const finish = (
    event: IntegrationEvents['call:success'] | IntegrationEvents['call:failure'],
    outcome: 'success' | 'failure',
  ) => {
    const attributes: Attributes = {
      ...sourceAttributes(event),
      'integration.operation': event.operation,
      'integration.outcome': outcome,
    };
    if (outcome === 'failure') attributes['error.type'] = (event as IntegrationEvents['call:failure']).error.kind;
    duration.record(event.durationMs / 1000, attributes);
    calls.add(1, attributes);

    const end = Date.now();
    const span = tracer.startSpan(`${event.provider} ${event.operation}`, {
      kind: SpanKind.CLIENT,
      startTime: end - event.durationMs,
      attributes: { ...attributes, 'integration.attempt': event.attempt },
    });
    if (outcome === 'failure') {
      const failure = event as IntegrationEvents['call:failure'];
      span.setAttribute('integration.will_retry', failure.willRetry);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.error.kind });
      // Only the kind and the (already redacted) message: never the cause, which may carry request details.
      span.addEvent('exception', {
        'exception.type': failure.error.name,
        'exception.message': failure.error.message,
      });
    }
    span.end(end);
  };

  const unsubscribe = [
    target.events.on('call:success', (event) => finish(event, 'success')),
    target.events.on('call:failure', (event) => finish(event, 'failure')),
    target.events.on('retry:scheduled', (event) =>
      retries.add(1, { ...sourceAttributes(event), 'integration.operation': event.operation }),
    ),
    target.events.on('rate:limited', (event) => {
      if (event.rejected) rateLimited.add(1, { ...sourceAttributes(event), 'integration.operation': event.operation });
    }),
    target.events.on('bulkhead:rejected', (event) =>
      bulkheadRejected.add(1, { ...sourceAttributes(event), 'integration.operation': event.operation }),
    ),
    target.events.on('breaker:state', (event) =>
      breakerStates.set(key(event), { attributes: sourceAttributes(event), value: BREAKER_STATE_VALUE[event.to] }),
    ),
    target.events.on('health:change', (event) =>
      healthStates.set(key(event), { attributes: sourceAttributes(event), value: HEALTH_VALUE[event.to] }),
    ),
  ];

  return () => {
    for (const off of unsubscribe) off();
    breakerGauge.removeCallback(observeBreakers);
    healthGauge.removeCallback(observeHealth);
  };
}
