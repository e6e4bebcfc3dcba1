import { IntegrationError, type WebhookRequest } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { type PrismStandIn, specPath, startPrism } from '@integrations/testkit';
import twilioSdk from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTwilioForm, twilio, twilioWebhooks, verifyTwilioWebhook } from '../src/index.js';

const ACCOUNT_SID = `AC${'a'.repeat(32)}`;
const OLD_TOKEN = 'old_auth_token_0123456789abcdef';
const NEW_TOKEN = 'new_auth_token_fedcba9876543210';
const URL_SIGNED = 'https://hooks.example.com/twilio/status?tenant=acme';

/** A message status callback as Twilio posts it. */
const params: Record<string, string> = {
  AccountSid: ACCOUNT_SID,
  ApiVersion: '2010-04-01',
  From: '+15017122661',
  MessageSid: `SM${'1'.repeat(32)}`,
  MessageStatus: 'delivered',
  SmsSid: `SM${'1'.repeat(32)}`,
  SmsStatus: 'delivered',
  To: '+15558675310',
};

function form(values: Record<string, string>): string {
  return new URLSearchParams(values).toString();
}

/** A delivery as the gateway receives it, signed with the SDK's own helper exactly as Twilio signs it. */
function delivery(
  values: Record<string, string>,
  token: string | undefined,
  options: { url?: string; signedUrl?: string; body?: string } = {},
): WebhookRequest {
  const url = options.url ?? URL_SIGNED;
  const signature =
    token === undefined ? undefined : twilioSdk.getExpectedTwilioSignature(token, options.signedUrl ?? url, values);
  return {
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      'i-twilio-idempotency-token': 'b9e1cd2c-0d7e-4a8f-9d59-8f2f5b2c6a11',
    },
    rawBody: new TextEncoder().encode(options.body ?? form(values)),
  };
}

function failureOf(run: () => unknown): IntegrationError {
  try {
    run();
  } catch (error) {
    expect(IntegrationError.isInstance(error)).toBe(true);
    return error as IntegrationError;
  }
  throw new Error('expected verification to fail');
}

