import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, field } from '../src/config-schema.js';
import { defineConnector, IntegrationType, type Logger } from '../src/contract.js';
import { IntegrationError, kindFromStatus } from '../src/errors.js';
import type { EventName } from '../src/events.js';
import { MIN_SECRET_LENGTH, REDACTED, Redactor } from '../src/redact.js';
import { createRegistry, type Registry } from '../src/registry.js';
import type { StandardSchemaV1 } from '../src/standard-schema.js';

// Unique per run, so a match can only come from a leak.
const API_KEY = `canary-key-${randomUUID()}`;
const CLIENT_SECRET = `canary-client-${randomUUID()}`;
const ACCESS_TOKEN = `canary-token-${randomUUID()}`;
const SECRETS = [API_KEY, CLIENT_SECRET, ACCESS_TOKEN];

/** A provider that echoes credentials back in its errors, as careless ones do. */
const received: string[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const token = String(req.headers['x-access-token'] ?? '');
    received.push(auth, token);
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/token') return send(200, { access_token: ACCESS_TOKEN });
    if (req.url === '/health') return send(401, { error: `credentials rejected: ${auth}` });
    if (req.url === '/ok') return send(200, { ok: true });
    send(500, { error: `upstream failed for ${auth} with token ${token} (client ${req.headers['x-client-secret']})` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

class ProviderError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`provider said ${status}: ${body}`);
    this.name = 'ProviderError';
  }
}

const leaky = defineConnector({
  id: 'leaky',
  displayName: 'Leaky',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '1.0.0',
  config: configSchema({
    baseUrl: field.url(),
    apiKey: field.string(),
    credentials: field.object({ clientId: field.string(), clientSecret: field.string() }),
  }),
  // A whole object marked secret: every string under it is redacted (clientId included).
  secrets: ['apiKey', 'credentials'],
  operations: {
    'data.fetch': { idempotent: true },
    'data.raw': { idempotent: true },
    'data.ok': { idempotent: true },
  },
  mapError(error) {
    if (error instanceof ProviderError) {
      return new IntegrationError(kindFromStatus(error.status), `leaky request failed: ${error.body}`, {
        status: error.status,
        cause: error,
      });
    }
    return new IntegrationError('internal', `unexpected: ${(error as Error).message}`, { cause: error });
  },
  async create(config, ctx) {
    const request = async (path: string, signal?: AbortSignal, token?: string) => {
      const res = await fetch(`${config.baseUrl}${path}`, {
        headers: {
          authorization: `Bearer ${config.apiKey}`,
          'x-client-secret': config.credentials.clientSecret,
          ...(token ? { 'x-access-token': token } : {}),
        },
        ...(signal ? { signal } : {}),
      });
      const text = await res.text();
      if (!res.ok) throw new ProviderError(res.status, text);
      return JSON.parse(text) as Record<string, unknown>;
    };
    // A token learned at run time, registered so it is redacted like configured secrets.
    const { access_token: token } = (await request('/token')) as { access_token: string };
    ctx.addSecret(token);
    ctx.logger.info(`signed in with ${config.apiKey}, token ${token}`, {
      apiKey: config.apiKey,
      nested: { list: [token, { deeper: config.credentials.clientSecret }] },
      error: new Error(`login echo ${config.apiKey}`),
    });
    return {
      client: {},
      data: {
        fetch: () => ctx.call('data.fetch', ({ signal }) => request('/data', signal, token)),
        ok: () => ctx.call('data.ok', ({ signal }) => request('/ok', signal, token)),
        /** Throws an IntegrationError of its own, its cause chain full of secrets. */
        raw: () =>
          ctx.call('data.raw', async () => {
            const root = new TypeError(`socket to ${config.apiKey} reset`);
            const middle = new Error(`wrapped ${token}`, { cause: root });
            throw new IntegrationError('unavailable', `gave up on ${config.credentials.clientSecret}`, {
              cause: middle,
              retryable: false,
            });
          }),
      },
      async healthCheck({ signal }: { signal: AbortSignal }) {
        await request('/health', signal, token);
        return { token };
      },
    };
  },
});

/** A third-party schema that echoes the value it rejects, as some validators do. */
const echoingSchema: StandardSchemaV1<{ apiKey: string }> = {
  '~standard': {
    version: 1,
    vendor: 'echoing',
    validate(value) {
      const apiKey = (value as { apiKey: string }).apiKey;
      if (apiKey.startsWith('sk_')) return { value: { apiKey } };
      return { issues: [{ message: `"${apiKey}" does not start with sk_`, path: ['apiKey'] }] };
    },
  },
};

