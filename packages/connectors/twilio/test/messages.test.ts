import { createServer, connect as dial, type Socket } from 'node:net';
import { IntegrationError, type IntegrationHandle, type Registry } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import {
  createFaultProxy,
  type FaultProxy,
  faults,
  type PrismStandIn,
  specPath,
  startPrism,
} from '@integrations/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TwilioConfig, type TwilioInstance, twilio } from '../src/index.js';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'messages_suite_auth_token_0001';
const MESSAGE_SID = `SM${'b'.repeat(32)}`;
const SERVICE_SID = `MG${'c'.repeat(32)}`;
const MESSAGES_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;

let prism: PrismStandIn;
let proxy: FaultProxy;
const registries: Registry[] = [];

beforeAll(async () => {
  prism = await startPrism(specPath('twilio/twilio_api_v2010.json'));
  proxy = await createFaultProxy({ target: prism.url });
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
  proxy.reset();
});

afterAll(async () => {
  await proxy?.close();
  await prism?.stop();
});

/** The connector as an application gets it: registered in core's registry, behind its pipeline and the proxy. */
async function connect(
  config: Partial<TwilioConfig> = {},
  maxAttempts = 3,
): Promise<IntegrationHandle<TwilioInstance>> {
  const registry = createRegistry();
  registries.push(registry);
  const handle = registry.register(twilio, {
    name: 'sms',
    config: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: proxy.url, ...config },
    retry: { maxAttempts, initialDelayMs: 5, jitter: 'none' },
    timeoutMs: 5000,
    healthCheck: false,
  });
  const report = await registry.enable('sms');
  expect(report.status).toBe('healthy');
  proxy.reset();
  return handle;
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    expect(IntegrationError.isInstance(error)).toBe(true);
    return error as IntegrationError;
  }
  throw new Error('expected the call to fail');
}

/** The form fields the SDK last sent (its request client keeps them). */
function sentForm(sms: IntegrationHandle<TwilioInstance>): Record<string, unknown> {
  return (sms.client.httpClient.lastRequest?.data ?? {}) as Record<string, unknown>;
}

function basicAuth(header: unknown): string {
  expect(typeof header).toBe('string');
  const [scheme, value] = String(header).split(' ');
  expect(scheme).toBe('Basic');
  return Buffer.from(value ?? '', 'base64').toString('utf8');
}

