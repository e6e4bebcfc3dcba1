/**
 * The webhook routes. `POST /webhooks/:tenant/:integration` takes no API key (a provider cannot send ours: the
 * signature is the authentication): it keeps the raw body whatever its content type, checks the size, verifies
 * the signature, stores the event durably and only then answers 2xx. The dead-letter routes need the admin key.
 */
import { STATUS_CODES } from 'node:http';
import { IntegrationError, type Redactor } from '@integrations/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type KeyRing, presentedKey, requestedTenant } from '../auth.js';
import type { WebhookEndpoint, WebhookEndpoints } from './endpoints.js';
import type { PostgresWebhookStore, StoredWebhookEvent } from './store.js';

export interface WebhookRoutesOptions {
  endpoints: WebhookEndpoints;
  store: PostgresWebhookStore;
  keys: KeyRing;
  redactor: Redactor;
  /** The gateway's public base URL, for schemes that sign the URL (Twilio). Default: from the request. */
  publicUrl: string | undefined;
  /** Called after an event was stored or replayed: delivery can start at once. */
  onStored: () => void;
}

/** Reason codes a webhook answer carries besides its status. */
export type WebhookReason =
  | 'webhook_signature_invalid'
  | 'webhook_timestamp_expired'
  | 'webhook_malformed'
  | 'webhook_body_too_large'
  | 'webhook_store_unavailable'
  | 'webhook_verifier_misconfigured';

const NOT_FOUND = { statusCode: 404, error: 'Not Found', message: 'not found' };
const UNAUTHORIZED = {
  statusCode: 401,
  error: 'Unauthorized',
  message: 'a valid API key is required (Authorization: Bearer <key> or X-Api-Key)',
};
const FORBIDDEN = { statusCode: 403, error: 'Forbidden', message: 'the dead-letter routes need the admin key' };

declare module 'fastify' {
  interface FastifyRequest {
    webhookEndpoint: WebhookEndpoint | null;
  }
}

function reject(reply: FastifyReply, statusCode: number, code: WebhookReason, message: string) {
  return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code, message });
}

const webhookError = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    code: {
      type: 'string',
      enum: [
        'webhook_signature_invalid',
        'webhook_timestamp_expired',
        'webhook_malformed',
        'webhook_body_too_large',
        'webhook_store_unavailable',
        'webhook_verifier_misconfigured',
      ],
    },
    message: { type: 'string' },
  },
} as const;
const plainError = { $ref: 'Error#' } as const;

const deadLetter = {
  type: 'object',
  required: ['id', 'tenant', 'integration', 'provider', 'eventId', 'type', 'receivedAt', 'attempts', 'replays'],
  properties: {
    id: { type: 'string', format: 'uuid', description: "The gateway's id: what replay takes." },
    tenant: { type: 'string' },
    integration: { type: 'string' },
    provider: { type: 'string' },
    eventId: { type: 'string', description: "The provider's event id." },
    type: { type: 'string' },
    occurredAt: { type: ['string', 'null'], format: 'date-time' },
    receivedAt: { type: 'string', format: 'date-time' },
    deadAt: { type: ['string', 'null'], format: 'date-time' },
    attempts: { type: 'integer' },
    replays: { type: 'integer' },
    lastError: { type: ['string', 'null'] },
    payload: { description: 'The verified event as the provider sent it.' },
  },
} as const;

/** The URL the provider posted to, as it saw it. */
function requestUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return `${publicUrl.replace(/\/+$/, '')}${request.url}`;
  return `${request.protocol}://${request.host}${request.url}`;
}

