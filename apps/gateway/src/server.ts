/**
 * The HTTP surface: health (overall, per integration, and the two Kubernetes probes), status, metrics,
 * the OpenAPI document with its rendered reference, and the dashboard.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { HealthStatus, IntegrationSummary, Redactor, Registry } from '@integrations/core';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions, LogController } from 'fastify';
import { type KeyRing, presentedKey, requestedTenant, type Scope } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import { type OperationsOf, registerOperationRoute } from './operations.js';
import { errorRef, sharedSchemas } from './schemas.js';
import { MEMORY_STORE_STATUS, type StateStoreStatus } from './setup.js';
import { VERSION } from './version.js';
import { registerWebhookRoutes, type WebhookRoutesOptions } from './webhooks/routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    scope: Scope | null;
  }
}

export type Readiness = 'starting' | 'ready' | 'stopping';

export interface ServerOptions {
  registry: Registry;
  metrics: GatewayMetrics;
  keys: KeyRing;
  readiness: () => Readiness;
  redactor: Redactor;
  logger: FastifyServerOptions['logger'];
  /** Served pre-filled in the dashboard. Only the embedded demo passes one. */
  demoApiKey?: string | undefined;
  publicDir?: string | undefined;
  /** The webhook routes, when the config has `server.webhooks`. */
  webhooks?: Omit<WebhookRoutesOptions, 'keys' | 'redactor'> | undefined;
  /** Where rate-limit and breaker state lives, for the status route. Default: memory. */
  store?: (() => StateStoreStatus) | undefined;
  /** The operations each integration's connector declares; without it, no operation route is served. */
  operations?: OperationsOf | undefined;
}

const UNAUTHORIZED = {
  statusCode: 401,
  error: 'Unauthorized',
  message: 'a valid API key is required (Authorization: Bearer <key> or X-Api-Key)',
};
const NOT_FOUND = { statusCode: 404, error: 'Not Found', message: 'not found' };

const TENANT_HEADER = {
  type: 'object',
  properties: {
    'x-tenant-id': {
      type: 'string',
      description:
        'The tenant to look at. A tenant key may only name its own tenant; the admin key may name any (default: all).',
    },
  },
} as const;

const SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];
const AUTH_ERRORS = {
  401: { description: 'Missing or unknown API key (the same answer for both).', ...errorRef },
  404: {
    description: 'Not visible to this key: a tenant that is not yours or does not exist, or an unknown integration.',
    ...errorRef,
  },
};

function notFound(reply: FastifyReply) {
  return reply.code(404).send(NOT_FOUND);
}

/** Overall status of the integrations in scope (disabled ones do not count). */
export function rollup(integrations: readonly { status: HealthStatus }[]): 'healthy' | 'degraded' | 'unhealthy' {
  const enabled = integrations.filter((i) => i.status !== 'disabled');
  if (enabled.every((i) => i.status === 'healthy')) return 'healthy';
  if (enabled.every((i) => i.status === 'unhealthy')) return 'unhealthy';
  return 'degraded';
}

function healthEntry(s: IntegrationSummary) {
  return {
    name: s.name,
    tenant: s.tenant,
    provider: s.provider,
    displayName: s.displayName,
    category: s.category,
    type: s.type,
    status: s.status,
    enabled: s.enabled,
    checkedAt: s.lastHealth?.checkedAt ?? null,
    latencyMs: s.lastHealth?.latencyMs ?? null,
    details: s.lastHealth?.details ?? null,
    error: s.lastHealth?.error ?? null,
  };
}

function statusEntry(s: IntegrationSummary) {
  const { lastHealth, ...rest } = s;
  return {
    ...rest,
    lastCheck: lastHealth
      ? {
          status: lastHealth.status,
          latencyMs: lastHealth.latencyMs,
          checkedAt: lastHealth.checkedAt,
          error: lastHealth.error ?? null,
        }
      : null,
  };
}

function count<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

