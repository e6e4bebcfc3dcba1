/**
 * The generic HMAC-SHA256 verifier against signatures made the providers' way: GitHub's with its own
 * @octokit/webhooks-methods, Slack's and Shopify's with node:crypto as their docs describe.
 */
import { createHash, createHmac } from 'node:crypto';
import { sign as signGitHub, verify as verifyGitHub } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { IntegrationError } from '../src/errors.js';
import {
  constantTimeEqual,
  hmacSha256Verifier,
  signedPayloadTemplate,
  type WebhookErrorCode,
} from '../src/webhooks.js';

const encoder = new TextEncoder();
const request = (body: string, headers: Record<string, string>) => ({
  url: 'https://hooks.example.com/webhooks/acme/github',
  headers,
  rawBody: encoder.encode(body),
});

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(IntegrationError.isInstance(error)).toBe(true);
  return error as IntegrationError;
}

async function expectCode(promise: Promise<unknown>, kind: string, code: WebhookErrorCode) {
  const error = await rejection(promise);
  expect({ kind: error.kind, code: error.code, retryable: error.retryable }).toEqual({ kind, code, retryable: false });
  return error;
}

describe('GitHub style: sha256=<hex> of the body, id and type in headers', () => {
  const github = hmacSha256Verifier({
    provider: 'github',
    signatureHeader: 'X-Hub-Signature-256',
    prefix: 'sha256=',
    idHeader: 'x-github-delivery',
    typeHeader: 'x-github-event',
  });
  const secret = 'github-webhook-secret-0001';
  const body = JSON.stringify({ action: 'opened', number: 7, repository: { full_name: 'acme/app' } });
  const headers = async (payload: string, key = secret) => ({
    'x-hub-signature-256': await signGitHub(key, payload),
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'x-github-event': 'pull_request',
    'content-type': 'application/json',
  });

  it('accepts what GitHub signs and reads the delivery id and event name', async () => {
    const signed = await headers(body);
    expect(await verifyGitHub(secret, body, signed['x-hub-signature-256'])).toBe(true);
    const event = await github.verify(request(body, signed), { secrets: [secret] });
    expect(event).toEqual({
      id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      type: 'pull_request',
      occurredAt: undefined,
      payload: JSON.parse(body),
    });
    expect(github.signatureHeader).toBe('x-hub-signature-256');
  });

  it('refuses a changed body, a wrong secret, a missing or undecodable header', async () => {
    const signed = await headers(body);
    await expectCode(
      Promise.resolve(github.verify(request(body.replace('7', '8'), signed), { secrets: [secret] })),
      'auth',
      'webhook_signature_invalid',
    );
    await expectCode(
      Promise.resolve(github.verify(request(body, await headers(body, 'another-secret-000')), { secrets: [secret] })),
      'auth',
      'webhook_signature_invalid',
    );
    const { 'x-hub-signature-256': _, ...unsigned } = signed;
    const missing = await expectCode(
      Promise.resolve(github.verify(request(body, unsigned), { secrets: [secret] })),
      'auth',
      'webhook_signature_invalid',
    );
    expect(missing.message).toContain('x-hub-signature-256 header is missing');
    for (const bad of ['sha1=abcd', 'sha256=zz', 'sha256=abc', signed['x-hub-signature-256'].slice(7)]) {
      await expectCode(
        Promise.resolve(github.verify(request(body, { ...signed, 'x-hub-signature-256': bad }), { secrets: [secret] })),
        'auth',
        'webhook_signature_invalid',
      );
    }
  });

  it('accepts the old and the new secret while both are configured (rotation)', async () => {
    const next = 'github-webhook-secret-0002';
    const secrets = [next, secret];
    expect((await github.verify(request(body, await headers(body, secret)), { secrets })).type).toBe('pull_request');
    expect((await github.verify(request(body, await headers(body, next)), { secrets })).type).toBe('pull_request');
    await expectCode(
      Promise.resolve(github.verify(request(body, await headers(body, secret)), { secrets: [next] })),
      'auth',
      'webhook_signature_invalid',
    );
  });

  it('needs a secret, and an id where one was asked for', async () => {
    await expectCode(
      Promise.resolve(github.verify(request(body, await headers(body)), { secrets: ['', ''] })),
      'invalid_config',
      'webhook_secret_missing',
    );
    const { 'x-github-delivery': _, ...noId } = await headers(body);
    const error = await expectCode(
      Promise.resolve(github.verify(request(body, noId), { secrets: [secret] })),
      'invalid_request',
      'webhook_malformed',
    );
    expect(error.message).toContain('header x-github-delivery');
  });

  it('calls a signed body that is not JSON malformed', async () => {
    const notJson = 'action=opened';
    await expectCode(
      Promise.resolve(github.verify(request(notJson, await headers(notJson)), { secrets: [secret] })),
      'invalid_request',
      'webhook_malformed',
    );
  });
});

