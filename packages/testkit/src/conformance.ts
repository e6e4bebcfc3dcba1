import { randomBytes } from 'node:crypto';
import { format } from 'node:util';
import {
  type CallOptions,
  type ConnectorConfigInput,
  type ConnectorDefinition,
  type ConnectorInstanceOf,
  type ErrorKind,
  type EventName,
  type HealthReport,
  type IntegrationConfig,
  IntegrationError,
  type IntegrationHandle,
  IntegrationType,
  type Logger,
  type Registry,
  validateConfig,
} from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { freePort } from './launchers/ports.js';
import { createFaultProxy, type ErrorResponse, type FaultProxy, faults } from './proxy.js';
import { createCountingRelay } from './relay.js';

/** What the conformance suite hands `idempotentCall` and `nonIdempotentCall`: the registry's handle. */
export type ConformanceInstance<D extends ConnectorDefinition> = IntegrationHandle<ConnectorInstanceOf<D>>;

export interface DescribeConnectorOptions<D extends ConnectorDefinition> {
  /** Starts the real stand-in once for the file; returns its base URL and how to stop it. */
  standIn: () => Promise<{ url: string; stop: () => Promise<void> }>;
  /**
   * Config pointing the connector at `url` (the fault proxy, which forwards to the stand-in). `secret` is a unique
   * canary: put it in the connector's secret field, or use it as a wrong credential.
   */
  config: (url: string, canary: { secret: string }) => ConnectorConfigInput<D>;
  /** Config for healthy runs, when the canary cannot be the working secret (the stand-in checks it). */
  healthyConfig?: ((url: string) => ConnectorConfigInput<D>) | undefined;
  /** A config the schema must reject, and the field path the error must name. */
  invalidConfig: { config: unknown; path: string };
  /** A cheap idempotent operation, driven through the fault matrix. */
  idempotentCall: (instance: ConformanceInstance<D>, options: CallOptions) => Promise<unknown>;
  /** A side-effecting operation: retried only if every attempt carries the same idempotency key. */
  nonIdempotentCall?: ((instance: ConformanceInstance<D>, options: CallOptions) => Promise<unknown>) | undefined;
  /** The request header that carries the idempotency key (`idempotency-key`). */
  idempotencyKeyHeader?: string | undefined;
  /** Provider-shaped error body for an injected status, so the SDK parses it like the real provider's. */
  errorResponse?: ((status: number) => ErrorResponse) | undefined;
  /** The connector has no secret config at all (a local broker without auth): skips the secrets-declared rule. */
  noSecrets?: boolean | undefined;
}

/** Settings every conformance integration runs with: a short budget, fast retries, a breaker that stays closed. */
export const CONFORMANCE_SETTINGS = {
  timeoutMs: 1500,
  retry: { maxAttempts: 3, initialDelayMs: 10 },
  circuitBreaker: { failureThreshold: 10_000, minimumThroughput: 10_000 },
} as const;

const TENANT = 'conformance';
const NAME = 'conformance';
const EVENT_NAMES: readonly EventName[] = [
  'call:start',
  'call:success',
  'call:failure',
  'retry:scheduled',
  'breaker:state',
  'rate:limited',
  'bulkhead:rejected',
  'health:change',
];
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Idle keep-alive the close check announces: far longer than the check lasts, so pooled sockets stay open. */
const CLOSE_CHECK_KEEP_ALIVE_MS = 30_000;
/** How long sockets get to finish closing after the registry closed. */
const CLOSE_SETTLE_MS = 500;

/** A broken rule, stated so the connector's author knows what to change. */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
  constructor(rule: string, message: string) {
    super(`[${rule}] ${message}`);
  }
}

function check(condition: unknown, rule: string, message: () => string): asserts condition {
  if (!condition) throw new ConformanceError(rule, message());
}