const defaultPublicDir = () => fileURLToPath(new URL('../public/', import.meta.url));

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { registry, metrics, keys, readiness, redactor } = options;
  const app = Fastify({
    logger: options.logger,
    // Requests are logged by the onResponse hook below instead.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });
  app.decorateRequest('scope', null);

  // Health polling every few seconds would drown the log: successful requests log at debug only.
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 500 ? 'warn' : 'debug';
    request.log[level](
      { statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      `${request.method} ${request.routeOptions.url ?? request.url}`,
    );
  });

  // While draining, responses to requests already in flight close their connection: Fastify keeps idle
  // keep-alive sockets for 72 s, which would otherwise hold shutdown until the grace period cuts them.
  app.addHook('onSend', async (_request, reply) => {
    if (readiness() === 'stopping') reply.header('connection', 'close');
  });

  app.setNotFoundHandler((_request, reply) => notFound(reply));
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 500) {
      request.log.error({ err: redactor.redactValue(error) }, 'request failed');
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
    }
    return reply
      .code(statusCode)
      .send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: redactor.redact(error.message) });
  });

  for (const schema of sharedSchemas) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Integrations gateway',
        version: VERSION,
        description:
          'Health, status and metrics of the integrations this gateway hosts, per tenant. Authenticate with ' +
          '`Authorization: Bearer <key>` or `X-Api-Key: <key>`: a tenant key sees its own tenant, the admin key ' +
          'sees every tenant and may pick one with `X-Tenant-Id`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A tenant API key or the admin key.' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'The same key, as a header.' },
        },
      },
      tags: [
        { name: 'health', description: 'Integration health and the Kubernetes probes' },
        { name: 'status', description: 'Per-integration state and totals' },
        { name: 'metrics', description: 'Prometheus exposition' },
        ...(options.operations
          ? [{ name: 'operations', description: "Connector operations, through each integration's policies" }]
          : []),
        ...(options.webhooks
          ? [{ name: 'webhooks', description: 'Inbound provider webhooks and their dead letters' }]
          : []),
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });

  app.get(
    '/integrations/health/live',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness probe',
        description: 'Answers 200 while the process serves requests. No authentication, no integration details.',
        response: { 200: { $ref: 'Probe#' } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/integrations/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness probe',
        description:
          'Answers 200 once the config is loaded and every integration has been started (whatever their health: a ' +
          'provider outage must not take every replica out of the load balancer), 503 while starting or shutting ' +
          'down. No authentication, no integration details.',
        response: { 200: { $ref: 'Probe#' }, 503: { $ref: 'Probe#' } },
      },
    },
    async (_request, reply) => {
      const state = readiness();
      return reply.code(state === 'ready' ? 200 : 503).send({ status: state });
    },
  );

  await app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      const principal = keys.identify(presentedKey(request.headers));
      if (!principal) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="integrations"').send(UNAUTHORIZED);
      }
      const scope = keys.scope(principal, requestedTenant(request.headers));
      if (!scope) return notFound(reply);
      request.scope = scope;
    });
    const scoped = (scope: Scope | null) => (scope?.tenant === undefined ? undefined : { tenant: scope.tenant });

    api.get(
      '/integrations/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Health of every integration in scope',
          description:
            'From the periodic checks. 200 when healthy or degraded, 503 when every enabled integration is unhealthy.',
          security: SECURITY,
          headers: TENANT_HEADER,
          response: { 200: { $ref: 'OverallHealth#' }, 503: { $ref: 'OverallHealth#' }, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const { integrations } = registry.summary(scoped(request.scope));
        const status = rollup(integrations);
        const counts = { initializing: 0, healthy: 0, degraded: 0, unhealthy: 0, disabled: 0 };
        for (const i of integrations) counts[i.status]++;
        return reply.code(status === 'unhealthy' ? 503 : 200).send({
          status,
          tenant: request.scope?.tenant ?? null,
          checkedAt: new Date().toISOString(),
          counts,
          integrations: integrations.map(healthEntry),
        });
      },
    );

    api.get<{ Params: { name: string }; Querystring: { refresh?: boolean } }>(
      '/integrations/health/:name',
      {
        schema: {
          tags: ['health'],
          summary: 'Health of one integration',
          description:
            'The last periodic check, or a new one with `?refresh=true`. 503 when the integration is unhealthy. The ' +
            'admin key without `X-Tenant-Id` gets 409 when several tenants have an integration of that name.',
          security: SECURITY,
          headers: TENANT_HEADER,
          params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          querystring: {
            type: 'object',
            properties: { refresh: { type: 'boolean', default: false, description: 'Check the provider now.' } },
          },
          response: {
            200: { $ref: 'IntegrationHealth#' },
            503: { $ref: 'IntegrationHealth#' },
            409: { description: 'Ambiguous name across tenants (admin only): send X-Tenant-Id.', ...errorRef },
            ...AUTH_ERRORS,
          },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const matches = registry.summary(scoped(request.scope)).integrations.filter((i) => i.name === name);
        const [only] = matches;
        if (!only) return notFound(reply);
        if (matches.length > 1) {
          const tenants = matches.map((m) => m.tenant).join(', ');
          return reply.code(409).send({
            statusCode: 409,
            error: 'Conflict',
            message: `tenants ${tenants} each have an integration "${name}": choose one with X-Tenant-Id`,
          });
        }
        let entry = only;
        if (request.query.refresh) {
          await registry.get(name, { tenant: only.tenant }).healthCheck();
          entry = registry.summary({ tenant: only.tenant }).integrations.find((i) => i.name === name) ?? only;
        }
        return reply.code(entry.status === 'unhealthy' ? 503 : 200).send(healthEntry(entry));
      },
    );

    api.get(
      '/integrations/status',
      {
        schema: {
          tags: ['status'],
          summary: 'State of every integration in scope, with totals',
          description:
            'Status, breaker state, rate-limit headroom, last error kind, success rate and mean latency per ' +
            'integration; totals by status, category and type; the state store that rate limits and breakers ' +
            'live in. Never contains config values.',
          security: SECURITY,
          headers: TENANT_HEADER,
          response: { 200: { $ref: 'Status#' }, ...AUTH_ERRORS },
        },
      },
      async (request) => {
        const summary = registry.summary(scoped(request.scope));
        const { integrations } = summary;
        let calls = 0;
        let failures = 0;
        for (const i of integrations) {
          calls += i.calls;
          failures += i.failures;
        }
        return {
          generatedAt: summary.generatedAt,
          tenant: request.scope?.tenant ?? null,
          totals: {
            total: summary.total,
            byStatus: summary.byStatus,
            byCategory: count(integrations, (i) => i.category),
            byType: summary.byType,
            calls,
            failures,
            successRate: summary.successRate,
            meanLatencyMs: summary.meanLatencyMs,
          },
          integrations: integrations.map(statusEntry),
          store: options.store?.() ?? MEMORY_STORE_STATUS,
        };
      },
    );

    api.get(
      '/integrations/metrics',
      {
        schema: {
          tags: ['metrics'],
          summary: 'Prometheus metrics',
          description:
            'Text exposition format 0.0.4. A tenant key gets its own series only; the admin key gets every tenant ' +
            'plus the process metrics (or one tenant with X-Tenant-Id).',
          security: SECURITY,
          headers: TENANT_HEADER,
          produces: ['text/plain'],
          response: {
            200: {
              description: 'Prometheus text format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...AUTH_ERRORS,
          },
        },
      },
      async (request, reply) => {
        const { contentType, body } = await metrics.render(request.scope?.tenant);
        return reply.type(contentType).send(body);
      },
    );

    if (options.operations) {
      registerOperationRoute(api, {
        registry,
        operationsOf: options.operations,
        tenantsWith: (scope, name) =>
          (scope?.tenant === undefined ? registry.tenants() : [scope.tenant]).filter((tenant) =>
            registry.has(name, { tenant }),
          ),
        notFound,
        redact: (text) => redactor.redact(text),
        security: SECURITY,
        tenantHeader: TENANT_HEADER,
        authErrors: AUTH_ERRORS,
      });
    }
  });

  if (options.webhooks) await registerWebhookRoutes(app, { ...options.webhooks, keys, redactor });

  const publicDir = options.publicDir ?? defaultPublicDir();
  const template = readFileSync(`${publicDir}/index.html`, 'utf8');
  const page = template.replace(
    '<meta name="integrations-demo-key" content="" />',
    options.demoApiKey === undefined
      ? ''
      : `<meta name="integrations-demo-key" content="${escapeAttribute(options.demoApiKey)}" />`,
  );
  await app.register(fastifyStatic, {
    root: publicDir,
    prefix: '/assets/',
    index: false,
    allowedPath: (path) => path !== '/index.html',
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page),
  );

  return app;
}