describe('Slack style: v0=<hex> of "v0:<timestamp>:<body>", with a replay window', () => {
  const slack = hmacSha256Verifier({
    provider: 'slack',
    signatureHeader: 'x-slack-signature',
    timestampHeader: 'x-slack-request-timestamp',
    prefix: 'v0=',
    signedPayload: signedPayloadTemplate('v0:{timestamp}:{body}'),
    idField: 'event_id',
    typeField: 'event.type',
  });
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const now = 1_700_000_000_000;
  const body = JSON.stringify({ event_id: 'Ev0PV52K21', event: { type: 'app_mention', text: 'hi' } });
  const sign = (payload: string, timestamp: number, key = secret) => ({
    'x-slack-signature': `v0=${createHmac('sha256', key).update(`v0:${timestamp}:${payload}`).digest('hex')}`,
    'x-slack-request-timestamp': String(timestamp),
    'content-type': 'application/json',
  });

  it('accepts a fresh signature and reads id and type from the body', async () => {
    const event = await slack.verify(request(body, sign(body, now / 1000 - 60)), { secrets: [secret], now });
    expect(event).toMatchObject({ id: 'Ev0PV52K21', type: 'app_mention' });
    expect(event.occurredAt).toBe(new Date(now - 60_000).toISOString());
  });

  it('refuses a signature older (or newer) than the tolerance, and one whose timestamp was changed', async () => {
    const old = sign(body, now / 1000 - 301);
    const expired = await expectCode(
      Promise.resolve(slack.verify(request(body, old), { secrets: [secret], now })),
      'auth',
      'webhook_timestamp_expired',
    );
    expect(expired.message).toContain('300 s');
    await expectCode(
      Promise.resolve(slack.verify(request(body, sign(body, now / 1000 + 400)), { secrets: [secret], now })),
      'auth',
      'webhook_timestamp_expired',
    );
    // Within a wider tolerance the same request passes.
    expect((await slack.verify(request(body, old), { secrets: [secret], now, toleranceMs: 600_000 })).id).toBe(
      'Ev0PV52K21',
    );
    const moved = { ...old, 'x-slack-request-timestamp': String(now / 1000) };
    await expectCode(
      Promise.resolve(slack.verify(request(body, moved), { secrets: [secret], now })),
      'auth',
      'webhook_signature_invalid',
    );
    const { 'x-slack-request-timestamp': _, ...noTimestamp } = old;
    await expectCode(
      Promise.resolve(slack.verify(request(body, noTimestamp), { secrets: [secret], now })),
      'auth',
      'webhook_signature_invalid',
    );
  });

  it('reads a form-encoded body (slash commands) as fields', async () => {
    const form = 'command=%2Fdeploy&text=prod&event_id=Ev1&trigger_id=13345224609.738474920.8088930838d88f008e0';
    const headers = { ...sign(form, now / 1000), 'content-type': 'application/x-www-form-urlencoded' };
    const event = await slack.verify(request(form, headers), { secrets: [secret], now });
    expect(event.payload).toMatchObject({ command: '/deploy', text: 'prod' });
    expect(event.id).toBe('Ev1');
    expect(event.type).toBe('webhook');
  });
});

describe('Shopify style: base64 of the body, no timestamp, id from the body hash', () => {
  const shopify = hmacSha256Verifier({
    provider: 'shopify',
    signatureHeader: 'x-shopify-hmac-sha256',
    encoding: 'base64',
  });
  const secret = 'shopify-app-secret-000001';
  const body = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com' });

  it('accepts a base64 signature; the id defaults to the SHA-256 of the body', async () => {
    const signature = createHmac('sha256', secret).update(body).digest('base64');
    const event = await shopify.verify(request(body, { 'x-shopify-hmac-sha256': signature }), { secrets: [secret] });
    expect(event.id).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`);
    expect(event.type).toBe('webhook');
    await expectCode(
      Promise.resolve(shopify.verify(request(body, { 'x-shopify-hmac-sha256': '!!!' }), { secrets: [secret] })),
      'auth',
      'webhook_signature_invalid',
    );
  });
});

describe('helpers', () => {
  it('signedPayloadTemplate keeps the body as bytes and needs {body}', () => {
    const body = new Uint8Array([0xff, 0x00, 0x41]);
    expect([...signedPayloadTemplate('{timestamp}.{body}')('12', body)]).toEqual([0x31, 0x32, 0x2e, 0xff, 0x00, 0x41]);
    expect(() => signedPayloadTemplate('{timestamp}')).toThrow(/no \{body\}/);
  });

  it('constantTimeEqual compares length and every byte', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });
});
