/**
 * The gateway as one object: config → registry → HTTP server, with a lifecycle that Kubernetes can drive
 * (listen, start integrations, report ready; on shutdown stop accepting, drain, close connectors).
 */
import type { LoadedConfig } from '@integrations/config';
import { type Clock, type Logger, Redactor, type Registry } from '@integrations/core';
import { type ConfiguredStore, createStoreFromConfig, type StoreStateChange } from '@integrations/store-redis';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import { KeyRing } from './auth.js';
import { GatewayMetrics } from './metrics.js';
import { buildServer, type Readiness } from './server.js';
import { buildRegistry, describeStoreUrl, MEMORY_STORE_STATUS, type StateStoreStatus, tenantsOf } from './setup.js';
import { type WebhookHandler, Webhooks } from './webhooks/index.js';

export interface GatewayOptions {
  config: LoadedConfig;
  /** Pino options for Fastify's logger, or false. Default: info level, JSON lines on stdout. */
  logger?: false | { level?: string; stream?: NodeJS.WritableStream } | undefined;
  /** Pre-filled in the dashboard. Only the embedded demo passes it: never a production key. */
  demoApiKey?: string | undefined;
  publicDir?: string | undefined;
  clock?: Clock | undefined;
}

export interface ListenOptions {
  host?: string | undefined;
  port?: number | undefined;
}

export interface CloseOptions {
  /** How long in-flight requests may take before their connections are cut. Default 10 000 ms. */
  graceMs?: number | undefined;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly metrics: GatewayMetrics;
  readonly config: LoadedConfig;
  readonly readiness: Readiness;
  /** Inbound webhooks: present when the config has `server.webhooks`. */
  readonly webhooks: Webhooks | undefined;
  /** Where rate-limit and breaker state lives (`server.store`), and whether it answers. */
  storeStatus(): StateStoreStatus;
  /**
   * Registers a handler for every verified webhook event (at least once, retried with backoff while it throws).
   * Returns a function that removes it. Throws when the config has no `server.webhooks`.
   */
  onWebhook(handler: WebhookHandler): () => void;
  /** Starts listening; resolves with the base URL. */
  listen(options?: ListenOptions): Promise<string>;
  /** Starts every enabled integration and turns ready. A provider that is down does not fail this. */
  enable(): Promise<void>;
  close(options?: CloseOptions): Promise<void>;
}

/** Header paths pino replaces wherever a request is logged. */
export const REDACTED_HEADERS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
];

function pinoOptions(options: GatewayOptions['logger'], redactor: Redactor): FastifyServerOptions['logger'] {
  if (options === false) return false;
  return {
    level: options?.level ?? process.env.LOG_LEVEL ?? 'info',
    ...(options?.stream ? { stream: options.stream } : {}),
    redact: { paths: REDACTED_HEADERS, censor: '[REDACTED]' },
    // Values from config.secrets are scrubbed wherever they appear: in messages and in logged objects.
    formatters: { log: (object: Record<string, unknown>) => redactor.redactValue(object) as Record<string, unknown> },
    hooks: {
      logMethod(args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? redactor.redact(arg) : arg)),
        );
      },
    },
  } as FastifyServerOptions['logger'];
}

/** What each replica does while the shared store is away, in the words of a log line. */
function fallbackOf(mode: 'local' | 'reject'): string {
  return mode === 'local'
    ? 'each replica limits rate and keeps breakers on its own until Redis answers'
    : 'calls to rate-limited integrations are rejected until Redis answers';
}