/** JSON that never throws: cycles, bigints and functions become markers instead of errors. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (typeof v === 'function') return `[Function ${(v as { name?: string }).name ?? ''}]`;
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        return v;
      }) ?? String(value)
    );
  } catch (error) {
    return `[unserialisable: ${(error as Error).message}]`;
  }
}

function describeError(error: unknown): string {
  if (IntegrationError.isInstance(error)) return `${error.name} (kind '${error.kind}'): ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return safeJson(error);
}

interface CapturedEvent {
  name: EventName;
  payload: Record<string, unknown>;
}

interface Session {
  registry: Registry;
  handle: IntegrationHandle<ConnectorInstanceOf<ConnectorDefinition>>;
  events: CapturedEvent[];
  logLines: string[];
  errors: unknown[];
}

type Settings = Partial<Pick<IntegrationConfig, 'timeoutMs' | 'retry' | 'circuitBreaker'>>;

function activeSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPConnectWrap').length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the socket count stops changing (or a second passes), so a baseline is not taken mid-close. */
async function settledSockets(): Promise<number> {
  let last = activeSockets();
  for (let i = 0; i < 20; i++) {
    await sleep(50);
    const now = activeSockets();
    if (now === last && i >= 1) return now;
    last = now;
  }
  return last;
}

/**
 * Registers the conformance suite for a connector: metadata, config validation, declared secrets, lifecycle,
 * error mapping under injected faults, the non-idempotent retry rule, the secret canary, and abort. Runs the
 * connector through core's real registry against the real stand-in, with a fault proxy in between.
 */