const echoing = defineConnector({
  id: 'echoing',
  displayName: 'Echoing',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '1.0.0',
  config: echoingSchema,
  secrets: ['apiKey'],
  operations: { ping: { idempotent: true } },
  mapError: (error) => new IntegrationError('internal', String(error)),
  create: () => ({ client: {}, healthCheck: async () => undefined }),
});

const exploding = defineConnector({
  ...echoing,
  id: 'exploding',
  config: configSchema({ apiKey: field.secret() }),
  create(config) {
    throw new Error(`cannot start with key ${config.apiKey}`);
  },
});

/** Everything that leaves core, as text. */
const outputs: string[] = [];
const capture = (value: unknown) => {
  outputs.push(inspect(value, { depth: 12 }), JSON.stringify(value) ?? '');
};
const captureError = (error: unknown) => {
  const e = error as IntegrationError;
  capture(error);
  outputs.push(String(e), e.message, String(e.stack), JSON.stringify(e.toJSON?.() ?? null));
};

const logger: Logger = {
  debug: (message, fields) => capture({ level: 'debug', message, fields }),
  info: (message, fields) => capture({ level: 'info', message, fields }),
  warn: (message, fields) => capture({ level: 'warn', message, fields }),
  error: (message, fields) => capture({ level: 'error', message, fields }),
};

const EVENTS: EventName[] = [
  'call:start',
  'call:success',
  'call:failure',
  'retry:scheduled',
  'breaker:state',
  'rate:limited',
  'bulkhead:rejected',
  'health:change',
];

