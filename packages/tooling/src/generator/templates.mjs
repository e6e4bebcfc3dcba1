/**
 * The files of a new connector package, as strings. Every template follows the connector template in
 * CONTRIBUTING.md; `generateConnector` writes them and the release tests build, test and check the result.
 */

/** Which config fields each auth kind implies, and how the HTTP client and the fake use them. */
export const AUTH_KINDS = {
  'api-key': {
    summary: 'an API key sent as `Authorization: Bearer <key>`',
    secret: 'apiKey',
  },
  oauth2: {
    summary: 'OAuth 2.0 client credentials (a token from the token endpoint, sent as `Authorization: Bearer`)',
    secret: 'clientSecret',
  },
  'sdk-credentials': {
    summary: 'a key id and secret key pair (HTTP Basic until the SDK client signs requests itself)',
    secret: 'keySecret',
  },
  none: {
    summary: 'no credentials',
    secret: undefined,
  },
};

/** The HTTP engine every connector owns its connection pool with (the range the other connectors pin). */
export const UNDICI_RANGE = '^7.30.2';

const q = (value) => `'${String(value).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The config fields, as `field` calls, for the auth kind. */
function configFields(o) {
  const lines = [];
  if (o.auth === 'api-key') {
    lines.push(
      `  apiKey: field.secret({ minLength: 1, description: ${q(`${o.name} API key, sent as a bearer token.`)} }),`,
    );
  } else if (o.auth === 'oauth2') {
    lines.push(`  clientId: field.string({ minLength: 1, description: 'OAuth 2.0 client id.' }),`);
    lines.push(`  clientSecret: field.secret({ minLength: 1, description: 'OAuth 2.0 client secret.' }),`);
    lines.push(
      o.tokenUrl
        ? `  tokenUrl: field.url({ default: ${q(o.tokenUrl)}, description: 'The OAuth 2.0 token endpoint.' }),`
        : `  tokenUrl: field.url({ description: 'The OAuth 2.0 token endpoint.' }),`,
    );
    lines.push(`  scope: field.string({ optional: true, description: 'Scopes to request, space-separated.' }),`);
  } else if (o.auth === 'sdk-credentials') {
    lines.push(`  keyId: field.string({ minLength: 1, description: 'Access key id.' }),`);
    lines.push(`  keySecret: field.secret({ minLength: 1, description: 'Secret access key.' }),`);
  }
  const baseDescription = q(`Base URL of the ${o.name} API. Point it at a local stand-in in tests.`);
  lines.push(
    o.baseUrl
      ? `  baseUrl: field.url({ default: ${q(o.baseUrl)}, description: ${baseDescription} }),`
      : `  baseUrl: field.url({ description: ${baseDescription} }),`,
  );
  return lines.join('\n');
}

export function configTs(o) {
  return `import { type ConfigInput, configSchema, field } from '@integrations/core';

export const ${o.camel}ConfigSchema = configSchema({
${configFields(o)}
});

export type ${o.pascal}Config = ConfigInput<typeof ${o.camel}ConfigSchema.fields>;
`;
}

export function versionTs() {
  return `declare const __PACKAGE_VERSION__: string;

/** This package's version, injected at build time. */
export const VERSION: string = typeof __PACKAGE_VERSION__ === 'string' ? __PACKAGE_VERSION__ : '0.0.0-dev';
`;
}

export function errorsTs(o) {
  return `import { IntegrationError, kindFromNetworkError, kindFromStatus } from '@integrations/core';
import { parseRetryAfter } from '@integrations/core/http';

const PROVIDER = ${q(o.id)};

type ErrorShape = {
  status?: unknown;
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
  headers?: unknown;
  response?: { status?: unknown; headers?: unknown };
  body?: unknown;
};