describe('sendSms', () => {
  it('sends through the SDK; Prism validates the request against the spec and answers 201', async () => {
    const sms = await connect();
    const message = await sms.sendSms({ to: '+15558675310', from: '+15017122661', body: 'Your code is 4242' });
    // The spec's example response for a created message, deserialised by the SDK.
    expect(message).toMatchObject({ sid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued' });
    expect(message.dateCreated).toBeInstanceOf(Date);
    expect(sentForm(sms)).toEqual({ To: '+15558675310', From: '+15017122661', Body: 'Your code is 4242' });
    const [request] = proxy.requests;
    expect(proxy.requests).toHaveLength(1);
    expect(request).toMatchObject({ method: 'POST', path: MESSAGES_PATH });
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(basicAuth(request?.headers.authorization)).toBe(`${ACCOUNT_SID}:${AUTH_TOKEN}`);
    expect(request?.headers['user-agent']).toMatch(
      /^twilio-node\/\S+ .*@integrations\/twilio\/\S+ @integrations\/core\//,
    );
  });

  it('sends from a Messaging Service and applies the configured status callback', async () => {
    const sms = await connect({ statusCallbackUrl: 'https://hooks.example.com/twilio/status' });
    await sms.sendSms({ to: 'whatsapp:+15558675310', messagingServiceSid: SERVICE_SID, body: 'Your order shipped' });
    expect(sentForm(sms)).toEqual({
      To: 'whatsapp:+15558675310',
      MessagingServiceSid: SERVICE_SID,
      Body: 'Your order shipped',
      StatusCallback: 'https://hooks.example.com/twilio/status',
    });
    // A per-message callback wins over the configured one.
    await sms.sendSms({
      to: '+15558675310',
      from: '+15017122661',
      body: 'hi',
      statusCallback: 'https://hooks.example.com/twilio/other',
    });
    expect(sentForm(sms).StatusCallback).toBe('https://hooks.example.com/twilio/other');
    expect(proxy.requests.map((r) => r.path)).toEqual([MESSAGES_PATH, MESSAGES_PATH]);
  });

  it('sends media URLs as repeated MediaUrl parameters', async () => {
    const sms = await connect();
    // Prism decodes form arrays only in `MediaUrl[]=` style, while Twilio (and its SDK) repeat `MediaUrl=`; so for
    // this one case the proxy answers with the spec's own example of a created message instead of Prism.
    const created = await (
      await fetch(`${prism.url}${MESSAGES_PATH}`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ To: '+15558675310', From: '+15017122661', Body: 'x' }),
      })
    ).text();
    proxy.script(faults.status(201, { body: created }));
    const message = await sms.sendSms({
      to: '+15558675310',
      from: '+15017122661',
      mediaUrl: ['https://cdn.example.com/a.png', 'https://cdn.example.com/b.png'],
    });
    expect(message.status).toBe('queued');
    expect(sentForm(sms)).toEqual({
      To: '+15558675310',
      From: '+15017122661',
      MediaUrl: ['https://cdn.example.com/a.png', 'https://cdn.example.com/b.png'],
    });
  });

  it('refuses a missing body before sending, naming it', async () => {
    const sms = await connect();
    const error = await rejection(sms.sendSms({ to: '+15558675310', from: '+15017122661' }));
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'missing_body', operation: 'sendSms' });
    expect(error.message).toContain('`body` is required');
    expect(proxy.requests).toHaveLength(0);
  });

  it('refuses a `to` that is not a phone number or channel address, naming it', async () => {
    const sms = await connect();
    const error = await rejection(sms.sendSms({ to: '555-CALL-NOW', from: '+15017122661', body: 'hi' }));
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'invalid_to' });
    expect(error.message).toContain('`to` "555-CALL-NOW" is not an E.164 phone number');
    const missing = await rejection(sms.sendSms({ to: '', from: '+15017122661', body: 'hi' }));
    expect(missing).toMatchObject({ kind: 'invalid_request', code: 'missing_to' });
    expect(proxy.requests).toHaveLength(0);
  });

  it('refuses a message with neither `from` nor `messagingServiceSid`', async () => {
    const sms = await connect();
    const error = await rejection(sms.sendSms({ to: '+15558675310', body: 'hi' }));
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'missing_from' });
    expect(error.message).toContain('messagingServiceSid');
  });

  it('maps a request the spec rejects (Prism 422 problem+json) to invalid_request naming the parameter', async () => {
    const sms = await connect();
    const error = await rejection(
      sms.sendSms({ to: '+15558675310', from: '+15017122661', body: 'hi', statusCallback: 'not a url' }),
    );
    expect(error).toMatchObject({ kind: 'invalid_request', status: 422, retryable: false });
    expect(error.message).toContain('StatusCallback must match format "uri"');
    const service = await rejection(sms.sendSms({ to: '+15558675310', messagingServiceSid: 'MG123', body: 'hi' }));
    expect(service.kind).toBe('invalid_request');
    expect(service.message).toContain('MessagingServiceSid');
    // Neither was retried.
    expect(proxy.requests).toHaveLength(2);
  });

  it('is sent exactly once when Twilio answers 503, even with an idempotencyKey', async () => {
    const sms = await connect();
    proxy.script(faults.status(503, { body: JSON.stringify({ code: 20500, message: 'Internal Server Error' }) }));
    const error = await rejection(
      sms.sendSms({ to: '+15558675310', from: '+15017122661', body: 'once' }, { idempotencyKey: 'order-42' }),
    );
    expect(error).toMatchObject({ kind: 'unavailable', status: 503, code: '20500' });
    expect(proxy.requests).toHaveLength(1);
    // A connection reset after sending is just as ambiguous: still one attempt.
    proxy.reset();
    proxy.script(faults.reset());
    const reset = await rejection(sms.sendSms({ to: '+15558675310', from: '+15017122661', body: 'once' }));
    expect(reset.kind).toBe('unavailable');
    expect(proxy.requests).toHaveLength(1);
  });
});