describe('secret canary', () => {
  let registry: Registry;

  beforeAll(async () => {
    registry = createRegistry({ logger });
    for (const name of EVENTS) registry.events.on(name, (event) => capture(event));
    registry.register(leaky, {
      name: 'leaky_main',
      config: { baseUrl, apiKey: API_KEY, credentials: { clientId: 'client-id-1', clientSecret: CLIENT_SECRET } },
      retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 'none' },
      circuitBreaker: { failureThreshold: 3 },
      healthCheck: false,
      metadata: { note: `rotated ${API_KEY}` },
    });
    registry.register(echoing, { name: 'echoing', config: { apiKey: API_KEY } });
    registry.register(exploding, { name: 'exploding', config: { apiKey: API_KEY } });
    await registry.enableAll().catch(captureError);
  });

  afterAll(async () => {
    await registry.close();
  });

  it('the provider really received and echoed the secrets', () => {
    expect(received).toContain(`Bearer ${API_KEY}`);
    expect(received).toContain(ACCESS_TOKEN);
  });

  it('scrubs errors from a provider that echoes credentials, through retries and the breaker', async () => {
    const leakyHandle = registry.get<typeof leaky>('leaky_main');
    const raw = await leakyHandle.data.raw().catch((e: unknown) => e);
    captureError(raw);
    expect(raw).toMatchObject({ kind: 'unavailable', message: `gave up on ${REDACTED}` });
    const first = await leakyHandle.data.fetch().catch((e: unknown) => e);
    captureError(first);
    expect((first as IntegrationError).message).toContain(
      `upstream failed for Bearer ${REDACTED} with token ${REDACTED}`,
    );
    expect(JSON.stringify(first)).toContain(`"cause":{"name":"ProviderError","message":"provider said 500:`);
    // By now the breaker is open: its rejection is captured too.
    captureError(await leakyHandle.data.fetch().catch((e: unknown) => e));
    await leakyHandle.data.ok().catch(captureError);
  });

  it('scrubs health reports and health events', async () => {
    const report = await registry.get('leaky_main').healthCheck();
    capture(report);
    expect(report.status).toBe('unhealthy');
    expect(report.error?.message).toContain(`credentials rejected: Bearer ${REDACTED}`);
  });

  it('scrubs config errors from a schema that echoes the value, and errors thrown by create', async () => {
    const summary = registry.summary();
    const byName = Object.fromEntries(summary.integrations.map((i) => [i.name, i]));
    expect(byName.echoing?.lastHealth?.error).toEqual({
      kind: 'invalid_config',
      message: `invalid echoing config: apiKey: "${REDACTED}" does not start with sk_`,
    });
    expect(byName.exploding?.lastHealth?.error?.message).toBe(`Error: cannot start with key ${REDACTED}`);
    await registry.get('echoing').healthCheck().then(capture);
    await registry.enable('echoing').catch(captureError);
  });

  it('keeps every secret out of errors, events, logs and the summary', () => {
    capture(registry.summary());
    capture(registry.list());
    const all = outputs.join('\n');
    expect(all).toContain(REDACTED);
    // The logger did receive the connector's line, scrubbed.
    expect(all).toContain(`signed in with ${REDACTED}, token ${REDACTED}`);
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});

describe('Redactor', () => {
  it('ignores values shorter than the minimum, which would mangle every message', () => {
    const redactor = new Redactor();
    redactor.add('abc');
    redactor.add('');
    expect(MIN_SECRET_LENGTH).toBe(4);
    expect(redactor.size).toBe(0);
    expect(redactor.redact('abcdef')).toBe('abcdef');
    redactor.add('abcd');
    expect(redactor.redact('xabcdx')).toBe(`x${REDACTED}x`);
  });

  it('scrubs the URL-encoded form, secrets with regex characters, and the longer of two overlapping ones', () => {
    const redactor = new Redactor();
    redactor.add('p@ss w/rd+1');
    redactor.add('a.b*c(d)');
    redactor.add('token-123');
    redactor.add('token-123-extended');
    expect(redactor.redact('q=p%40ss%20w%2Frd%2B1&x=p@ss w/rd+1')).toBe(`q=${REDACTED}&x=${REDACTED}`);
    expect(redactor.redact('a.b*c(d) aXbbc(d)')).toBe(`${REDACTED} aXbbc(d)`);
    expect(redactor.redact('token-123-extended token-123')).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('redacts log fields deeply without choking on cycles or errors', () => {
    const redactor = new Redactor();
    redactor.add('hunter22');
    const cyclic: Record<string, unknown> = { password: 'hunter22', when: new Date(0) };
    cyclic.self = cyclic;
    const shared = { note: 'hunter22' };
    expect(
      redactor.redactValue({ a: [cyclic], e: new Error('pw hunter22'), n: 1, f: () => 1, s1: shared, s2: shared }),
    ).toEqual({
      a: [{ password: REDACTED, when: '1970-01-01T00:00:00.000Z', self: '[Circular]' }],
      e: { name: 'Error', message: `pw ${REDACTED}` },
      n: 1,
      f: undefined,
      s1: { note: REDACTED },
      s2: { note: REDACTED },
    });
  });

  it("copies a frozen error it cannot scrub keeping its class and fields (a connector's subclass)", () => {
    class PartialInsertError extends IntegrationError {
      readonly failedRows: readonly { index: number; reason: string }[];
      constructor(message: string, failedRows: readonly { index: number; reason: string }[]) {
        super('invalid_request', message, { code: 'partial_insert', provider: 'gcp-bigquery' });
        this.failedRows = failedRows;
      }
    }
    const redactor = new Redactor();
    redactor.add('hunter22');
    const rows = [{ index: 3, reason: 'invalid value' }];
    const original = Object.freeze(new PartialInsertError('2 of 5 rows failed for hunter22', rows));
    const error = redactor.redactError(original);
    expect(error).not.toBe(original);
    expect(error).toBeInstanceOf(PartialInsertError);
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'invalid_request', code: 'partial_insert', provider: 'gcp-bigquery' });
    expect((error as PartialInsertError).failedRows).toBe(rows);
    expect(error.message).toBe(`2 of 5 rows failed for ${REDACTED}`);
    expect(`${error.stack}${inspect(error)}${JSON.stringify(error)}`).not.toContain('hunter22');
    // An error it can change keeps its identity.
    const open = new PartialInsertError('failed for hunter22', rows);
    expect(redactor.redactError(open)).toBe(open);
    expect(open.message).toBe(`failed for ${REDACTED}`);
  });

  it('replaces a frozen cause it cannot scrub in place', () => {
    const redactor = new Redactor();
    redactor.add('hunter22');
    const frozen = Object.freeze(new Error('cause has hunter22'));
    const error = redactor.redactError(new IntegrationError('auth', 'denied for hunter22', { cause: frozen }));
    expect(error.message).toBe(`denied for ${REDACTED}`);
    expect(JSON.stringify(error)).not.toContain('hunter22');
    expect(inspect(error)).not.toContain('hunter22');
  });
});
