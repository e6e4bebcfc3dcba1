/**
 * The ConnectorContext core hands a connector's `create`: `ctx.call` is the one road every operation takes
 * through the policy pipeline, error mapping, redaction and statistics.
 */
import type { Clock } from './clock.js';
import type { CallOptions, CallScope, ConnectorContext, ConnectorDefinition, Logger } from './contract.js';
import { type ErrorKind, IntegrationError } from './errors.js';
import { EventBus, type EventName, type EventSource, type IntegrationEvents } from './events.js';
import type { AttemptScope, ExecuteOptions, Pipeline } from './policies/types.js';
import type { Redactor } from './redact.js';
import { VERSION } from './version.js';

/** Running totals for one integration, kept as plain numbers so recording a call costs a few additions. */
export interface IntegrationStats {
  calls: number;
  failures: number;
  /** Sum of call durations (all attempts and waits included), successes and failures alike. */
  totalLatencyMs: number;
  lastErrorKind: ErrorKind | undefined;
  /** ISO timestamp of the last failure. */
  lastErrorAt: string | undefined;
}

/** What a context needs from the integration it belongs to. */
export interface ContextOwner {
  readonly definition: ConnectorDefinition;
  readonly source: EventSource;
  readonly pipeline: Pipeline;
  readonly redactor: Redactor;
  readonly stats: IntegrationStats;
  /** Redacting, stamped with the source. */
  readonly logger: Logger;
  readonly clock: Clock;
  /** Anything thrown, as a scrubbed IntegrationError stamped with where it happened. */
  map(error: unknown, operation?: string): IntegrationError;
}

/** A logger that scrubs secrets from messages and fields and stamps where the line came from. */
export function createRedactingLogger(target: Logger, redactor: Redactor, source: EventSource): Logger {
  const write =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void =>
      target[level](redactor.redact(String(message)), { ...source, ...(redactor.redactValue(fields) as object) });
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** The scope of an attempt that carries an idempotency key. Getters keep the attempt's signal lazy. */
class KeyedScope implements CallScope {
  private readonly scope: AttemptScope;
  readonly idempotencyKey: string;

  constructor(scope: AttemptScope, idempotencyKey: string) {
    this.scope = scope;
    this.idempotencyKey = idempotencyKey;
  }

  get signal(): AbortSignal {
    return this.scope.signal;
  }

  get attempt(): number {
    return this.scope.attempt;
  }
}

/** The context of one start of an integration; `signal` aborts when that instance closes. */
export function createConnectorContext(owner: ContextOwner, signal: AbortSignal): ConnectorContext {
  const { definition, source, pipeline, redactor, stats, clock } = owner;
  // Maps and scrubs each attempt's error before the pipeline emits it or decides on a retry.
  const mapError = (error: unknown): IntegrationError => owner.map(error);
  // What the pipeline is told about a call without options: two shared objects rather than one per call. The
  // integration's signal is the pipeline's to watch beside the caller's, so there is no AbortSignal.any per call.
  const plain = [false, true].map((retrySafe): ExecuteOptions => ({ closeSignal: signal, retrySafe, mapError }));

  return {
    ...source,
    userAgent: `@integrations/${definition.id}/${definition.version} @integrations/core/${VERSION}`,
    signal,
    logger: owner.logger,
    addSecret(value: string) {
      redactor.add(value);
    },

    async call<T>(operation: string, fn: (scope: CallScope) => Promise<T>, options?: CallOptions): Promise<T> {
      const meta = definition.operations[operation];
      if (meta === undefined || signal.aborted) {
        const message = meta
          ? `integration "${source.integration}" is closed`
          : `${definition.id} called operation "${operation}", which its definition does not declare in operations`;
        throw new IntegrationError(meta ? 'unavailable' : 'internal', message, {
          ...source,
          operation,
          retryable: false,
        });
      }
      const key = options?.idempotencyKey;
      const retrySafe = meta.idempotent || key !== undefined;
      const started = clock.now();
      stats.calls++;
      try {
        return await pipeline.execute(
          operation,
          // Without a key the attempt itself is the scope: no allocation, and its signal stays lazy.
          key === undefined ? (fn as (scope: AttemptScope) => Promise<T>) : (scope) => fn(new KeyedScope(scope, key)),
          options === undefined
            ? plain[+retrySafe]!
            : {
                signal: options.signal,
                closeSignal: signal,
                retrySafe,
                timeoutMs: options.timeoutMs,
                totalTimeoutMs: options.totalTimeoutMs,
                mapError,
              },
        );
      } catch (error) {
        const failure = owner.map(error, operation);
        stats.failures++;
        stats.lastErrorKind = failure.kind;
        stats.lastErrorAt = new Date().toISOString();
        throw failure;
      } finally {
        stats.totalLatencyMs += clock.now() - started;
      }
    },
  };
}

/**
 * The bus an integration's pipeline emits on: forwards to the registry's bus, scrubbing the error an event
 * carries first. Errors the connector maps are scrubbed already; an IntegrationError the connector throws itself
 * reaches the pipeline unmapped, and this is where it is scrubbed before anyone sees it.
 */
export class RedactingEventBus extends EventBus {
  private readonly target: EventBus;
  private readonly redactor: Redactor;

  constructor(target: EventBus, redactor: Redactor) {
    super();
    this.target = target;
    this.redactor = redactor;
  }

  override has(name: EventName): boolean {
    return this.target.has(name);
  }

  override emit<E extends EventName>(name: E, event: IntegrationEvents[E]): void {
    const error = (event as { error?: unknown }).error;
    if (IntegrationError.isInstance(error)) {
      const clean = this.redactor.redactError(error);
      if (clean !== error) event = { ...event, error: clean };
    }
    this.target.emit(name, event);
  }
}