/** The HTTP status of an SDK error: SDKs keep it in \`status\`, \`statusCode\` or \`response.status\`. */
function statusOf(error: ErrorShape): number | undefined {
  for (const value of [error.status, error.statusCode, error.response?.status]) {
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}

/** Response headers, whether the SDK keeps a fetch \`Headers\` or a plain record. */
function headersOf(error: ErrorShape): Headers {
  const raw = error.headers ?? error.response?.headers;
  if (raw instanceof Headers) return raw;
  const headers = new Headers();
  if (typeof raw === 'object' && raw !== null) {
    for (const [name, value] of Object.entries(raw)) {
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value) && typeof value[0] === 'string') headers.set(name, value[0]);
    }
  }
  return headers;
}

/** The provider's own error code: \`{ "error": { "code" } }\` in the body, or a string \`code\` on the error. */
function providerCode(error: ErrorShape): string | undefined {
  const body = error.body as { error?: { code?: unknown } } | undefined;
  if (typeof body?.error?.code === 'string') return body.error.code;
  // Node's socket codes (ECONNRESET, ...) are not the provider's.
  return typeof error.code === 'string' && !/^E[A-Z]+$|^UND_ERR/.test(error.code) ? error.code : undefined;
}

/**
 * The one place errors from ${o.name} become core's kinds. Core's HTTP client already maps responses by status
 * (its errors pass through); SDK errors are mapped here by their status, network failures by their socket code.
 */
