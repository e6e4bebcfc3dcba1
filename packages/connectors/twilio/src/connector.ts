import {
  type CallOptions,
  type ConfigOutput,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationError,
  IntegrationType,
  InvalidConfigError,
  type WebhookRequest,
  type WebhookVerifyOptions,
} from '@integrations/core';
import twilioSdk from 'twilio';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message';
import { twilioConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { ConnectorRequestClient, inAttempt } from './transport.js';
import { VERSION } from './version.js';
import {
  TWILIO_SIGNATURE_HEADER,
  twilioWebhooks,
  type VerifiedTwilioWebhook,
  verifyTwilioWebhook,
} from './webhooks.js';

type ParsedConfig = ConfigOutput<typeof twilioConfigSchema.fields>;

/** A message as Twilio reports it: plain data (the SDK's instance also holds the client, and with it the token). */
export type TwilioMessage = ReturnType<MessageInstance['toJSON']>;

export interface SendSmsParams {
  /** The recipient: E.164 (`+15558675310`) or a channel address (`whatsapp:+15558675310`). */
  to: string;
  /** A Twilio number, short code or alphanumeric sender id of the account. Give this or `messagingServiceSid`. */
  from?: string | undefined;
  /** A Messaging Service (`MG…`) that picks the sender. Give this or `from`. */
  messagingServiceSid?: string | undefined;
  /** The text, up to 1,600 characters. Required unless `mediaUrl` is given. */
  body?: string | undefined;
  /** Public URLs of media to send as MMS. */
  mediaUrl?: string[] | undefined;
  /** Where Twilio posts this message's status updates. Default: the config's `statusCallbackUrl`. */
  statusCallback?: string | undefined;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const CHANNEL_ADDRESS = /^[a-z][a-z0-9-]*:\S+$/;

function invalid(code: string, message: string): IntegrationError {
  return new IntegrationError('invalid_request', message, { provider: 'twilio', code, retryable: false });
}

/** Twilio would answer 400 to each of these; saying so before sending names the parameter and spends nothing. */
function checkSms(params: SendSmsParams): void {
  if (typeof params?.to !== 'string' || params.to.trim() === '') {
    throw invalid('missing_to', 'sendSms: `to` is required (an E.164 number such as +15558675310)');
  }
  if (!E164.test(params.to) && !CHANNEL_ADDRESS.test(params.to)) {
    throw invalid(
      'invalid_to',
      `sendSms: \`to\` "${params.to}" is not an E.164 phone number (+ and up to 15 digits) or a channel address (whatsapp:+15558675310)`,
    );
  }
  if (!params.from && !params.messagingServiceSid) {
    throw invalid('missing_from', 'sendSms: give `from` (a sender of the account) or `messagingServiceSid`');
  }
  const hasBody = typeof params.body === 'string' && params.body !== '';
  if (!hasBody && !(params.mediaUrl && params.mediaUrl.length > 0)) {
    throw invalid('missing_body', 'sendSms: `body` is required (or `mediaUrl` for a media-only message)');
  }
  if (hasBody && (params.body as string).length > 1600) {
    throw invalid(
      'body_too_long',
      `sendSms: \`body\` has ${params.body?.length} characters; Twilio takes at most 1600`,
    );
  }
}

function createClient(config: ParsedConfig, userAgent: string) {
  const url = new URL(config.apiBaseUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidConfigError('twilio', [{ path: 'apiBaseUrl', message: 'must be an http:// or https:// URL' }]);
  }
  const httpClient = new ConnectorRequestClient(config.apiBaseUrl);
  const client = twilioSdk(config.accountSid, config.authToken, {
    httpClient,
    // Stated although they are the defaults: core's pipeline is the only retry layer.
    autoRetry: false,
    maxRetries: 0,
    userAgentExtensions: userAgent.split(' '),
  });
  return { client, httpClient };
}

export const twilio = defineConnector({
  id: 'twilio',
  displayName: 'Twilio',
  type: IntegrationType.Communication,
  category: 'messaging',
  version: VERSION,
  config: twilioConfigSchema,
  operations: {
    // Twilio's Messages API takes no idempotency key: a repeat after a timeout could text the recipient twice,
    // so a failed send is never retried by the pipeline (even when the caller passes an idempotencyKey).
    sendSms: { idempotent: false, description: 'Send an SMS or MMS (from a number or a Messaging Service).' },
    getMessage: { idempotent: true, description: 'Fetch a message by sid: its status, error code and price.' },
  },
  webhooks: twilioWebhooks,
  mapError,
  create(config, ctx) {
    const { client, httpClient } = createClient(config, ctx.userAgent);
    // The basic-auth header carries the token base64-encoded: redact that form too.
    ctx.addSecret(Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64'));

    async function sendSms(params: SendSmsParams, options?: CallOptions): Promise<TwilioMessage> {
      // Without a key the call is never retried; Twilio could not use one, so a caller's key must not enable retries.
      const { idempotencyKey: _ignored, ...callOptions } = options ?? {};
      return ctx.call(
        'sendSms',
        async ({ signal }) => {
          checkSms(params);
          const statusCallback = params.statusCallback ?? config.statusCallbackUrl;
          const message = await inAttempt(signal, () =>
            client.messages.create({
              to: params.to,
              ...(params.from ? { from: params.from } : {}),
              ...(params.messagingServiceSid ? { messagingServiceSid: params.messagingServiceSid } : {}),
              ...(params.body ? { body: params.body } : {}),
              ...(params.mediaUrl?.length ? { mediaUrl: params.mediaUrl } : {}),
              ...(statusCallback ? { statusCallback } : {}),
            }),
          );
          return message.toJSON();
        },
        callOptions,
      );
    }

    async function getMessage(sid: string, options?: CallOptions): Promise<TwilioMessage> {
      return ctx.call(
        'getMessage',
        async ({ signal }) => {
          if (typeof sid !== 'string' || sid.trim() === '') {
            throw invalid('missing_sid', 'getMessage: `sid` is required (SM… or MM…)');
          }
          const message = await inAttempt(signal, () => client.messages(sid).fetch());
          return message.toJSON();
        },
        options,
      );
    }

    function verifyWebhook(request: WebhookRequest, options?: Partial<WebhookVerifyOptions>): VerifiedTwilioWebhook {
      const secrets = options?.secrets ?? [config.authToken];
      return verifyTwilioWebhook(request.url, request.rawBody, request.headers[TWILIO_SIGNATURE_HEADER], {
        ...options,
        secrets,
      });
    }

    return {
      client,
      async healthCheck({ signal }: { signal: AbortSignal }) {
        let account: Awaited<ReturnType<ReturnType<typeof client.api.v2010.accounts>['fetch']>>;
        try {
          account = await inAttempt(signal, () => client.api.v2010.accounts(config.accountSid).fetch());
        } catch (error) {
          throw IntegrationError.isInstance(error) ? error : mapError(error);
        }
        // A suspended or closed account answers, but cannot send.
        if (account.status !== 'active') {
          throw new IntegrationError('permission', `the Twilio account is ${account.status}`, {
            provider: 'twilio',
            code: `account_${account.status}`,
            retryable: false,
          });
        }
        return { accountStatus: account.status, accountType: account.type };
      },
      close() {
        httpClient.close();
      },
      sendSms,
      getMessage,
      verifyWebhook,
    };
  },
});

export type TwilioInstance = ConnectorInstanceOf<typeof twilio>;