describe('getMessage', () => {
  it("fetches a message's status", async () => {
    const sms = await connect();
    const message = await sms.getMessage(MESSAGE_SID);
    // The spec's fetch example: a message Twilio has handed to the carrier, with a carrier error code.
    expect(message).toMatchObject({ status: 'sent', errorCode: 30007, accountSid: expect.stringMatching(/^AC/) });
    expect(proxy.requests[0]).toMatchObject({
      method: 'GET',
      path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${MESSAGE_SID}.json`,
    });
  });

  it('retries a read after a 503 and succeeds', async () => {
    const sms = await connect();
    proxy.script(faults.status(503));
    const message = await sms.getMessage(MESSAGE_SID);
    expect(message.status).toBe('sent');
    expect(proxy.requests).toHaveLength(2);
  });

  it('maps a malformed sid (Prism 422) to invalid_request naming the path parameter', async () => {
    const sms = await connect();
    const error = await rejection(sms.getMessage('XX123'));
    expect(error).toMatchObject({ kind: 'invalid_request', status: 422 });
    expect(error.message).toMatch(/path parameter sid/i);
    const empty = await rejection(sms.getMessage(''));
    expect(empty).toMatchObject({ kind: 'invalid_request', code: 'missing_sid' });
  });
});

describe("Twilio's error JSON", () => {
  const twilioError = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
    faults.status(status, {
      headers,
      body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
    });

  it('keeps the Twilio error code and its reference', async () => {
    const sms = await connect();
    proxy.script(twilioError(400, 21211, "The 'To' number +15005550001 is not a valid phone number."));
    const error = await rejection(sms.sendSms({ to: '+15005550001', from: '+15017122661', body: 'hi' }));
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400, code: '21211' });
    expect(error.message).toContain("The 'To' number +15005550001 is not a valid phone number.");
    expect(error.message).toContain('https://www.twilio.com/docs/errors/21211');
  });

  it('maps 404 (20404) to not_found, 401 (20003) to auth without echoing credentials, 429 to rate_limited', async () => {
    // One attempt: a retry after Retry-After would only wait.
    const sms = await connect({}, 1);
    proxy.script(twilioError(404, 20404, 'The requested resource /Messages/SM.json was not found'));
    expect(await rejection(sms.getMessage(MESSAGE_SID))).toMatchObject({ kind: 'not_found', code: '20404' });

    proxy.script(twilioError(401, 20003, 'Authenticate'));
    const auth = await rejection(sms.getMessage(MESSAGE_SID));
    expect(auth).toMatchObject({ kind: 'auth', code: '20003', retryable: false });
    expect(JSON.stringify(auth.toJSON())).not.toContain(AUTH_TOKEN);

    proxy.script(twilioError(429, 20429, 'Too Many Requests', { 'retry-after': '3' }));
    const limited = await rejection(sms.getMessage(MESSAGE_SID));
    expect(limited).toMatchObject({ kind: 'rate_limited', code: '20429', retryAfterMs: 3000 });
  });
});

describe('authentication', () => {
  it('Prism refuses a request without basic auth; the connector always sends the configured credentials', async () => {
    const unauthenticated = await fetch(`${prism.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${MESSAGE_SID}.json`);
    expect(unauthenticated.status).toBe(401);
    await unauthenticated.body?.cancel();
    const sms = await connect();
    await sms.getMessage(MESSAGE_SID);
    expect(basicAuth(proxy.requests[0]?.headers.authorization)).toBe(`${ACCOUNT_SID}:${AUTH_TOKEN}`);
  });

  it('the health check fetches the account and reports its status, never its token', async () => {
    const registry = createRegistry();
    registries.push(registry);
    registry.register(twilio, {
      name: 'health',
      config: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: proxy.url },
      healthCheck: false,
    });
    const report = await registry.enable('health');
    expect(report).toMatchObject({ status: 'healthy', details: { accountStatus: 'active' } });
    expect(JSON.stringify(report)).not.toContain('auth_token');
    expect(proxy.requests[0]).toMatchObject({ method: 'GET', path: `/2010-04-01/Accounts/${ACCOUNT_SID}.json` });
  });
});

describe('close', () => {
  /** A TCP tunnel to Prism that counts open client connections (Prism keeps idle connections for 5 s). */
  async function tunnel() {
    const target = new URL(prism.url);
    const open = new Set<Socket>();
    const server = createServer((client) => {
      open.add(client);
      const upstream = dial(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', () => {
        open.delete(client);
        end();
      });
      client.on('error', end);
      upstream.on('error', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}`,
      open: () => open.size,
      close: () => {
        for (const socket of open) socket.destroy();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('releases the pooled keep-alive connection', async () => {
    const line = await tunnel();
    try {
      const registry = createRegistry();
      const sms = registry.register(twilio, {
        name: 'pooled',
        config: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: line.url },
        healthCheck: false,
      });
      await registry.enable('pooled');
      await sms.getMessage(MESSAGE_SID);
      // The SDK keeps the connection for the next request...
      expect(line.open()).toBe(1);
      await registry.close();
      // ...until the integration closes.
      for (let i = 0; i < 40 && line.open() > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(line.open()).toBe(0);
    } finally {
      await line.close();
    }
  });
});
