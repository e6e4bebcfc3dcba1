import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer, connect as dial, type Socket } from 'node:net';
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
import { type SendgridConfig, type SendgridInstance, sendgrid } from '../src/index.js';

const API_KEY = 'SG.mail_suite.api_key_0001';
const PASSED = /The request passed the validation rules/g;

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Forwards to Prism and keeps every request body, so a test can read exactly what the SDK sent. */
async function startRecorder(target: string) {
  const url = new URL(target);
  const seen: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: body.toString() });
      const upstream = httpRequest(
        { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** The JSON body of the last request. */
    last: () => JSON.parse(seen.at(-1)?.body ?? 'null') as Record<string, unknown>,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let prism: PrismStandIn;
let recorder: Awaited<ReturnType<typeof startRecorder>>;
let proxy: FaultProxy;
const registries: Registry[] = [];

beforeAll(async () => {
  prism = await startPrism(specPath('sendgrid/tsg_mail_v3.json'));
  recorder = await startRecorder(prism.url);
  proxy = await createFaultProxy({ target: recorder.url });
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
  proxy.reset();
  recorder.seen.length = 0;
});

afterAll(async () => {
  await proxy?.close();
  await recorder?.close();
  await prism?.stop();
});

/** The connector as an application gets it: registered in core's registry, behind its pipeline and the proxy. */
async function connect(
  config: Partial<SendgridConfig> = {},
  maxAttempts = 3,
): Promise<IntegrationHandle<SendgridInstance>> {
  const registry = createRegistry();
  registries.push(registry);
  const handle = registry.register(sendgrid, {
    name: 'mail',
    config: { apiKey: API_KEY, apiBaseUrl: proxy.url, ...config },
    retry: { maxAttempts, initialDelayMs: 5, jitter: 'none' },
    timeoutMs: 5000,
    healthCheck: false,
  });
  const report = await registry.enable('mail');
  expect(report.status).toBe('healthy');
  proxy.reset();
  recorder.seen.length = 0;
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

/** Runs `send` and checks that Prism found the request valid against the spec. */
async function sentValid<T>(run: () => Promise<T>): Promise<T> {
  const before = prism.output().match(PASSED)?.length ?? 0;
  const result = await run();
  await expect.poll(() => prism.output().match(PASSED)?.length ?? 0).toBe(before + 1);
  return result;
}

describe('send', () => {
  it('sends a plain mail: 202 from Prism, the spec-valid body the SDK built, bearer auth', async () => {
    const mail = await connect();
    const result = await sentValid(() =>
      mail.send({ to: 'ada@example.com', from: 'Shop <shop@example.com>', subject: 'Your order', text: 'Thanks!' }),
    );
    // Prism sends no X-Message-Id (the spec declares none), so there is none to report.
    expect(result).toEqual({ statusCode: 202, messageId: undefined });
    expect(recorder.last()).toEqual({
      from: { email: 'shop@example.com', name: 'Shop' },
      subject: 'Your order',
      personalizations: [{ to: [{ email: 'ada@example.com' }] }],
      content: [{ type: 'text/plain', value: 'Thanks!' }],
    });
    const [request] = recorder.seen;
    expect(request).toMatchObject({ method: 'POST', path: '/v3/mail/send' });
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['user-agent']).toMatch(
      /^sendgrid\/\S+;nodejs @integrations\/sendgrid\/\S+ @integrations\/core\//,
    );
  });

  it('uses defaultFrom, and sends text and html together', async () => {
    const mail = await connect({ defaultFrom: 'noreply@example.com' });
    await sentValid(() =>
      mail.send({
        to: ['ada@example.com', { email: 'bob@example.com', name: 'Bob' }],
        subject: 'Hi',
        text: 'hi',
        html: '<p>hi</p>',
      }),
    );
    expect(recorder.last()).toMatchObject({
      from: { email: 'noreply@example.com' },
      personalizations: [{ to: [{ email: 'ada@example.com' }, { email: 'bob@example.com', name: 'Bob' }] }],
      content: [
        { type: 'text/plain', value: 'hi' },
        { type: 'text/html', value: '<p>hi</p>' },
      ],
    });
  });

  it('sends several personalizations, each with its own recipients, subject and custom args', async () => {
    const mail = await connect();
    await sentValid(() =>
      mail.send({
        from: 'news@example.com',
        text: 'Hello {{name}}',
        personalizations: [
          { to: 'ada@example.com', subject: 'For Ada', substitutions: { name: 'Ada' }, customArgs: { user: '1' } },
          {
            to: [{ email: 'bob@example.com', name: 'Bob' }],
            cc: 'carol@example.com',
            subject: 'For Bob',
            substitutions: { name: 'Bob' },
            customArgs: { user: '2' },
          },
        ],
        categories: ['newsletter'],
      }),
    );
    expect(recorder.last()).toMatchObject({
      personalizations: [
        {
          to: [{ email: 'ada@example.com' }],
          subject: 'For Ada',
          substitutions: { '{{name}}': 'Ada' },
          custom_args: { user: '1' },
        },
        {
          to: [{ email: 'bob@example.com', name: 'Bob' }],
          cc: [{ email: 'carol@example.com' }],
          subject: 'For Bob',
          substitutions: { '{{name}}': 'Bob' },
          custom_args: { user: '2' },
        },
      ],
      categories: ['newsletter'],
    });
  });

  it('sends a dynamic template with its data, keeping the data keys as given', async () => {
    const mail = await connect();
    const data = { firstName: 'Ada', order: { id: 'A-42', total_cents: 1299, items: ['tea', 'scones'] } };
    await sentValid(() =>
      mail.send({
        to: 'ada@example.com',
        from: 'shop@example.com',
        templateId: 'd-0123456789abcdef',
        dynamicTemplateData: data,
      }),
    );
    const body = recorder.last();
    expect(body).toMatchObject({
      template_id: 'd-0123456789abcdef',
      personalizations: [{ to: [{ email: 'ada@example.com' }], dynamic_template_data: data }],
    });
    expect(body).not.toHaveProperty('content');
  });

  it('sends attachments from bytes and from base64, inline ones with a content id', async () => {
    const mail = await connect();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);
    const csv = new TextEncoder().encode('id,total\n1,12.99\n');
    await sentValid(() =>
      mail.send({
        to: 'ada@example.com',
        from: 'shop@example.com',
        subject: 'Your invoice',
        html: '<img src="cid:logo">',
        attachments: [
          { content: png, filename: 'logo.png', type: 'image/png', disposition: 'inline', contentId: 'logo' },
          { content: csv, filename: 'invoice.csv', type: 'text/csv' },
          { content: Buffer.from('%PDF-1.7').toString('base64'), filename: 'invoice.pdf', type: 'application/pdf' },
        ],
      }),
    );
    expect(recorder.last().attachments).toEqual([
      {
        content: png.toString('base64'),
        filename: 'logo.png',
        type: 'image/png',
        disposition: 'inline',
        content_id: 'logo',
      },
      { content: Buffer.from(csv).toString('base64'), filename: 'invoice.csv', type: 'text/csv' },
      { content: Buffer.from('%PDF-1.7').toString('base64'), filename: 'invoice.pdf', type: 'application/pdf' },
    ]);
  });

  it("returns SendGrid's X-Message-Id", async () => {
    const mail = await connect();
    // The spec declares no response headers, so this 202 comes from the proxy, shaped as SendGrid answers.
    proxy.script(faults.status(202, { headers: { 'x-message-id': 'W1Dg1bq8T2q0Z8h8s9Yb4w' }, body: '' }));
    const result = await mail.send({ to: 'ada@example.com', from: 'shop@example.com', subject: 's', text: 't' });
    expect(result).toEqual({ statusCode: 202, messageId: 'W1Dg1bq8T2q0Z8h8s9Yb4w' });
  });

  it('maps a body the spec rejects (Prism 400) to invalid_request with the field SendGrid names', async () => {
    const mail = await connect();
    const error = await rejection(
      mail.send({ to: 'ada@example.com', from: 'not-an-email', subject: 'Hi', text: 'hi' }),
    );
    // Prism answers with the spec's example error body; the reason is in its validation log.
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400, retryable: false, operation: 'send' });
    expect(error.message).toBe('SendGrid 400: error message (field: field_name)');
    expect(prism.output()).toContain('Request body property from.email must match format "email"');
    const disposition = await rejection(
      mail.send({
        to: 'ada@example.com',
        from: 'shop@example.com',
        subject: 'Hi',
        text: 'hi',
        attachments: [{ content: 'aGk=', filename: 'a.txt', disposition: 'sideways' as 'inline' }],
      }),
    );
    expect(disposition.kind).toBe('invalid_request');
    expect(prism.output()).toContain('attachments.0.disposition must be equal to one of the allowed values');
    expect(proxy.requests).toHaveLength(2);
  });

  it("names every field in SendGrid's own error list", async () => {
    const mail = await connect();
    proxy.script(
      faults.status(400, {
        body: JSON.stringify({
          errors: [
            { message: 'The from address does not match a verified Sender Identity.', field: 'from', help: null },
            {
              message: 'Invalid type. Expected: string, given: integer.',
              field: 'subject',
              help: 'http://sendgrid.com/x',
            },
          ],
        }),
      }),
    );
    const error = await rejection(
      mail.send({ to: 'ada@example.com', from: 'shop@example.com', subject: 's', text: 't' }),
    );
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400 });
    expect(error.message).toBe(
      'SendGrid 400: The from address does not match a verified Sender Identity. (field: from); Invalid type. Expected: string, given: integer. (field: subject)',
    );
  });

  it('refuses incomplete mail before sending, naming what is missing', async () => {
    const mail = await connect();
    const cases: [Parameters<SendgridInstance['send']>[0], string, string][] = [
      [{ to: 'a@example.com', subject: 's', text: 't' }, 'missing_from', '`from` is required'],
      [{ from: 'f@example.com', subject: 's', text: 't' }, 'missing_to', '`to` (or `personalizations`) is required'],
      [{ to: 'a@example.com', from: 'f@example.com', subject: 's' }, 'missing_content', '`text` or `html` is required'],
      [{ to: 'a@example.com', from: 'f@example.com', text: 't' }, 'missing_subject', '`subject` is required'],
      [
        { to: 'a@example.com', from: 'f@example.com', text: 't', personalizations: [{ to: 'b@example.com' }] },
        'conflicting_recipients',
        'not both',
      ],
      [
        { from: 'f@example.com', subject: 's', text: 't', personalizations: [{ to: 'b@example.com' }, { to: [] }] },
        'missing_to',
        '`personalizations[1].to` is required',
      ],
      [
        { to: 'a@example.com', from: 'f@example.com', templateId: 'legacy-1', dynamicTemplateData: { a: 1 } },
        'invalid_template',
        'starting with d-',
      ],
      [
        {
          to: 'a@example.com',
          from: 'f@example.com',
          subject: 's',
          text: 't',
          attachments: [{ content: 'not base64!', filename: 'a.txt' }],
        },
        'invalid_attachment',
        '`attachments[0].content` must be base64',
      ],
      [
        {
          to: 'a@example.com',
          from: 'f@example.com',
          subject: 's',
          text: 't',
          attachments: [{ content: 'aGk=', filename: '' }],
        },
        'invalid_attachment',
        '`attachments[0].filename` is required',
      ],
    ];
    for (const [params, code, text] of cases) {
      const error = await rejection(mail.send(params));
      expect(error).toMatchObject({ kind: 'invalid_request', code });
      expect(error.message).toContain(text);
    }
    expect(proxy.requests).toHaveLength(0);
  });

  it("maps the SDK's own refusal (a recipient without an address) to invalid_request", async () => {
    const mail = await connect();
    const error = await rejection(
      mail.send({ to: { name: 'Ada' } as unknown as string, from: 'shop@example.com', subject: 's', text: 't' }),
    );
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'invalid_mail' });
    expect(error.message).toContain('Must provide `email`');
    expect(proxy.requests).toHaveLength(0);
  });

  it('is sent exactly once when SendGrid answers 503, even with an idempotencyKey', async () => {
    const mail = await connect();
    proxy.script(faults.status(503, { body: JSON.stringify({ errors: [{ message: 'service unavailable' }] }) }));
    const error = await rejection(
      mail.send(
        { to: 'ada@example.com', from: 'shop@example.com', subject: 's', text: 't' },
        { idempotencyKey: 'k-1' },
      ),
    );
    expect(error).toMatchObject({ kind: 'unavailable', status: 503 });
    expect(proxy.requests).toHaveLength(1);
  });

  it('maps 429 to rate_limited, reading X-RateLimit-Reset when there is no Retry-After', async () => {
    const mail = await connect({}, 1);
    const reset = Math.floor(Date.now() / 1000) + 30;
    proxy.script(
      faults.status(429, {
        headers: { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
        body: JSON.stringify({ errors: [{ field: null, message: 'too many requests' }] }),
      }),
    );
    const error = await rejection(mail.batches.validate('HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi'));
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });
});

