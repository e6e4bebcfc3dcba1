/**
 * POST /integrations/:name/operations/:operation — runs one of a connector's operations for the caller's tenant,
 * through the integration's pipeline (bulkhead, rate limit, breaker, retry, timeout). This is how services that
 * cannot embed core, and every replica behind a load balancer, share one set of limits per tenant.
 */
import { STATUS_CODES } from 'node:http';
import type { ErrorKind, OperationMeta, Registry } from '@integrations/core';
import { IntegrationError } from '@integrations/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Scope } from './auth.js';

/** The operations an integration's connector declares, by integration name. */
export type OperationsOf = (integration: string) => Readonly<Record<string, OperationMeta>> | undefined;

/** The HTTP status a caller gets for each error kind. Upstream credential problems are the gateway's, not theirs. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  auth: 502,
  permission: 502,
  internal: 502,
  invalid_config: 500,
  unavailable: 503,
  circuit_open: 503,
  bulkhead_full: 503,
  cancelled: 503,
  timeout: 504,
};

const MAX_ITEMS = 1000;

export const operationErrorSchema = {
  $id: 'OperationError',
  type: 'object',
  description: 'A failed operation: the error kind is provider-independent; secrets are redacted.',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    kind: { type: 'string', enum: Object.keys(STATUS_OF_KIND) },
    retryable: { type: 'boolean' },
    retryAfterMs: { type: 'number', description: 'How long to wait before trying again (rate_limited).' },
    code: { type: 'string', description: "The provider's own error code, when it gave one." },
  },
} as const;

export interface OperationRouteOptions {
  registry: Registry;
  operationsOf: OperationsOf;
  /** The tenants in the request's scope that have an integration of this name. */
  tenantsWith: (scope: Scope | null, name: string) => string[];
  notFound: (reply: FastifyReply) => FastifyReply;
  redact: (text: string) => string;
  security: { [scheme: string]: string[] }[];
  tenantHeader: object;
  authErrors: object;
}

interface Params {
  name: string;
  operation: string;
}
interface Body {
  args?: unknown[];
}
interface Query {
  limit?: number;
}

/** Walks `a.b.c` on the handle. The path is already known to be a declared operation. */
function resolve(handle: unknown, path: string): { fn: (...args: unknown[]) => unknown; self: unknown } | undefined {
  let self: unknown;
  let target: unknown = handle;
  for (const segment of path.split('.')) {
    if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined;
    self = target;
    target = (target as Record<string, unknown>)[segment];
  }
  return typeof target === 'function' ? { fn: target as (...args: unknown[]) => unknown, self } : undefined;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

export function registerOperationRoute(api: FastifyInstance, options: OperationRouteOptions): void {
  const { registry, operationsOf, redact } = options;
  api.addSchema(operationErrorSchema);
  const operationError = { $ref: 'OperationError#' };

  api.post<{ Params: Params; Body: Body | undefined; Querystring: Query }>(
    '/integrations/:name/operations/:operation',
    {
      schema: {
        tags: ['operations'],
        summary: 'Run an operation of one integration',
        description:
          "Calls the connector's operation with `args` (its positional arguments, as JSON) through the " +
          "integration's rate limit, circuit breaker, retries and timeout. Operations that page through results " +
          'answer with the items, up to `limit`. The admin key must name the tenant with `X-Tenant-Id` when ' +
          'several tenants have an integration of that name.',
        security: options.security,
        headers: options.tenantHeader,
        params: {
          type: 'object',
          required: ['name', 'operation'],
          properties: {
            name: { type: 'string', examples: ['payments'] },
            operation: {
              type: 'string',
              description: "One of the connector's operations.",
              examples: ['customers.retrieve'],
            },
          },
        },
        querystring: {
          type: 'object',
          properties: {
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: MAX_ITEMS,
              default: 100,
              description: 'For operations that page: the most items to collect.',
            },
          },
        },
        body: {
          type: ['object', 'null'],
          properties: { args: { type: 'array', description: 'The positional arguments.', maxItems: 16 } },
          additionalProperties: false,
        },
        response: {
          200: {
            description: 'What the operation returned.',
            type: 'object',
            required: ['result'],
            properties: {
              result: { description: "The operation's result (for paged operations, the items)." },
              truncated: { type: 'boolean', description: 'Paged operations: more items were left.' },
            },
          },
          400: { description: 'The body is not valid, or the provider rejected the input.', ...operationError },
          409: {
            description: 'Ambiguous name across tenants (admin only), or a provider conflict.',
            ...operationError,
          },
          429: { description: "The tenant's rate limit for this integration (or the provider's).", ...operationError },
          502: { description: 'The provider failed or rejected the gateway credentials.', ...operationError },
          503: { description: 'Breaker open, bulkhead full or the provider unreachable.', ...operationError },
          504: { description: 'The operation timed out.', ...operationError },
          ...options.authErrors,
        },
      },
    },
    async (request, reply) => {
      const { name, operation } = request.params;
      const tenants = options.tenantsWith(request.scope, name);
      const [tenant] = tenants;
      if (tenant === undefined) return options.notFound(reply);
      if (tenants.length > 1) {
        return reply.code(409).send({
          statusCode: 409,
          error: 'Conflict',
          message: `tenants ${tenants.join(', ')} each have an integration "${name}": choose one with X-Tenant-Id`,
        });
      }
      const declared = operationsOf(name);
      const target =
        declared && Object.hasOwn(declared, operation) ? resolve(registry.get(name, { tenant }), operation) : undefined;
      if (!target) {
        const known = declared ? Object.keys(declared).join(', ') : 'none';
        return reply.code(404).send({
          statusCode: 404,
          error: 'Not Found',
          message: `integration "${name}" has no operation "${operation}" (it has: ${known})`,
        });
      }
      try {
        const value = await target.fn.apply(target.self, request.body?.args ?? []);
        if (!isAsyncIterable(value)) return { result: value ?? null };
        const limit = request.query.limit ?? 100;
        const items: unknown[] = [];
        const iterator = value[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await iterator.next();
            if (next.done) return { result: items, truncated: false };
            if (items.length === limit) return { result: items, truncated: true };
            items.push(next.value);
          }
        } finally {
          await iterator.return?.();
        }
      } catch (error) {
        const failure = IntegrationError.isInstance(error)
          ? error
          : new IntegrationError('internal', error instanceof Error ? error.message : String(error));
        const statusCode = STATUS_OF_KIND[failure.kind] ?? 502;
        if (failure.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(failure.retryAfterMs / 1000));
        if (statusCode >= 500)
          request.log.warn({ kind: failure.kind, integration: name, operation }, 'operation failed');
        return reply.code(statusCode).send({
          statusCode,
          error: STATUS_CODES[statusCode] ?? 'Error',
          message: redact(failure.message),
          kind: failure.kind,
          retryable: failure.retryable,
          ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
          ...(failure.code !== undefined ? { code: redact(failure.code) } : {}),
        });
      }
    },
  );
}
