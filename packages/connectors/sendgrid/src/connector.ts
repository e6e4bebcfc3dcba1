import { createPublicKey } from 'node:crypto';
import {
  type CallOptions,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationError,
  IntegrationType,
  InvalidConfigError,
  type WebhookRequest,
  type WebhookVerifyOptions,
} from '@integrations/core';
import { MailService } from '@sendgrid/mail';
import { sendgridConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { checkMail, type SendMailParams, type SendMailResult, toMailData } from './mail.js';
import { ConnectorClient, inAttempt } from './transport.js';
import { VERSION } from './version.js';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridWebhooks,
  type VerifiedSendGridWebhook,
  verifySendGridWebhook,
} from './webhooks.js';

/** A mail batch id: groups scheduled sends so they can be paused or cancelled together. */
export interface MailBatch {
  batchId: string;
}

/** The Event Webhook key as SendGrid shows it (base64 DER) or as PEM; it must be an EC P-256 public key. */
function checkPublicKey(key: string): void {
  const text = key.trim();
  try {
    const parsed = text.startsWith('-----BEGIN')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
    if (parsed.asymmetricKeyType === 'ec' && parsed.asymmetricKeyDetails?.namedCurve === 'prime256v1') return;
  } catch {
    // Reported below.
  }
  throw new InvalidConfigError('sendgrid', [
    {
      path: 'webhookPublicKey',
      message: 'must be the ECDSA P-256 verification key from the Event Webhook settings (base64 or PEM)',
    },
  ]);
}

function checkBaseUrl(apiBaseUrl: string): void {
  const url = new URL(apiBaseUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidConfigError('sendgrid', [{ path: 'apiBaseUrl', message: 'must be an http:// or https:// URL' }]);
  }
}

function batchIdOf(body: unknown): string {
  const id = (body as { batch_id?: unknown } | null)?.batch_id;
  if (typeof id !== 'string' || id === '') {
    throw new IntegrationError('internal', 'SendGrid answered without a batch_id', { provider: 'sendgrid' });
  }
  return id;
}

export const sendgrid = defineConnector({
  id: 'sendgrid',
  displayName: 'SendGrid',
  type: IntegrationType.Communication,
  category: 'email',
  version: VERSION,
  config: sendgridConfigSchema,
  operations: {
    // SendGrid's Mail Send takes no idempotency key: a repeat after a timeout could deliver the mail twice, so a
    // failed send is never retried by the pipeline (even when the caller passes an idempotencyKey).
    send: { idempotent: false, description: 'Send a mail: personalizations, dynamic templates, attachments.' },
    // A repeat only mints another unused id, which SendGrid never charges or sends.
    'batches.create': { idempotent: true, description: 'Create a batch id for scheduled sends.' },
    'batches.validate': { idempotent: true, description: 'Check that a batch id is valid.' },
  },
  webhooks: sendgridWebhooks,
  mapError,
  create(config, ctx) {
    checkBaseUrl(config.apiBaseUrl);
    if (config.webhookPublicKey !== undefined) checkPublicKey(config.webhookPublicKey);
    const client = new ConnectorClient(config.apiKey, config.apiBaseUrl, ctx.userAgent);
    const mail = new MailService();
    mail.setClient(client);

    async function send(params: SendMailParams, options?: CallOptions): Promise<SendMailResult> {
      // Without a key the call is never retried; SendGrid could not use one, so a caller's key must not enable retries.
      const { idempotencyKey: _ignored, ...callOptions } = options ?? {};
      return ctx.call(
        'send',
        async ({ signal }) => {
          const data = toMailData(checkMail(params, config.defaultFrom));
          const [response] = await inAttempt(signal, () => mail.send(data));
          const messageId = (response.headers as Record<string, unknown> | undefined)?.['x-message-id'];
          return { statusCode: response.statusCode, messageId: typeof messageId === 'string' ? messageId : undefined };
        },
        callOptions,
      );
    }

    const createBatch = (signal: AbortSignal) =>
      inAttempt(signal, async () => {
        const [, body] = await client.request({ method: 'POST', url: '/v3/mail/batch' });
        return { batchId: batchIdOf(body) };
      });

    const validateBatch = (batchId: string, signal: AbortSignal) =>
      inAttempt(signal, async () => {
        const [, body] = await client.request({ method: 'GET', url: `/v3/mail/batch/${encodeURIComponent(batchId)}` });
        return { batchId: batchIdOf(body) };
      });

    /** Minted by the first health check; later checks only validate it, so checking sends nothing and creates nothing. */
    let healthBatchId: string | undefined;

    function verifyWebhook(request: WebhookRequest, options?: Partial<WebhookVerifyOptions>): VerifiedSendGridWebhook {
      const secrets = options?.secrets ?? (config.webhookPublicKey ? [config.webhookPublicKey] : []);
      if (secrets.length === 0) {
        throw new InvalidConfigError('sendgrid', [
          { path: 'webhookPublicKey', message: 'is required to verify webhooks when no public keys are passed' },
        ]);
      }
      return verifySendGridWebhook(
        request.rawBody,
        {
          signature: request.headers[SENDGRID_SIGNATURE_HEADER],
          timestamp: request.headers[SENDGRID_TIMESTAMP_HEADER],
        },
        { ...options, secrets },
      );
    }

    return {
      client,
      async healthCheck({ signal }: { signal: AbortSignal }) {
        try {
          if (healthBatchId === undefined) healthBatchId = (await createBatch(signal)).batchId;
          else await validateBatch(healthBatchId, signal);
          return { batchScope: true };
        } catch (error) {
          const failure = IntegrationError.isInstance(error) ? error : mapError(error);
          // A key restricted to Mail Send is accepted but may not touch batches: it works, so it is healthy.
          if (failure.kind === 'permission') return { batchScope: false };
          throw failure;
        }
      },
      close() {
        client.close();
      },
      send,
      batches: {
        /** Creates a batch id: pass it as `batchId` to scheduled sends to pause or cancel them together. */
        create: (options?: CallOptions): Promise<MailBatch> =>
          ctx.call('batches.create', ({ signal }) => createBatch(signal), options),
        /** Resolves with the id when SendGrid knows it; an unknown id fails with invalid_request. */
        validate: (batchId: string, options?: CallOptions): Promise<MailBatch> =>
          ctx.call(
            'batches.validate',
            async ({ signal }) => {
              if (typeof batchId !== 'string' || batchId.trim() === '') {
                throw new IntegrationError('invalid_request', 'batches.validate: `batchId` is required', {
                  provider: 'sendgrid',
                  code: 'missing_batch_id',
                });
              }
              return validateBatch(batchId, signal);
            },
            options,
          ),
      },
      verifyWebhook,
    };
  },
});

export type SendgridInstance = ConnectorInstanceOf<typeof sendgrid>;