describe('Twilio status callback verification', () => {
  it('the definition declares the X-Twilio-Signature verifier', () => {
    expect(twilio.webhooks).toBe(twilioWebhooks);
    expect(twilioWebhooks.signatureHeader).toBe('x-twilio-signature');
  });

  it('accepts a genuine callback; the id is MessageSid + MessageStatus', async () => {
    const verified = await twilioWebhooks.verify(delivery(params, NEW_TOKEN), { secrets: [NEW_TOKEN] });
    expect(verified).toEqual({
      id: `SM${'1'.repeat(32)}:delivered`,
      type: 'message.delivered',
      occurredAt: undefined,
      payload: params,
    });
  });

  it("the id ignores Twilio's unsigned idempotency header, so a replay with a new one still dedupes", async () => {
    const first = delivery(params, NEW_TOKEN);
    const replay = { ...first, headers: { ...first.headers, 'i-twilio-idempotency-token': 'forged-fresh-token' } };
    const [a, b] = await Promise.all([first, replay].map((r) => twilioWebhooks.verify(r, { secrets: [NEW_TOKEN] })));
    expect(a?.id).toBe(b?.id);
    // Each status of a message is its own event.
    const sent = await twilioWebhooks.verify(
      delivery({ ...params, MessageStatus: 'sent', SmsStatus: 'sent' }, NEW_TOKEN),
      {
        secrets: [NEW_TOKEN],
      },
    );
    expect(sent.id).not.toBe(a?.id);
  });

  it('rejects a tampered parameter as webhook_signature_invalid', () => {
    const signed = delivery(params, NEW_TOKEN);
    const tampered = { ...signed, rawBody: new TextEncoder().encode(form({ ...params, MessageStatus: 'failed' })) };
    const error = failureOf(() => twilioWebhooks.verify(tampered, { secrets: [NEW_TOKEN] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid', retryable: false });
    // An added parameter breaks it too.
    const added = { ...signed, rawBody: new TextEncoder().encode(`${form(params)}&ErrorCode=30007`) };
    expect(failureOf(() => twilioWebhooks.verify(added, { secrets: [NEW_TOKEN] })).code).toBe(
      'webhook_signature_invalid',
    );
  });

  it('rejects a signature made with another Auth Token, and never echoes the tokens', () => {
    const error = failureOf(() =>
      twilioWebhooks.verify(delivery(params, 'someone_elses_token_000000'), { secrets: [NEW_TOKEN] }),
    );
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
    expect(JSON.stringify(error.toJSON())).not.toContain(NEW_TOKEN);
  });

  it('rejects a signature made for a different URL (another path or query)', () => {
    for (const signedUrl of [
      'https://hooks.example.com/twilio/other?tenant=acme',
      'https://hooks.example.com/twilio/status?tenant=globex',
      'https://evil.example.com/twilio/status?tenant=acme',
    ]) {
      const error = failureOf(() =>
        twilioWebhooks.verify(delivery(params, NEW_TOKEN, { signedUrl }), { secrets: [NEW_TOKEN] }),
      );
      expect(error.code).toBe('webhook_signature_invalid');
    }
  });

  it("accepts the URL with or without the default port, as the SDK's check does", () => {
    const request = delivery(params, NEW_TOKEN, {
      url: 'https://hooks.example.com:443/twilio/status?tenant=acme',
      signedUrl: URL_SIGNED,
    });
    expect(
      verifyTwilioWebhook(request.url, request.rawBody, request.headers['x-twilio-signature'], { secrets: [NEW_TOKEN] })
        .type,
    ).toBe('message.delivered');
  });

  it('during a token rotation accepts the old and the new token; a retired token stops working', () => {
    const secrets = [NEW_TOKEN, OLD_TOKEN];
    expect(twilioWebhooks.verify(delivery(params, OLD_TOKEN), { secrets })).toMatchObject({
      type: 'message.delivered',
    });
    expect(twilioWebhooks.verify(delivery(params, NEW_TOKEN), { secrets })).toMatchObject({
      type: 'message.delivered',
    });
    const retired = failureOf(() => twilioWebhooks.verify(delivery(params, OLD_TOKEN), { secrets: [NEW_TOKEN] }));
    expect(retired.code).toBe('webhook_signature_invalid');
  });

  it('rejects a missing signature header, naming it', () => {
    const error = failureOf(() => twilioWebhooks.verify(delivery(params, undefined), { secrets: [NEW_TOKEN] }));
    expect(error).toMatchObject({ kind: 'auth', code: 'webhook_signature_invalid' });
    expect(error.message).toContain('x-twilio-signature');
  });

  it('keeps every value of a repeated parameter (they are signed sorted)', () => {
    const body = 'MessageSid=SM1&MessageStatus=received&MediaUrl=https%3A%2F%2Fb&MediaUrl=https%3A%2F%2Fa';
    const values = parseTwilioForm(body);
    expect(values.MediaUrl).toEqual(['https://b', 'https://a']);
    const signature = twilioSdk.getExpectedTwilioSignature(NEW_TOKEN, URL_SIGNED, values);
    const verified = verifyTwilioWebhook(URL_SIGNED, body, signature, { secrets: [NEW_TOKEN] });
    expect(verified).toMatchObject({ id: 'SM1:received', type: 'message.received' });
  });

  it('identifies call status callbacks by CallSid + CallStatus, with their timestamp', () => {
    const call = {
      AccountSid: ACCOUNT_SID,
      CallSid: `CA${'2'.repeat(32)}`,
      CallStatus: 'completed',
      Timestamp: 'Thu, 24 Aug 2023 05:01:45 +0000',
    };
    const verified = twilioWebhooks.verify(delivery(call, NEW_TOKEN), { secrets: [NEW_TOKEN] });
    expect(verified).toMatchObject({
      id: `CA${'2'.repeat(32)}:completed`,
      type: 'call.completed',
      occurredAt: '2023-08-24T05:01:45.000Z',
    });
  });

  it('rejects a signed callback with no sid and status as webhook_malformed', () => {
    const error = failureOf(() =>
      twilioWebhooks.verify(delivery({ AccountSid: ACCOUNT_SID, Body: 'hello' }, NEW_TOKEN), { secrets: [NEW_TOKEN] }),
    );
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'webhook_malformed' });
  });

  it('refuses to verify without any token', () => {
    const error = failureOf(() => twilioWebhooks.verify(delivery(params, NEW_TOKEN), { secrets: [] }));
    expect(error).toMatchObject({ kind: 'invalid_config', code: 'webhook_secret_missing' });
  });
});

describe('verifyWebhook on an instance', () => {
  let prism: PrismStandIn;
  beforeAll(async () => {
    prism = await startPrism(specPath('twilio/twilio_api_v2010.json'));
  });
  afterAll(async () => {
    await prism?.stop();
  });

  it("uses the integration's Auth Token, or the tokens it is given", async () => {
    const registry = createRegistry();
    try {
      const sms = registry.register(twilio, {
        name: 'hooks',
        config: { accountSid: ACCOUNT_SID, authToken: NEW_TOKEN, apiBaseUrl: prism.url },
        healthCheck: false,
      });
      expect((await registry.enable('hooks')).status).toBe('healthy');
      expect(sms.verifyWebhook(delivery(params, NEW_TOKEN)).id).toBe(`SM${'1'.repeat(32)}:delivered`);
      expect(failureOf(() => sms.verifyWebhook(delivery(params, OLD_TOKEN))).code).toBe('webhook_signature_invalid');
      const rotated = sms.verifyWebhook(delivery(params, OLD_TOKEN), { secrets: [NEW_TOKEN, OLD_TOKEN] });
      expect(rotated.type).toBe('message.delivered');
    } finally {
      await registry.close();
    }
  });
});