function headersOf(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function deadLetterView(event: StoredWebhookEvent) {
  const { status: _status, nextAttemptAt: _next, deliveredAt: _delivered, ...rest } = event;
  return rest;
}

export async function registerWebhookRoutes(app: FastifyInstance, options: WebhookRoutesOptions): Promise<void> {
  const { endpoints, store, keys, redactor } = options;
  app.decorateRequest('webhookEndpoint', null);

  await app.register(async (scope) => {
    // Signatures cover the bytes as sent: every content type is kept as the raw Buffer, never parsed here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: Math.max(1, endpoints.maxBodyBytes()) },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
        const limit = request.webhookEndpoint?.maxBodyBytes ?? endpoints.maxBodyBytes();
        return reject(reply, 413, 'webhook_body_too_large', `the body is larger than ${limit} bytes`);
      }
      if (error.statusCode !== undefined && error.statusCode < 500) {
        return reject(reply, 400, 'webhook_malformed', redactor.redact(error.message));
      }
      request.log.error({ err: redactor.redactValue(error) }, 'webhook request failed');
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
    });

    scope.post<{ Params: { tenant: string; integration: string } }>(
      '/webhooks/:tenant/:integration',
      {
        schema: {
          tags: ['webhooks'],
          summary: 'Receive a provider webhook',
          description:
            'No API key: the provider signature authenticates the request. The raw body is verified with the ' +
            "integration's scheme (its connector's, or the configured HMAC-SHA256), stored durably, deduplicated " +
            'by event id, and only then acknowledged; delivery to the handlers follows, with retries. 404 for an ' +
            'unknown tenant or integration or one without webhooks (the same answer for each).',
          params: {
            type: 'object',
            required: ['tenant', 'integration'],
            properties: { tenant: { type: 'string' }, integration: { type: 'string' } },
          },
          response: {
            200: {
              description: 'Stored (or already stored: `duplicate`). Delivery happens after this answer.',
              type: 'object',
              required: ['received', 'id', 'duplicate'],
              properties: {
                received: { type: 'boolean', const: true },
                id: { type: 'string', format: 'uuid' },
                duplicate: { type: 'boolean' },
              },
            },
            400: { description: 'Signed, but not an event the scheme can read.', ...webhookError },
            401: {
              description: 'Missing or wrong signature, or a signed timestamp out of tolerance.',
              ...webhookError,
            },
            404: { description: 'No such webhook endpoint.', ...plainError },
            413: { description: "Larger than the integration's maxBodyBytes.", ...webhookError },
            503: { description: 'The event store is unavailable: the provider should retry.', ...webhookError },
          },
        },
        onRequest: async (request, reply) => {
          const endpoint = endpoints.get(request.params.tenant, request.params.integration);
          if (!endpoint) return reply.code(404).send(NOT_FOUND);
          request.webhookEndpoint = endpoint;
          const length = Number(request.headers['content-length']);
          if (Number.isFinite(length) && length > endpoint.maxBodyBytes) {
            // Refused before the body is read; the connection closes rather than drain it.
            reply.header('connection', 'close');
            return reject(
              reply,
              413,
              'webhook_body_too_large',
              `the body is larger than ${endpoint.maxBodyBytes} bytes`,
            );
          }
        },
      },
      async (request, reply) => {
        const endpoint = request.webhookEndpoint as WebhookEndpoint;
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (rawBody.length > endpoint.maxBodyBytes) {
          return reject(reply, 413, 'webhook_body_too_large', `the body is larger than ${endpoint.maxBodyBytes} bytes`);
        }
        let verified: Awaited<ReturnType<WebhookEndpoint['verifier']['verify']>>;
        try {
          verified = await endpoint.verifier.verify(
            { url: requestUrl(request, options.publicUrl), headers: headersOf(request), rawBody },
            { secrets: endpoint.secrets, toleranceMs: endpoint.toleranceMs },
          );
        } catch (error) {
          const known = IntegrationError.isInstance(error) ? error : undefined;
          const text = redactor.redact(known?.message ?? 'the webhook could not be verified');
          if (known?.kind === 'auth') {
            const code = known.code === 'webhook_timestamp_expired' ? known.code : 'webhook_signature_invalid';
            return reject(reply, 401, code, text);
          }
          if (known?.kind === 'invalid_request') return reject(reply, 400, 'webhook_malformed', text);
          // A secret that is not a usable key, a verifier that threw: the operator's to fix, the provider retries.
          request.log.error(
            { err: redactor.redactValue(error), tenant: endpoint.tenant, integration: endpoint.integration },
            'webhook verifier failed',
          );
          return reject(reply, 500, 'webhook_verifier_misconfigured', 'the webhook endpoint is misconfigured');
        }
        if (typeof verified?.id !== 'string' || verified.id === '' || typeof verified.type !== 'string') {
          return reject(reply, 400, 'webhook_malformed', 'the verified webhook has no event id or type');
        }
        let stored: { id: string; duplicate: boolean };
        try {
          stored = await store.insert({
            tenant: endpoint.tenant,
            integration: endpoint.integration,
            provider: endpoint.provider,
            eventId: verified.id,
            type: verified.type,
            occurredAt: verified.occurredAt,
            payload: verified.payload,
          });
        } catch (error) {
          request.log.error({ err: redactor.redactValue(error) }, 'webhook store: cannot store an event');
          reply.header('retry-after', '5');
          return reject(reply, 503, 'webhook_store_unavailable', 'the event could not be stored: retry later');
        }
        if (!stored.duplicate) options.onStored();
        return reply.code(200).send({ received: true, id: stored.id, duplicate: stored.duplicate });
      },
    );
  });

  await app.register(async (admin) => {
    admin.addHook('onRequest', async (request, reply) => {
      const principal = keys.identify(presentedKey(request.headers));
      if (!principal) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="integrations"').send(UNAUTHORIZED);
      }
      if (principal.kind !== 'admin') return reply.code(403).send(FORBIDDEN);
      const scope = keys.scope(principal, requestedTenant(request.headers));
      if (!scope) return reply.code(404).send(NOT_FOUND);
      request.scope = scope;
    });
    const security: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];
    const authErrors = {
      401: { description: 'Missing or unknown API key.', ...plainError },
      403: { description: 'A tenant key: these routes need the admin key.', ...plainError },
      404: { description: 'Unknown tenant (X-Tenant-Id) or dead letter.', ...plainError },
    };

    admin.get<{ Querystring: { integration?: string; limit?: number } }>(
      '/webhooks/dead-letters',
      {
        schema: {
          tags: ['webhooks'],
          summary: 'Events whose delivery failed maxAttempts times',
          description: 'Newest first. Narrow to a tenant with X-Tenant-Id and to an integration with `integration`.',
          security,
          querystring: {
            type: 'object',
            properties: {
              integration: { type: 'string' },
              limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
          },
          response: {
            200: {
              type: 'object',
              required: ['total', 'deadLetters'],
              properties: { total: { type: 'integer' }, deadLetters: { type: 'array', items: deadLetter } },
            },
            ...authErrors,
          },
        },
      },
      async (request) => {
        const { total, items } = await store.deadLetters({
          tenant: request.scope?.tenant,
          integration: request.query.integration,
          limit: request.query.limit,
        });
        return { total, deadLetters: items.map(deadLetterView) };
      },
    );

    admin.post<{ Params: { id: string } }>(
      '/webhooks/dead-letters/:id/replay',
      {
        schema: {
          tags: ['webhooks'],
          summary: 'Queue a dead letter for delivery again',
          description: 'The event goes back to the queue with a fresh set of attempts.',
          security,
          params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
          response: {
            202: {
              type: 'object',
              required: ['id', 'status'],
              properties: { id: { type: 'string' }, status: { type: 'string', const: 'pending' } },
            },
            ...authErrors,
          },
        },
      },
      async (request, reply) => {
        const replayed = await store.replay(request.params.id, request.scope?.tenant);
        if (!replayed) return reply.code(404).send(NOT_FOUND);
        options.onStored();
        return reply.code(202).send({ id: request.params.id, status: 'pending' });
      },
    );
  });
}