describe('authentication', () => {
  it('Prism refuses a request without a bearer token; the connector always sends the key', async () => {
    const anonymous = await fetch(`${prism.url}/v3/mail/batch`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    const mail = await connect();
    await mail.batches.create();
    expect(recorder.seen[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('maps a 401 to auth without echoing the key', async () => {
    const mail = await connect();
    proxy.script(
      faults.status(401, {
        body: JSON.stringify({
          errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }],
        }),
      }),
    );
    const error = await rejection(
      mail.send({ to: 'ada@example.com', from: 'shop@example.com', subject: 's', text: 't' }),
    );
    expect(error).toMatchObject({ kind: 'auth', status: 401, retryable: false });
    expect(error.message).toContain('SendGrid rejected the API key');
    expect(JSON.stringify(error.toJSON())).not.toContain(API_KEY);
  });
});

describe('batches and the health check', () => {
  it('creates and validates a batch id', async () => {
    const mail = await connect();
    const { batchId } = await mail.batches.create();
    expect(batchId).toBe('HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi');
    expect(await mail.batches.validate(batchId)).toEqual({ batchId });
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v3/mail/batch',
      `GET /v3/mail/batch/${batchId}`,
    ]);
    const empty = await rejection(mail.batches.validate(''));
    expect(empty).toMatchObject({ kind: 'invalid_request', code: 'missing_batch_id' });
  });

  it('the health check mints one batch id, then only validates it', async () => {
    const mail = await connect();
    // connect() ran the first check (POST); later ones only read.
    await mail.healthCheck();
    await mail.healthCheck();
    expect(proxy.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('a key without the batch scope (403) is still healthy', async () => {
    const registry = createRegistry();
    registries.push(registry);
    registry.register(sendgrid, {
      name: 'restricted',
      config: { apiKey: API_KEY, apiBaseUrl: proxy.url },
      healthCheck: false,
    });
    proxy.script(
      faults.status(403, { body: JSON.stringify({ errors: [{ field: null, message: 'access forbidden' }] }) }),
    );
    const report = await registry.enable('restricted');
    expect(report).toMatchObject({ status: 'healthy', details: { batchScope: false } });
  });
});

describe('close', () => {
  /** A TCP tunnel to Prism that counts open client connections (Prism keeps idle connections for 5 s). */
  async function tunnel() {
    const target = new URL(prism.url);
    const open = new Set<Socket>();
    const server = createTcpServer((client) => {
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
      const mail = registry.register(sendgrid, {
        name: 'pooled',
        config: { apiKey: API_KEY, apiBaseUrl: line.url },
        healthCheck: false,
      });
      await registry.enable('pooled');
      await mail.send({ to: 'ada@example.com', from: 'shop@example.com', subject: 's', text: 't' });
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