export function mapError(error: unknown): IntegrationError {
  if (IntegrationError.isInstance(error)) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const message = error instanceof Error ? error.message : String(error);
  const status = statusOf(shape);
  if (status !== undefined) {
    const kind = kindFromStatus(status);
    const retryAfterMs = kind === 'rate_limited' || status === 503 ? parseRetryAfter(headersOf(shape)) : undefined;
    return new IntegrationError(kind, \`${o.name} answered \${status}: \${message}\`, {
      cause: error,
      provider: PROVIDER,
      status,
      code: providerCode(shape),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  const network = kindFromNetworkError(error);
  if (network) {
    return new IntegrationError(network, \`could not reach ${o.name}: \${message}\`, { cause: error, provider: PROVIDER });
  }
  return new IntegrationError('internal', \`unexpected error from ${o.name}: \${message}\`, {
    cause: error,
    provider: PROVIDER,
  });
}
`;
}

/** The auth provider expression for core's HTTP client, and the imports it needs. */
function httpAuth(o) {
  switch (o.auth) {
    case 'api-key':
      return { imports: ['bearer'], setup: '', option: '    auth: bearer(config.apiKey),\n' };
    case 'sdk-credentials':
      return { imports: ['basic'], setup: '', option: '    auth: basic(config.keyId, config.keySecret),\n' };
    case 'oauth2':
      return {
        imports: ['type AuthProvider', 'oauth2ClientCredentials'],
        setup: `  const tokens = oauth2ClientCredentials({
    tokenUrl: config.tokenUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    scope: config.scope,
    provider: PROVIDER,
    fetch: transport.fetch,
  });
  // No onUnauthorized here: a 401 fails the call as \`auth\` (the pipeline does not retry it) and drops the
  // refused token in afterResponse, so the next call fetches a fresh one.
  const auth: AuthProvider = {
    async authorize(request, signal) {
      const token = await tokens.getAccessToken(signal);
      addSecret(token);
      request.headers.set('authorization', \`Bearer \${token}\`);
    },
  };
`,
        option: `    auth,
    hooks: {
      afterResponse(response, request) {
        if (response.status === 401) tokens.onUnauthorized?.(request);
        return undefined;
      },
    },
`,
      };
    default:
      return { imports: [], setup: '', option: '' };
  }
}

/** The HTTP client over core's \`createHttpClient\`: the whole client for --sdk none, the stand-in one for an SDK. */
function httpClientFactory(o, exported) {
  const auth = httpAuth(o);
  const imports = ['createHttpClient', 'type HttpClient', ...auth.imports].sort((a, b) =>
    a.replace(/^type /, '').localeCompare(b.replace(/^type /, '')),
  );
  const addSecretParam = o.auth === 'oauth2' ? ', addSecret: (value: string) => void' : '';
  const body = `${exported ? 'export ' : ''}function createHttp(config: ${o.pascal}ParsedConfig, transport: Transport${addSecretParam}): HttpClient {
${auth.setup}  return createHttpClient({
    baseUrl: config.baseUrl,
    provider: PROVIDER,
${auth.option}    userAgent: \`@integrations/${o.id}/\${VERSION}\`,
    fetch: transport.fetch,
  });
}
`;
  return { imports, body };
}

const TYPES = (o) => `/** What \`ping\` answers. */
export interface ${o.pascal}Ping {
  ok: boolean;
}

export interface ${o.pascal}ItemInput {
  name: string;
}

export interface ${o.pascal}Item {
  id: string;
  name: string;
  createdAt: string;
}
`;

/** connector.ts for \`--sdk none\`: both operations over core's HTTP client. */
function connectorHttpTs(o) {
  const http = httpClientFactory(o, false);
  const addSecretArg = o.auth === 'oauth2' ? ', (value) => ctx.addSecret(value)' : '';
  return `import {
  type CallOptions,
  type ConfigOutput,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationType,
} from '@integrations/core';
import { ${http.imports.join(', ')} } from '@integrations/core/http';
import { ${o.camel}ConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { createTransport, type Transport } from './transport.js';
import { VERSION } from './version.js';

const PROVIDER = ${q(o.id)};

type ${o.pascal}ParsedConfig = ConfigOutput<typeof ${o.camel}ConfigSchema.fields>;

${TYPES(o)}
${http.body}
export const ${o.camel} = defineConnector({
  id: ${q(o.id)},
  displayName: ${q(o.name)},
  type: IntegrationType.${o.typeKey},
  category: ${q(o.category)},
  version: VERSION,
  config: ${o.camel}ConfigSchema,
  operations: {
    ping: { idempotent: true, description: 'Checks that the API answers and accepts the credentials (GET /ping).' },
    create: {
      idempotent: false,
      description: 'Creates an item (POST /items). Retried only when the call carries an idempotency key.',
    },
  },
  mapError,
  create(config, ctx) {
    const transport = createTransport();
    const client = createHttp(config, transport${addSecretArg});
    return {
      client,
      async healthCheck({ signal }: { signal: AbortSignal }) {
        await client.get<${o.pascal}Ping>('/ping', { signal });
        return {};
      },
      close: () => transport.close(),
      ping: (options?: CallOptions) =>
        ctx.call('ping', ({ signal }) => client.get<${o.pascal}Ping>('/ping', { signal }), options),
      create: (input: ${o.pascal}ItemInput, options?: CallOptions) =>
        ctx.call(
          'create',
          ({ signal, idempotencyKey }) =>
            client.post<${o.pascal}Item>('/items', {
              json: input,
              signal,
              // Only a caller's key is sent: with one the pipeline may retry, and the provider answers a repeat
              // with the first result.
              headers: idempotencyKey === undefined ? undefined : { 'idempotency-key': idempotencyKey },
            }),
          options,
        ),
    };
  },
});

export type ${o.pascal}Instance = ConnectorInstanceOf<typeof ${o.camel}>;
`;
}

/** client.ts for an SDK: the marked block the author finishes, working over core's HTTP client until then. */
function clientSdkTs(o) {
  const http = httpClientFactory(o, false);
  const addSecretParam = o.auth === 'oauth2' ? ', addSecret: (value: string) => void' : '';
  const addSecretArg = o.auth === 'oauth2' ? ', addSecret' : '';
  return `import type { ConfigOutput } from '@integrations/core';
import { ${http.imports.join(', ')} } from '@integrations/core/http';
import * as sdk from ${q(o.sdk)};
import type { ${o.camel}ConfigSchema } from './config.js';
import { createTransport, type Transport } from './transport.js';
import { VERSION } from './version.js';

const PROVIDER = ${q(o.id)};

export type ${o.pascal}ParsedConfig = ConfigOutput<typeof ${o.camel}ConfigSchema.fields>;

${TYPES(o)}
/** What the operations call. Every method takes the attempt's signal, so timeouts and aborts reach the socket. */
export interface ${o.pascal}Client {
  /** The \`${o.sdk}\` module. */
  readonly sdk: typeof sdk;
  ping(signal: AbortSignal): Promise<${o.pascal}Ping>;
  create(input: ${o.pascal}ItemInput, scope: { signal: AbortSignal; idempotencyKey: string | undefined }): Promise<${o.pascal}Item>;
  close(): Promise<void>;
}

${http.body}
// ---------------------------------------------------------------------------------------------------------------
// The provider client: finish this block.
//
// Build the \`${o.sdk}\` client here from \`config\`: point it at \`config.baseUrl\` (tests aim it at test/fake.ts),
// turn the SDK's own retries off (core's pipeline is the only retry layer), append \`userAgent\` to its user agent,
// and make \`ping\` and \`create\` call the SDK with \`signal\` (and \`idempotencyKey\` where the provider takes one).
// \`close\` releases whatever the SDK holds open: give the SDK \`transport.fetch\` (or an agent of its own) so it can.
// Until then both operations speak HTTP to \`config.baseUrl\` through core's client: that is what the fake and the
// tests exercise.
// ---------------------------------------------------------------------------------------------------------------
export function createClient(config: ${o.pascal}ParsedConfig, userAgent: string${addSecretParam}): ${o.pascal}Client {
  void userAgent; // for the SDK client's user agent
  const transport = createTransport();
  const http = createHttp(config, transport${addSecretArg});
  return {
    sdk,
    ping: (signal) => http.get<${o.pascal}Ping>('/ping', { signal }),
    create: (input, { signal, idempotencyKey }) =>
      http.post<${o.pascal}Item>('/items', {
        json: input,
        signal,
        headers: idempotencyKey === undefined ? undefined : { 'idempotency-key': idempotencyKey },
      }),
    close: () => transport.close(),
  };
}
`;
}

/** connector.ts for an SDK: the operations call the client from client.ts. */
function connectorSdkTs(o) {
  const addSecretArg = o.auth === 'oauth2' ? ', (value) => ctx.addSecret(value)' : '';
  return `import { type CallOptions, type ConnectorInstanceOf, defineConnector, IntegrationType } from '@integrations/core';
import { createClient, type ${o.pascal}ItemInput } from './client.js';
import { ${o.camel}ConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { VERSION } from './version.js';

export const ${o.camel} = defineConnector({
  id: ${q(o.id)},
  displayName: ${q(o.name)},
  type: IntegrationType.${o.typeKey},
  category: ${q(o.category)},
  version: VERSION,
  config: ${o.camel}ConfigSchema,
  operations: {
    ping: { idempotent: true, description: 'Checks that the API answers and accepts the credentials.' },
    create: {
      idempotent: false,
      description: 'Creates an item. Retried only when the call carries an idempotency key.',
    },
  },
  mapError,
  create(config, ctx) {
    const client = createClient(config, ctx.userAgent${addSecretArg});
    return {
      client,
      async healthCheck({ signal }: { signal: AbortSignal }) {
        try {
          await client.ping(signal);
          return {};
        } catch (error) {
          throw mapError(error);
        }
      },
      close: () => client.close(),
      ping: (options?: CallOptions) => ctx.call('ping', ({ signal }) => client.ping(signal), options),
      // Only a caller's key is sent: with one the pipeline may retry, and the provider answers a repeat with the
      // first result.
      create: (input: ${o.pascal}ItemInput, options?: CallOptions) =>
        ctx.call('create', ({ signal, idempotencyKey }) => client.create(input, { signal, idempotencyKey }), options),
    };
  },
});

export type ${o.pascal}Instance = ConnectorInstanceOf<typeof ${o.camel}>;
`;
}

/** src/transport.ts: the integration's own connection pool, closed with it. */
export function transportTs() {
  return `import { Agent, fetch as undiciFetch } from 'undici';

/** One integration's requests, over a connection pool it owns. */
export interface Transport {
  readonly fetch: typeof globalThis.fetch;
  /** Closes every connection the pool opened, aborting any request still in flight. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A connection pool of this integration's own: global fetch's pool is shared by the whole process and cannot be
 * closed, so its idle keep-alive sockets would outlive \`close()\`.
 */
export function createTransport(): Transport {
  const agent = new Agent();
  let closing: Promise<void> | undefined;
  return {
    // undici's fetch is the engine behind Node's global fetch; its types differ only nominally from the DOM ones.
    fetch: (input, init) =>
      undiciFetch(input as Parameters<typeof undiciFetch>[0], {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher: agent,
      }) as unknown as Promise<Response>,
    close: () => (closing ??= agent.destroy()),
  };
}
`;
}

export function connectorTs(o) {
  return o.sdk ? connectorSdkTs(o) : connectorHttpTs(o);
}

export function clientTs(o) {
  return clientSdkTs(o);
}

export function indexTs(o) {
  const from = o.sdk ? './client.js' : './connector.js';
  return `export { type ${o.pascal}Config, ${o.camel}ConfigSchema } from './config.js';
export { type ${o.pascal}Instance, ${o.camel} } from './connector.js';
export type { ${o.pascal}Item, ${o.pascal}ItemInput, ${o.pascal}Ping } from '${from}';
export { mapError } from './errors.js';
export { VERSION } from './version.js';
`;
}

/** test/fake.ts: a small provider stand-in answering the two operations, with the provider's error body. */
export function fakeTs(o) {
  const authCheck = {
    'api-key': `  const authorized = (request: FakeRequest) => /^Bearer \\S+$/.test(String(request.headers.authorization ?? ''));`,
    'sdk-credentials': `  const authorized = (request: FakeRequest) => /^Basic \\S+$/.test(String(request.headers.authorization ?? ''));`,
    oauth2: `  const tokens = new Set<string>();
  const authorized = (request: FakeRequest) =>
    tokens.has(String(request.headers.authorization ?? '').replace(/^Bearer /, ''));`,
    none: `  const authorized = (_request: FakeRequest) => true;`,
  }[o.auth];
  const tokenRoute =
    o.auth === 'oauth2'
      ? `    // The client credentials grant: any client id and secret sent with HTTP Basic get a token.
    'POST /oauth/token': (request) => {
      const form = new URLSearchParams(request.text());
      if (form.get('grant_type') !== 'client_credentials' || !/^Basic \\S+$/.test(String(request.headers.authorization))) {
        return json({ error: 'invalid_client', error_description: 'client authentication failed' }, { status: 401 });
      }
      const token = \`tok_\${randomUUID()}\`;
      tokens.add(token);
      return json({ access_token: token, token_type: 'Bearer', expires_in: 3600 });
    },
`
      : '';
  return `import { randomUUID } from 'node:crypto';
import { createFakeServer, type FakeRequest, type FakeResponse, type FakeServer, json } from '@integrations/testkit';
import type { ${o.pascal}Item } from '../src/index.js';

/** ${o.name}'s error body, \`{ "error": { "code", "message" } }\`: the fake's own answers and injected faults use it. */
export function errorBody(status: number, code = \`http_\${status}\`, message = \`request failed with status \${status}\`) {
  return JSON.stringify({ error: { code, message } });
}

function error(status: number, code: string, message: string): FakeResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: errorBody(status, code, message) };
}

/**
 * A stand-in for the ${o.name} API on 127.0.0.1: \`GET /ping\` and \`POST /items\`, with items kept in memory and
 * \`Idempotency-Key\` honoured (a repeat gets the first answer; the same key with another body is a 409).
 */
export async function start${o.pascal}Fake(): Promise<FakeServer & { items: Map<string, ${o.pascal}Item> }> {
  const items = new Map<string, ${o.pascal}Item>();
  const replies = new Map<string, { body: string; reply: FakeResponse }>();
${authCheck}
  const unauthorized = () => error(401, 'unauthorized', 'missing or invalid credentials');
  const server = await createFakeServer({
${tokenRoute}    'GET /ping': (request) => (authorized(request) ? json({ ok: true }) : unauthorized()),
    'POST /items': (request) => {
      if (!authorized(request)) return unauthorized();
      const key = request.headers['idempotency-key'];
      const text = request.text();
      if (typeof key === 'string') {
        const seen = replies.get(key);
        if (seen) {
          return seen.body === text ? seen.reply : error(409, 'idempotency_conflict', 'key reused with another body');
        }
      }
      let input: { name?: unknown };
      try {
        input = JSON.parse(text) as { name?: unknown };
      } catch {
        return error(400, 'invalid_json', 'the body is not JSON');
      }
      if (typeof input.name !== 'string' || input.name === '') {
        return error(400, 'invalid_request', 'name is required');
      }
      const item = { id: \`item_\${randomUUID()}\`, name: input.name, createdAt: new Date().toISOString() };
      items.set(item.id, item);
      const reply = json(item, { status: 201 });
      if (typeof key === 'string') replies.set(key, { body: text, reply });
      return reply;
    },
  });
  return Object.assign(server, { items });
}
`;
}

/** The config the tests use, pointing at \`url\`, with \`secret\` in the secret field. */
function testConfig(o, url, secret) {
  switch (o.auth) {
    case 'api-key':
      return `{ apiKey: ${secret}, baseUrl: ${url} }`;
    case 'oauth2':
      return `{ clientId: 'client', clientSecret: ${secret}, tokenUrl: \`\${${url}}/oauth/token\`, baseUrl: ${url} }`;
    case 'sdk-credentials':
      return `{ keyId: 'key-id', keySecret: ${secret}, baseUrl: ${url} }`;
    default:
      return `{ baseUrl: ${url} }`;
  }
}

/** A config the schema must reject because of \`baseUrl\` alone. */
function invalidConfig(o) {
  switch (o.auth) {
    case 'api-key':
      return "{ apiKey: 'key', baseUrl: 'not a url' }";
    case 'oauth2':
      return "{ clientId: 'client', clientSecret: 'secret', tokenUrl: 'http://127.0.0.1:1/oauth/token', baseUrl: 'not a url' }";
    case 'sdk-credentials':
      return "{ keyId: 'key-id', keySecret: 'secret', baseUrl: 'not a url' }";
    default:
      return "{ baseUrl: 'not a url' }";
  }
}

export function connectorTestTs(o) {
  const config =
    o.auth === 'none'
      ? `  config: (url) => (${testConfig(o, 'url')}),\n  noSecrets: true,`
      : `  config: (url, { secret }) => (${testConfig(o, 'url', 'secret')}),`;
  const invalid = invalidConfig(o);
  return `import { describeConnector } from '@integrations/testkit';
import { ${o.camel} } from '../src/index.js';
import { errorBody, start${o.pascal}Fake } from './fake.js';

describeConnector(${o.camel}, {
  standIn: async () => {
    const fake = await start${o.pascal}Fake();
    return { url: fake.url, stop: () => fake.stop() };
  },
${config}
  invalidConfig: { config: ${invalid}, path: 'baseUrl' },
  idempotentCall: (instance, options) => instance.ping(options),
  nonIdempotentCall: (instance, options) => instance.create({ name: 'conformance' }, options),
  idempotencyKeyHeader: 'idempotency-key',
  errorResponse: (status) => ({ contentType: 'application/json', body: errorBody(status) }),
});
`;
}

export function operationsTestTs(o) {
  const secret = o.auth === 'none' ? undefined : "'test-secret'";
  return `import { type IntegrationHandle, IntegrationError, type Registry } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ${o.camel}, type ${o.pascal}Instance } from '../src/index.js';
import { start${o.pascal}Fake } from './fake.js';

let fake: Awaited<ReturnType<typeof start${o.pascal}Fake>>;
let registry: Registry;
let api: IntegrationHandle<${o.pascal}Instance>;

beforeAll(async () => {
  fake = await start${o.pascal}Fake();
  registry = createRegistry();
  api = registry.register(${o.camel}, {
    name: ${q(o.id)},
    config: ${testConfig(o, 'fake.url', secret)},
    healthCheck: false,
  });
  await registry.enableAll();
});

afterAll(async () => {
  await registry?.close();
  await fake?.stop();
});

describe('${o.id} operations against the fake', () => {
  it('ping answers', async () => {
    expect(await api.ping()).toEqual({ ok: true });
  });

  it('create stores an item, and a repeat with the same idempotency key returns the first one', async () => {
    const first = await api.create({ name: 'first' }, { idempotencyKey: 'key-1' });
    const again = await api.create({ name: 'first' }, { idempotencyKey: 'key-1' });
    expect(first.name).toBe('first');
    expect(again.id).toBe(first.id);
    expect([...fake.items.keys()]).toContain(first.id);
  });

  it('a rejected create is an invalid_request error with the provider code', async () => {
    const error = await api.create({ name: '' }).catch((e: unknown) => e);
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400, code: 'invalid_request' });
  });
});
`;
}

export function packageJson(o, devRanges) {
  const pkg = {
    name: `@integrations/${o.id}`,
    version: '0.1.0',
    description: o.description,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20.19.0' },
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
    files: ['dist', 'README.md', 'CHANGELOG.md'],
    repository: {
      type: 'git',
      url: 'git+https://github.com/integrations-dev/integrations.git',
      directory: `packages/connectors/${o.id}`,
    },
    keywords: [...new Set(['integrations', o.id, o.category, 'connector'])],
    publishConfig: { access: 'public' },
    scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc -p tsconfig.json', 'check:package': 'check-package' },
    peerDependencies: { '@integrations/core': 'workspace:^' },
    dependencies: Object.fromEntries(
      [...(o.sdk ? [[o.sdk, o.sdkRange]] : []), ['undici', UNDICI_RANGE]].sort(([a], [b]) => a.localeCompare(b)),
    ),
    devDependencies: {
      '@integrations/core': 'workspace:*',
      '@integrations/testkit': 'workspace:*',
      '@integrations/tooling': 'workspace:*',
      '@types/node': devRanges['@types/node'],
      tsup: devRanges.tsup,
      typescript: devRanges.typescript,
      vitest: devRanges.vitest,
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

export function readme(o) {
  const install = ['@integrations/core', `@integrations/${o.id}`, ...(o.sdk ? [o.sdk] : [])].join(' ');
  const exampleConfig = {
    'api-key': `{ apiKey: process.env.${o.envPrefix}_API_KEY!${o.baseUrl ? '' : ", baseUrl: 'https://…'"} }`,
    oauth2: `{
    clientId: process.env.${o.envPrefix}_CLIENT_ID!,
    clientSecret: process.env.${o.envPrefix}_CLIENT_SECRET!,${o.tokenUrl ? '' : "\n    tokenUrl: 'https://…/oauth/token',"}${o.baseUrl ? '' : "\n    baseUrl: 'https://…',"}
  }`,
    'sdk-credentials': `{ keyId: process.env.${o.envPrefix}_KEY_ID!, keySecret: process.env.${o.envPrefix}_KEY_SECRET!${o.baseUrl ? '' : ", baseUrl: 'https://…'"} }`,
    none: `{${o.baseUrl ? '' : " baseUrl: 'https://…' "}}`,
  }[o.auth];
  const rows = [];
  if (o.auth === 'api-key') rows.push(['apiKey', 'string', 'yes', '— (required)']);
  if (o.auth === 'oauth2') {
    rows.push(['clientId', 'string', 'no', '— (required)']);
    rows.push(['clientSecret', 'string', 'yes', '— (required)']);
    rows.push(['tokenUrl', 'URL', 'no', o.tokenUrl ? `\`${o.tokenUrl}\`` : '— (required)']);
    rows.push(['scope', 'string, space-separated', 'no', '—']);
  }
  if (o.auth === 'sdk-credentials') {
    rows.push(['keyId', 'string', 'no', '— (required)']);
    rows.push(['keySecret', 'string', 'yes', '— (required)']);
  }
  rows.push(['baseUrl', 'URL', 'no', o.baseUrl ? `\`${o.baseUrl}\`` : '— (required)']);
  const configTable = rows.map(([f, t, s, d]) => `| \`${f}\` | ${t} | ${s} | ${d} |`).join('\n');
  const via = o.sdk
    ? `the official [\`${o.sdk}\`](https://www.npmjs.com/package/${o.sdk}) SDK (its client is built in \`src/client.ts\`)`
    : "core's HTTP client (`@integrations/core/http`)";
  return `# @integrations/${o.id}

${o.name} for [\`@integrations/core\`](../../core), through ${via}, behind core's pipeline (timeouts, retries,
circuit breaker, rate limits, events). Authentication: ${AUTH_KINDS[o.auth].summary}.

## Install

\`\`\`sh
pnpm add ${install}
\`\`\`

## Example

\`\`\`ts
import { createRegistry } from '@integrations/core/registry';
import { ${o.camel} } from '@integrations/${o.id}';

const registry = createRegistry();
const api = registry.register(${o.camel}, {
  name: '${o.id.replace(/-/g, '_')}',
  config: ${exampleConfig},
});
await registry.enableAll();

console.log(await api.ping()); // { ok: true }
const item = await api.create({ name: 'first' }, { idempotencyKey: 'order-42' });
console.log(item.id);
await registry.close();
\`\`\`

## Operations

Every operation takes core's \`CallOptions\` (\`{ signal, idempotencyKey, timeoutMs }\`) as its last argument.

| operation | idempotent | what it does |
|---|---|---|
| \`ping()\` | yes | \`GET /ping\`: checks that the API answers and accepts the credentials. |
| \`create(input)\` | no | \`POST /items\`: creates an item. Sends \`Idempotency-Key\` when the call has one, and only then is it retried. |

Also on the instance: \`healthCheck()\` (the same \`GET /ping\`) and \`client\`, the underlying client, for anything not
wrapped (calls made on it bypass the pipeline). Each integration sends its requests over a connection pool of its own
(\`src/transport.ts\`, undici), which \`registry.close()\` closes.

## Config

| field | type | secret | default |
|---|---|---|---|
${configTable}

## Errors

Every failure is an \`IntegrationError\` (\`src/errors.ts\`): the HTTP status decides the kind, the provider's error code
(\`{ "error": { "code" } }\`) is \`code\`, and the original error is \`cause\`.

| provider answer | kind | retried |
|---|---|---|
| 400, 422 | \`invalid_request\` | no |
| 401 | \`auth\` | no |
| 403 | \`permission\` | no |
| 404 | \`not_found\` | no |
| 409 | \`conflict\` | no |
| 429 | \`rate_limited\` (\`retryAfterMs\` from \`Retry-After\`) | yes |
| 5xx | \`unavailable\` | yes |
| connection refused or reset | \`unavailable\` | yes |
| no answer within the timeout | \`timeout\` | yes |

## Tests and stand-in

Stand-in: in-repo fake (\`test/fake.ts\`), a small \`node:http\` server on 127.0.0.1 built with testkit's
\`createFakeServer\`: it answers \`GET /ping\` and \`POST /items\` with ${o.name}'s error body, keeps items in memory and
honours \`Idempotency-Key\`. \`test/connector.test.ts\` runs testkit's conformance suite against it through the fault
proxy; \`test/operations.test.ts\` covers the round trips. When ${o.name} publishes an OpenAPI document or an emulator,
run the tests against that instead (Prism: \`startPrism(specPath(…))\` from \`@integrations/testkit\`).

To use the real ${o.name} API, ${o.baseUrl ? 'leave `baseUrl` unset' : 'set `baseUrl` to its address'} and give real credentials.
`;
}

export function changeset(o) {
  return `---
"@integrations/${o.id}": minor
---

First release of the ${o.name} connector: \`ping\` and \`create\` (retried only with an idempotency key).
`;
}

export const TSCONFIG = `{ "extends": "../../../tsconfig.base.json", "include": ["src", "test", "*.ts"] }\n`;
export const TSUP_CONFIG = `import { defineBuild } from '@integrations/tooling/tsup';\n\nexport default defineBuild();\n`;
export const VITEST_CONFIG = `import { defineTestConfig } from '@integrations/tooling/vitest';\n\nexport default defineTestConfig();\n`;