export function describeConnector<D extends ConnectorDefinition>(
  definition: D,
  options: DescribeConnectorOptions<D>,
): void {
  const label = (definition as { id?: unknown }).id;
  describe(`${typeof label === 'string' ? label : 'connector'} conformance`, () => {
    let standIn: { url: string; stop: () => Promise<void> } | undefined;
    let standInUrl = '';
    let proxy: FaultProxy;
    const canary = `cnry${randomBytes(12).toString('hex')}`;

    beforeAll(async () => {
      standIn = await options.standIn();
      standInUrl = standIn.url;
      proxy = await createFaultProxy({ target: standIn.url, errorResponse: options.errorResponse });
    });
    afterAll(async () => {
      await proxy?.close();
      await standIn?.stop();
    });
    beforeEach(() => proxy?.reset());

    const healthyConfig = (url: string) => options.healthyConfig?.(url) ?? options.config(url, { secret: canary });
    const call = (session: Session, callOptions: CallOptions = {}) =>
      options.idempotentCall(session.handle as ConformanceInstance<D>, callOptions);

    /** One registry with one integration of the connector, closed after `run` whatever happens. */
    async function withIntegration(
      config: unknown,
      settings: Settings,
      run: (session: Session) => Promise<void>,
    ): Promise<void> {
      const logLines: string[] = [];
      const line =
        (level: string) =>
        (message: string, fields?: Record<string, unknown>): void => {
          logLines.push(`${level} ${message} ${safeJson(fields)}`);
        };
      const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
      const registry = createRegistry({ logger });
      const events: CapturedEvent[] = [];
      for (const name of EVENT_NAMES) {
        registry.events.on(name, (payload) =>
          events.push({ name, payload: payload as unknown as Record<string, unknown> }),
        );
      }
      const session: Session = {
        registry,
        // Replaced right below; registering may throw, and the session must still close the registry.
        handle: undefined as unknown as Session['handle'],
        events,
        logLines,
        errors: [],
      };
      try {
        session.handle = registry.register(
          definition,
          {
            name: NAME,
            config: config as ConnectorConfigInput<D>,
            ...CONFORMANCE_SETTINGS,
            // Periodic checks would send requests the fault script did not expect.
            healthCheck: false,
            ...settings,
          },
          { tenant: TENANT },
        ) as Session['handle'];
        await run(session);
      } finally {
        await registry.close();
      }
    }

    /** Starts the integration and makes one good call, so tokens and connections are in place before faults. */
    async function warmUp(session: Session): Promise<void> {
      const report = await session.registry.enable(NAME, { tenant: TENANT });
      check(report.status === 'healthy' || report.status === 'degraded', 'lifecycle', () =>
        unhealthyMessage(report, 'before injecting faults'),
      );
      try {
        await call(session);
      } catch (error) {
        throw new ConformanceError(
          'errors',
          `idempotentCall failed with no fault injected, so faults cannot be tested: ${describeError(error)}`,
        );
      }
      proxy.reset();
      session.events.length = 0;
    }

    /** Runs `fn`, expecting it to reject with an IntegrationError; records the error for the canary. */
    async function failure(session: Session, rule: string, what: string, fn: () => Promise<unknown>) {
      let result: unknown;
      try {
        result = await fn();
      } catch (error) {
        session.errors.push(error);
        check(
          IntegrationError.isInstance(error),
          rule,
          () =>
            `${what} rejected with a raw ${describeError(error)}; every failure must be an IntegrationError (map it in errors.ts)`,
        );
        return error;
      }
      throw new ConformanceError(rule, `${what} resolved (${safeJson(result).slice(0, 200)}) but should have failed`);
    }

    function unhealthyMessage(report: HealthReport, when: string): string {
      const error = report.error ? `: ${report.error.kind}: ${report.error.message}` : '';
      return `healthCheck reported '${report.status}' against the stand-in ${when}${error}`;
    }

    function failures(session: Session) {
      return session.events.filter((e) => e.name === 'call:failure').map((e) => e.payload.error as IntegrationError);
    }

    it('metadata: id, displayName, type, category, specificationVersion and operations are declared', () => {
      const rule = 'metadata';
      const d = definition as ConnectorDefinition;
      check(typeof d.id === 'string' && KEBAB.test(d.id), rule, () => `id ${safeJson(d.id)} must be kebab-case`);
      check(typeof d.displayName === 'string' && d.displayName.trim() !== '', rule, () => 'displayName is empty');
      const types = Object.values(IntegrationType) as string[];
      check(types.includes(d.type), rule, () => `type ${safeJson(d.type)} must be one of ${types.join(', ')}`);
      check(typeof d.category === 'string' && d.category.trim() !== '', rule, () => 'category is empty');
      check(
        d.specificationVersion === 'v1',
        rule,
        () => `specificationVersion is ${safeJson(d.specificationVersion)}; expected 'v1'`,
      );
      check(typeof d.version === 'string' && d.version !== '', rule, () => 'version is empty');
      const operations = Object.entries(d.operations ?? {});
      check(operations.length > 0, rule, () => 'operations is empty: declare every operation the connector exposes');
      for (const [name, meta] of operations) {
        check(
          typeof meta?.idempotent === 'boolean',
          rule,
          () => `operation '${name}' must declare idempotent: true or false`,
        );
      }
      check(typeof d.mapError === 'function', rule, () => 'mapError is missing');
      check(typeof d.create === 'function', rule, () => 'create is missing');
    });

    it(`config: the test config is accepted and an invalid one is rejected naming '${options.invalidConfig.path}'`, async () => {
      const rule = 'config';
      try {
        await validateConfig(definition, options.config(proxy.url, { secret: canary }));
      } catch (error) {
        throw new ConformanceError(rule, `the config from options.config was rejected: ${describeError(error)}`);
      }
      // Core may reject at register() or when the integration starts: either counts.
      const registry = createRegistry();
      let rejection: unknown;
      try {
        registry.register(
          definition,
          { name: NAME, config: options.invalidConfig.config as ConnectorConfigInput<D>, healthCheck: false },
          { tenant: TENANT },
        );
        await registry.enable(NAME, { tenant: TENANT });
      } catch (error) {
        rejection = error;
      } finally {
        await registry.close();
      }
      check(
        rejection !== undefined,
        rule,
        () => 'options.invalidConfig.config was accepted; the schema must reject it',
      );
      const error = rejection;
      check(
        IntegrationError.isInstance(error) && error.kind === 'invalid_config',
        rule,
        () => `an invalid config was rejected with ${describeError(error)}; expected an InvalidConfigError`,
      );
      const issues = ((error as { issues?: { path: string }[] }).issues ?? []).map((i) => i.path);
      const path = options.invalidConfig.path;
      check(
        issues.some((p) => p === path || p.startsWith(`${path}.`)),
        rule,
        () =>
          `the InvalidConfigError names ${issues.map((p) => `'${p}'`).join(', ') || 'no field'}; expected '${path}'`,
      );
    });

    it('secrets: secret config fields are declared', () => {
      const rule = 'secrets';
      const secrets = (definition as ConnectorDefinition).secrets;
      if (options.noSecrets) {
        check(
          secrets.length === 0,
          rule,
          () => `noSecrets is set but the connector declares secrets (${secrets.join(', ')}); drop noSecrets`,
        );
        return;
      }
      check(
        secrets.length > 0,
        rule,
        () =>
          'the connector declares no secret fields; mark credentials with field.secret() (or pass noSecrets: true if it has none)',
      );
      const holders = pathsHolding(options.config(proxy.url, { secret: canary }), canary);
      check(
        holders.length > 0,
        rule,
        () =>
          'options.config does not use the canary `secret`; put it in the secret field (or use it as a wrong credential)',
      );
      for (const path of holders) {
        check(
          secrets.some((s) => path === s || path.startsWith(`${s}.`)),
          rule,
          () => `config field '${path}' holds the secret but is not declared secret (declared: ${secrets.join(', ')})`,
        );
      }
    });

    it('lifecycle: healthy against the stand-in', async () => {
      await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
        const report = await session.registry.enable(NAME, { tenant: TENANT });
        check(report.status === 'healthy', 'lifecycle', () => unhealthyMessage(report, 'at start'));
        const again = await session.handle.healthCheck();
        check(again.status === 'healthy', 'lifecycle', () => unhealthyMessage(again, 'on a second check'));
      });
    });

    it('lifecycle: unhealthy when the provider is down', async () => {
      const down = `http://127.0.0.1:${await freePort()}`;
      await withIntegration(healthyConfig(down), {}, async (session) => {
        const report = await session.registry.enable(NAME, { tenant: TENANT });
        check(
          report.status === 'unhealthy',
          'lifecycle',
          () => `healthCheck reported '${report.status}' with nothing listening at ${down}; it must reach the provider`,
        );
        const kind = report.error?.kind;
        check(
          kind === 'unavailable' || kind === 'timeout',
          'lifecycle',
          () =>
            `a refused connection was mapped to kind '${kind}'; expected 'unavailable' or 'timeout' (${report.error?.message})`,
        );
      });
    });

    it('lifecycle: close is idempotent and leaves no sockets open', async () => {
      const rule = 'lifecycle';
      // Idle connections of earlier tests drain within the proxy's keep-alive timeout.
      for (let i = 0; i < 30 && proxy.connections > 0; i++) await sleep(50);
      const baseline = await settledSockets();
      // A proxy that keeps idle connections for longer than the check lasts, so a pool nobody closes stays open,
      // behind a TCP relay that sees every connection the connector opens and whether it closed it.
      const patient = await createFaultProxy({
        target: standInUrl,
        errorResponse: options.errorResponse,
        keepAliveTimeoutMs: CLOSE_CHECK_KEEP_ALIVE_MS,
      });
      const relay = await createCountingRelay(patient.url).catch(async (error: unknown) => {
        await patient.close();
        throw error;
      });
      try {
        await withIntegration(healthyConfig(relay.url), {}, async (session) => {
          await session.registry.enable(NAME, { tenant: TENANT });
          await call(session);
          try {
            await session.handle.close();
            await session.handle.close();
            await session.registry.close();
            await session.registry.close();
          } catch (error) {
            throw new ConformanceError(rule, `closing twice threw: ${describeError(error)}`);
          }
          const closeWarnings = session.logLines.filter((l) => l.includes('failed to close'));
          check(closeWarnings.length === 0, rule, () => `close() failed: ${closeWarnings.join('; ')}`);
        });
        check(
          relay.opened > 0,
          rule,
          () => 'the connector opened no connection to the provider, so close() could not be checked',
        );
        // A short settle: sockets the connector closed finish closing within a few ticks.
        for (let i = 0; i < CLOSE_SETTLE_MS / 25 && relay.open > 0; i++) await sleep(25);
        check(
          relay.open === 0,
          rule,
          () =>
            `${relay.open} connection(s) to the provider still open after close() (${relay.opened} opened; checked ` +
            `${CLOSE_SETTLE_MS} ms after the registry closed, with the provider keeping idle connections for ` +
            `${CLOSE_CHECK_KEEP_ALIVE_MS / 1000} s): close() must release the SDK's connections. Give the SDK a ` +
            'keep-alive agent (or undici dispatcher) of its own and destroy it in close(), or close the SDK client; ' +
            'a shared pool (http.globalAgent, global fetch) keeps its sockets open after close()',
        );
      } finally {
        await relay.close();
        await patient.close();
      }
      const leaked = () => activeSockets() > baseline;
      for (let i = 0; i < 20 && leaked(); i++) await sleep(25);
      const extra = activeSockets() - baseline;
      check(
        extra <= 0,
        rule,
        () =>
          `${extra} TCP socket(s) still open after close(); close() must release every connection the connector opened`,
      );
    });

    for (const [status, kind] of [
      [401, 'auth'],
      [403, 'permission'],
      [404, 'not_found'],
    ] as const) {
      it(`errors: ${status} → ${kind}`, async () => {
        await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
          await warmUp(session);
          proxy.script(faults.status(status));
          let outcome: unknown;
          try {
            await call(session);
          } catch (error) {
            session.errors.push(error);
            outcome = error;
          }
          const first = failures(session)[0] ?? (IntegrationError.isInstance(outcome) ? outcome : undefined);
          if (!first) {
            throw new ConformanceError(
              'errors',
              outcome === undefined
                ? `the injected ${status} never surfaced as a failure: the SDK retried or swallowed it`
                : `${status} rejected with a raw ${describeError(outcome)}; every failure must be an IntegrationError`,
            );
          }
          check(
            first.kind === kind,
            'errors',
            () => `${status} was mapped to kind '${first.kind}'; expected '${kind}' (${first.message})`,
          );
          check(outcome !== undefined, 'errors', () => `${status} was retried to success; it must fail the call`);
        });
      });
    }

    it('errors: 429 with Retry-After → rate_limited, retried after the advised delay', async () => {
      const rule = 'errors';
      await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
        await warmUp(session);
        proxy.script(faults.status(429, { headers: { 'retry-after': '1' } }));
        let outcome: unknown;
        try {
          await call(session);
        } catch (error) {
          outcome = error;
        }
        const first = failures(session)[0] ?? (IntegrationError.isInstance(outcome) ? outcome : undefined);
        check(first, rule, () => rateLimitSilence(outcome));
        check(
          first.kind === 'rate_limited',
          rule,
          () => `429 was mapped to kind '${first.kind}'; expected 'rate_limited' (${first.message})`,
        );
        check(
          first.retryAfterMs === 1000,
          rule,
          () =>
            `429 with Retry-After: 1 gave retryAfterMs ${first.retryAfterMs}; expected 1000 (read Retry-After in mapError)`,
        );
        const scheduled = session.events.find((e) => e.name === 'retry:scheduled');
        check(scheduled, rule, () => `429 was not retried: ${describeError(outcome)}`);
        const delay = scheduled.payload.delayMs as number;
        check(
          delay >= 1000,
          rule,
          () => `the retry after 429 was scheduled in ${delay} ms; Retry-After asked for 1000`,
        );
        check(outcome === undefined, rule, () => `the call still failed after the retry: ${describeError(outcome)}`);
      });
    });

    function rateLimitSilence(outcome: unknown): string {
      return outcome === undefined
        ? 'the injected 429 never surfaced as a failure: the SDK retried by itself (turn its retries off)'
        : `429 failed with ${describeError(outcome)} and no call:failure event was emitted`;
    }

    it('errors: 429 with retries off → rate_limited with retryAfterMs', async () => {
      await withIntegration(healthyConfig(proxy.url), { retry: { maxAttempts: 1 } }, async (session) => {
        await warmUp(session);
        proxy.script(faults.status(429, { headers: { 'retry-after': '1' } }));
        const error = await failure(session, 'errors', 'idempotentCall answered 429', () => call(session));
        check(
          error.kind === 'rate_limited',
          'errors',
          () => `429 was mapped to kind '${error.kind}'; expected 'rate_limited' (${error.message})`,
        );
        check(
          error.retryAfterMs === 1000,
          'errors',
          () =>
            `429 with Retry-After: 1 gave retryAfterMs ${error.retryAfterMs}; expected 1000 (read Retry-After in mapError)`,
        );
      });
    });

    async function retriedOnce(fault: 'status' | 'reset', expected: readonly ErrorKind[], what: string) {
      const rule = 'errors';
      await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
        await warmUp(session);
        proxy.script(fault === 'status' ? faults.status(503) : faults.reset());
        let outcome: unknown;
        try {
          await call(session);
        } catch (error) {
          session.errors.push(error);
          outcome = error;
        }
        const first = failures(session)[0];
        if (!first) {
          throw new ConformanceError(
            rule,
            outcome === undefined
              ? `the injected ${what} never reached core: the SDK retried by itself (turn its retries off)`
              : `${what} failed with ${describeError(outcome)} and no call:failure event was emitted`,
          );
        }
        check(
          expected.includes(first.kind),
          rule,
          () =>
            `${what} was mapped to kind '${first.kind}'; expected ${expected.map((k) => `'${k}'`).join(' or ')} (${first.message})`,
        );
        check(
          outcome === undefined,
          rule,
          () => `${what} was not retried to success: ${describeError(outcome)} (${proxy.requests.length} request(s))`,
        );
        check(proxy.requests.length >= 2, rule, () => `${what} was not retried (${proxy.requests.length} request)`);
      });
    }

    it('errors: 503 → unavailable, retried', () => retriedOnce('status', ['unavailable'], '503'));

    it('errors: connection reset → unavailable (or timeout), retried', () =>
      retriedOnce('reset', ['unavailable', 'timeout'], 'a connection reset'));

    it('errors: a hung request → timeout within the budget', async () => {
      const rule = 'errors';
      const budget = CONFORMANCE_SETTINGS.timeoutMs + 1000;
      await withIntegration(healthyConfig(proxy.url), { retry: { maxAttempts: 1 } }, async (session) => {
        await warmUp(session);
        proxy.script(faults.hang());
        const started = performance.now();
        const error = await failure(session, rule, 'idempotentCall against a hung provider', () => call(session));
        const elapsed = Math.round(performance.now() - started);
        check(
          error.kind === 'timeout',
          rule,
          () => `a hung request was mapped to kind '${error.kind}'; expected 'timeout' (${error.message})`,
        );
        check(elapsed < budget, rule, () => `a hung request took ${elapsed} ms to fail; the budget is ${budget} ms`);
      });
    });

    it('idempotency: a non-idempotent operation is retried only with one idempotency key', async () => {
      const rule = 'idempotency';
      const sideEffecting = Object.entries((definition as ConnectorDefinition).operations)
        .filter(([, meta]) => !meta.idempotent)
        .map(([name]) => name);
      const nonIdempotentCall = options.nonIdempotentCall;
      if (!nonIdempotentCall) {
        check(
          sideEffecting.length === 0,
          rule,
          () =>
            `operations ${sideEffecting.join(', ')} are not idempotent but options.nonIdempotentCall is missing: give one so the retry rule is checked`,
        );
        return;
      }
      const header = options.idempotencyKeyHeader?.toLowerCase();
      const run = (session: Session, callOptions: CallOptions) =>
        nonIdempotentCall(session.handle as ConformanceInstance<D>, callOptions);
      await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
        await warmUp(session);
        proxy.script(faults.status(503));
        try {
          await run(session, {});
        } catch (error) {
          session.errors.push(error);
        }
        const sent = proxy.requests;
        if (sent.length > 1) {
          const keys = sent.map((r) => (header ? r.headers[header] : undefined));
          const same = header !== undefined && keys[0] !== undefined && keys.every((k) => k === keys[0]);
          check(same, rule, () =>
            header
              ? `the side-effecting call was sent ${sent.length} times with ${header}: ${keys.map((k) => safeJson(k)).join(', ')}; every attempt must carry the same key`
              : `the side-effecting call was sent ${sent.length} times with no idempotency key after a 503; declare it idempotent: false (or send a key and set idempotencyKeyHeader)`,
          );
        }
      });
      if (!header) return;
      const key = `conformance-${randomBytes(8).toString('hex')}`;
      await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
        await warmUp(session);
        proxy.script(faults.status(503));
        try {
          await run(session, { idempotencyKey: key });
        } catch (error) {
          throw new ConformanceError(
            rule,
            `with idempotencyKey set, a 503 should be retried to success, but the call failed: ${describeError(error)}`,
          );
        }
        for (const request of proxy.requests) {
          check(
            request.headers[header] === key,
            rule,
            () => `with idempotencyKey '${key}' a request carried ${header}: ${safeJson(request.headers[header])}`,
          );
        }
      });
    });

    it('secrets: the canary never appears in errors, events, status or logs', async () => {
      const rule = 'secrets';
      const printed: string[] = [];
      const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
      const originals = methods.map((m) => console[m]);
      methods.forEach((m, i) => {
        const original = originals[i] as (...args: unknown[]) => void;
        console[m] = (...args: unknown[]) => {
          printed.push(`console.${m}: ${format(...args)}`);
          original.apply(console, args);
        };
      });
      const seen: { where: string; text: string }[] = [];
      try {
        await withIntegration(options.config(proxy.url, { secret: canary }), {}, async (session) => {
          const report = await session.registry.enable(NAME, { tenant: TENANT }).catch((error: unknown) => {
            session.errors.push(error);
            return undefined;
          });
          if (report) seen.push({ where: 'the health report', text: safeJson(report) });
          const checked = await session.handle.healthCheck();
          seen.push({ where: 'the health report', text: safeJson(checked) });
          try {
            await call(session);
          } catch (error) {
            session.errors.push(error);
          }
          proxy.script(faults.status(401));
          try {
            await call(session);
          } catch (error) {
            session.errors.push(error);
          }
          for (const error of session.errors) {
            const where = `an error (${describeError(error).slice(0, 80)})`;
            seen.push({ where, text: safeJson(error) });
            if (IntegrationError.isInstance(error))
              seen.push({ where: `${where}.toJSON()`, text: safeJson(error.toJSON()) });
            if (error instanceof Error) {
              seen.push({ where: `${where}.message`, text: error.message });
              seen.push({ where: `${where}.stack`, text: error.stack ?? '' });
            }
          }
          for (const event of session.events)
            seen.push({ where: `the '${event.name}' event`, text: safeJson(event.payload) });
          seen.push({ where: 'registry.summary()', text: safeJson(session.registry.summary()) });
          for (const line of session.logLines) seen.push({ where: 'a log line', text: line });
        });
      } finally {
        methods.forEach((m, i) => {
          console[m] = originals[i] as (typeof console)[typeof m];
        });
      }
      for (const line of printed) seen.push({ where: 'console output', text: line });
      const leaks = seen.filter((s) => s.text.includes(canary));
      check(
        leaks.length === 0,
        rule,
        () =>
          `the secret leaked into ${[...new Set(leaks.map((l) => l.where))].join('; ')}: ` +
          leaks
            .slice(0, 3)
            .map((l) => l.text.replaceAll(canary, '<SECRET>').slice(0, 300))
            .join(' | '),
      );
    });

    it('abort: aborting a call rejects promptly with cancelled', async () => {
      const rule = 'abort';
      await withIntegration(healthyConfig(proxy.url), {}, async (session) => {
        await warmUp(session);
        proxy.script(...faults.times(3, faults.hang()));
        const controller = new AbortController();
        const started = performance.now();
        let settled = false;
        const outcome = failure(session, rule, 'an aborted idempotentCall', () =>
          call(session, { signal: controller.signal }),
        ).finally(() => {
          settled = true;
        });
        // Abort once the request is in flight (hanging at the proxy) and at least 50 ms have passed.
        for (let i = 0; i < 40 && !settled && proxy.requests.length === 0; i++) await sleep(25);
        await sleep(Math.max(0, 50 - (performance.now() - started)));
        const abortedAt = performance.now();
        controller.abort();
        const error = await outcome;
        const afterAbort = Math.round(performance.now() - abortedAt);
        check(
          error.kind === 'cancelled',
          rule,
          () => `an aborted call rejected with kind '${error.kind}'; expected 'cancelled' (${error.message})`,
        );
        check(
          afterAbort < CONFORMANCE_SETTINGS.timeoutMs,
          rule,
          () => `the aborted call took ${afterAbort} ms to reject after abort(); pass the signal to the SDK`,
        );
        check(
          proxy.requests.length <= 1,
          rule,
          () => `an aborted call was retried (${proxy.requests.length} requests)`,
        );
      });
    });
  });
}

/** Dotted paths of every string in `value` that contains `needle`. */
function pathsHolding(value: unknown, needle: string, prefix = '', depth = 0): string[] {
  if (typeof value === 'string') return value.includes(needle) ? [prefix] : [];
  if (typeof value !== 'object' || value === null || depth > 8) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    pathsHolding(item, needle, prefix ? `${prefix}.${key}` : key, depth + 1),
  );
}