/** Core's Logger interface onto the gateway's pino logger. */
function coreLogger(log: FastifyBaseLogger): Logger {
  const child = log.child({ component: 'registry' });
  return {
    debug: (message, fields) => child.debug(fields ?? {}, message),
    info: (message, fields) => child.info(fields ?? {}, message),
    warn: (message, fields) => child.warn(fields ?? {}, message),
    error: (message, fields) => child.error(fields ?? {}, message),
  };
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const redactor = new Redactor();
  for (const secret of config.secrets) redactor.add(secret);

  let readiness: Readiness = 'starting';
  // The server's logger is needed by the registry and the registry by the server: log through a late binding.
  let target: Logger | undefined;
  const logger: Logger = {
    debug: (m, f) => target?.debug(m, f),
    info: (m, f) => target?.info(m, f),
    warn: (m, f) => target?.warn(m, f),
    error: (m, f) => target?.error(m, f),
  };
  // A memory store stays core's default (no store passed), so the limiter keeps its in-process fast path.
  const settings = config.server.store;
  let shared: Extract<ConfiguredStore, { kind: 'redis' }> | undefined;
  let storeLog: FastifyBaseLogger | undefined;
  const where = settings.kind === 'redis' ? describeStoreUrl(settings.url) : 'memory';
  if (settings.kind === 'redis') {
    if (URL.canParse(settings.url)) {
      const { password } = new URL(settings.url);
      redactor.add(password);
      redactor.add(decodeURIComponent(password));
    }
    shared = createStoreFromConfig(settings, {
      onStateChange: (change) => logStoreChange(storeLog, where, change),
    }) as Extract<ConfiguredStore, { kind: 'redis' }>;
  }
  const storeStatus = (): StateStoreStatus => {
    if (!shared) return MEMORY_STORE_STATUS;
    const { state, mode, since } = shared.store.status;
    return { kind: 'redis', status: state, onUnavailable: mode, since: since.toISOString() };
  };
  const registry = buildRegistry(config, {
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(shared ? { store: shared.store } : {}),
  });
  const metrics = new GatewayMetrics(registry);
  const connectorsByName = new Map(config.integrations.map((i) => [i.name, i.connector]));
  const keys = new KeyRing(config.server.adminApiKey, tenantsOf(config));
  let webhooks: Webhooks | undefined;
  let app: FastifyInstance;
  try {
    // The event store is opened (and its table created) before anything listens: no event may be acknowledged
    // without it.
    webhooks = await Webhooks.open(config, redactor);
    app = await buildServer({
      registry,
      metrics,
      keys,
      redactor,
      readiness: () => readiness,
      logger: pinoOptions(options.logger, redactor),
      demoApiKey: options.demoApiKey,
      publicDir: options.publicDir,
      webhooks: webhooks?.routes(),
      store: storeStatus,
      operations: (name) => connectorsByName.get(name)?.operations,
    });
  } catch (error) {
    metrics.close();
    await webhooks?.close(0);
    await shared?.close();
    throw error;
  }
  target = coreLogger(app.log);
  webhooks?.attach(app.log);
  if (shared) {
    const log = app.log.child({ component: 'store' });
    // ready() settles within the store's connect and command timeouts (2.25 s) whatever Redis does: an
    // unreachable Redis delays startup by that much and never stops it.
    if (await shared.ready()) {
      log.info(
        { store: where, keyPrefix: shared.store.keyPrefix },
        'state store connected: limits and breakers are shared',
      );
    } else {
      const { mode, reason } = shared.store.status;
      log.warn(
        { store: where, onUnavailable: mode, reason },
        `state store ${where} is unreachable (${reason ?? 'no answer'}): ${fallbackOf(mode)}; retrying in the background`,
      );
    }
    // Changes before this point are summed up by the lines above.
    storeLog = log;
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    registry,
    metrics,
    config,
    get readiness() {
      return readiness;
    },
    webhooks,
    storeStatus,
    onWebhook(handler) {
      if (!webhooks)
        throw new Error('webhooks are not configured: add server.webhooks (the event store) to the config');
      return webhooks.onWebhook(handler);
    },
    async listen(listen = {}) {
      return app.listen({ host: listen.host ?? config.server.host, port: listen.port ?? config.server.port });
    },
    async enable() {
      try {
        await registry.enableAll();
      } catch (error) {
        // Integrations that failed to start stay registered, report unhealthy and are retried on their interval.
        app.log.warn({ err: redactor.redactValue(error) }, 'some integrations failed to start');
      }
      webhooks?.start();
      if (readiness === 'starting') readiness = 'ready';
    },
    close(close = {}) {
      closing ??= (async () => {
        readiness = 'stopping';
        const graceMs = close.graceMs ?? 10_000;
        // fastify.close() stops accepting and waits for in-flight requests; past the grace period they are cut.
        const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
        }
        metrics.close();
        try {
          await webhooks?.close(graceMs);
        } finally {
          try {
            await registry.close();
          } finally {
            // After the registry: nothing calls the store once every integration is closed.
            await shared?.close();
          }
        }
      })();
      return closing;
    },
  };
}

function logStoreChange(log: FastifyBaseLogger | undefined, where: string, change: StoreStateChange): void {
  if (!log) return;
  if (change.type === 'store:unavailable') {
    log.warn(
      { store: where, onUnavailable: change.mode, reason: change.reason },
      `state store ${where} unavailable (${change.reason}): ${fallbackOf(change.mode)}`,
    );
  } else if (change.type === 'store:recovered') {
    log.info(
      { store: where, downMs: change.downMs },
      `state store ${where} is back: limits and breakers are shared again`,
    );
  } else {
    log.warn({ store: where, reason: change.reason }, `state store ${where} refused a command: ${change.reason}`);
  }
}
