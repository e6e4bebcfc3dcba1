import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, defineConnector, field, IntegrationError } from '@integrations/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigFileError, type LoadConfigOptions, loadConfig } from '../src/index.js';
import { connectors as plain } from './fixtures/connectors.js';

/** A connector that verifies its own webhooks (the verifier is never called here). */
const payments = defineConnector({
  id: 'payments',
  displayName: 'Payments',
  type: 'external_api',
  category: 'payments',
  version: '1.0.0',
  config: configSchema({ apiKey: field.secret() }),
  operations: { charge: { idempotent: false } },
  webhooks: {
    signatureHeader: 'x-payments-signature',
    verify: () => {
      throw new IntegrationError('auth', 'not in this test', { code: 'webhook_signature_invalid' });
    },
  },
  mapError: (error) => new IntegrationError('internal', String(error)),
  create: () => ({ client: null, healthCheck: async () => undefined }),
});
const connectors = { ...plain, payments };

const dir = mkdtempSync(join(tmpdir(), 'config-webhooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(text: string): string {
  const path = join(dir, `webhooks-${++counter}.yaml`);
  writeFileSync(path, text.replace(/^\n/, ''));
  return path;
}

const OLD_HOOK = 'whsec_old_0000000000000001';
const env = {
  PAY_KEY: 'pay-api-key-0000000001',
  PAY_HOOK_NEW: 'whsec_new_0000000000000001',
  GITHUB_HOOK: 'github-hook-secret-00000001',
  DB_PASSWORD: 'db-password-000000000001',
};

async function failure(options: Partial<LoadConfigOptions> & { file: string }): Promise<ConfigFileError> {
  const error = await loadConfig({ connectors, env, ...options }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigFileError);
  return error as ConfigFileError;
}

const BASE = `
server:
  webhooks:
    store:
      kind: postgres
      url: postgres://gateway:\${DB_PASSWORD}@127.0.0.1:5432/app
    forwardUrl: http://127.0.0.1:9000/events
    delivery: { maxAttempts: 5, initialDelayMs: 200 }
integrations:
  billing:
    connector: payments
    config: { apiKey: "\${PAY_KEY}" }
    webhooks:
      secrets: ["\${PAY_HOOK_NEW}", "\${PAY_HOOK_OLD:-}"]
      toleranceSeconds: 120
  github:
    connector: music
    config: { clientId: gh, clientSecret: "\${PAY_KEY}" }
    webhooks:
      scheme: hmac-sha256
      secrets: ["\${GITHUB_HOOK}"]
      maxBodyBytes: 65536
      forwardUrl: https://internal.example.com/github
      hmac:
        signatureHeader: X-Hub-Signature-256
        prefix: "sha256="
        idHeader: X-GitHub-Delivery
        typeHeader: X-GitHub-Event
  plain:
    connector: storage
    config: { bucket: b, secretKey: "\${PAY_KEY}" }
environments:
  development: {}
  rotation:
    integrations:
      billing:
        webhooks: { secrets: ["\${PAY_HOOK_NEW}"] }
`;

describe('webhooks config', () => {
  it('reads the store, delivery settings and per-integration sections, with defaults', async () => {
    const config = await loadConfig({ file: file(BASE), env, connectors, environment: 'development' });
    expect(config.server.webhooks).toEqual({
      store: {
        kind: 'postgres',
        url: `postgres://gateway:${env.DB_PASSWORD}@127.0.0.1:5432/app`,
        schema: 'integrations_webhooks',
        maxConnections: 10,
      },
      forwardUrl: 'http://127.0.0.1:9000/events',
      delivery: {
        maxAttempts: 5,
        initialDelayMs: 200,
        backoffMultiplier: 2,
        maxDelayMs: 900_000,
        jitter: 'full',
        timeoutMs: 10_000,
        concurrency: 4,
        pollIntervalMs: 1000,
      },
      retentionDays: 30,
    });
    const byName = Object.fromEntries(config.integrations.map((i) => [i.name, i]));
    // The old secret's variable is unset: its empty entry is dropped, the new one remains.
    expect(byName.billing?.webhooks).toEqual({
      scheme: 'connector',
      secrets: [env.PAY_HOOK_NEW],
      toleranceSeconds: 120,
      maxBodyBytes: 1_048_576,
    });
    expect(byName.github?.webhooks).toMatchObject({
      scheme: 'hmac-sha256',
      maxBodyBytes: 65_536,
      forwardUrl: 'https://internal.example.com/github',
      hmac: { signatureHeader: 'X-Hub-Signature-256', prefix: 'sha256=', encoding: 'hex' },
    });
    expect(byName.plain?.webhooks).toBeUndefined();
  });

  it('accepts both secrets during a rotation, and an environment can narrow them', async () => {
    const both = await loadConfig({ file: file(BASE), env: { ...env, PAY_HOOK_OLD: OLD_HOOK }, connectors });
    expect(both.integrations.find((i) => i.name === 'billing')?.webhooks?.secrets).toEqual([
      env.PAY_HOOK_NEW,
      OLD_HOOK,
    ]);
    const after = await loadConfig({ file: file(BASE), env, connectors, environment: 'rotation' });
    expect(after.integrations.find((i) => i.name === 'billing')?.webhooks?.secrets).toEqual([env.PAY_HOOK_NEW]);
  });

  it('lists webhook secrets and the store password among the values to redact', async () => {
    const config = await loadConfig({ file: file(BASE), env: { ...env, PAY_HOOK_OLD: OLD_HOOK }, connectors });
    expect(config.secrets).toEqual(
      expect.arrayContaining([env.PAY_HOOK_NEW, OLD_HOOK, env.GITHUB_HOOK, env.DB_PASSWORD]),
    );
  });

  it('needs server.webhooks when an integration takes webhooks', async () => {
    const text = BASE.replace(/^server:[\s\S]*?(?=^integrations:)/m, '');
    const path = file(text);
    const error = await failure({ file: path });
    expect(error.issues).toEqual([
      {
        file: path,
        line: 5,
        column: 5,
        path: 'integrations.billing.webhooks',
        message: 'needs server.webhooks.store: events are stored durably before they are acknowledged',
      },
      expect.objectContaining({ line: 11, path: 'integrations.github.webhooks' }),
    ]);
  });

  it('refuses the connector scheme for a connector that does not verify webhooks', async () => {
    const path = file(BASE.replace('      scheme: hmac-sha256\n', ''));
    const error = await failure({ file: path });
    expect(error.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [22, 'integrations.github.webhooks.hmac', 'is only used with scheme: hmac-sha256'],
    ]);
    const noHmac = file(
      BASE.replace('      scheme: hmac-sha256\n', '').replace(/ {6}hmac:[\s\S]*?(?=^ {2}plain:)/m, ''),
    );
    const second = await failure({ file: noHmac });
    expect(second.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [
        18,
        'integrations.github.webhooks',
        'connector "music" does not verify webhooks: use scheme: hmac-sha256 with an hmac section',
      ],
    ]);
  });

  it('names file, line and path for each bad webhook setting', async () => {
    const text = BASE.replace('kind: postgres\n      url: postgres://', 'kind: postgres\n      url: mysql://')
      .replace('delivery: { maxAttempts: 5,', 'delivery: { maxAttempts: five, retries: 2,')
      .replace('toleranceSeconds: 120', 'toleranceSeconds: -1')
      .replace('prefix: "sha256="', 'prefix: "sha256="\n        signedPayload: "payload"');
    const path = file(text);
    const error = await failure({ file: path });
    expect(error.issues.map((i) => `${i.line}:${i.path}: ${i.message}`)).toEqual([
      '5:server.webhooks.store.url: expected a postgres:// or postgresql:// URL',
      '7:server.webhooks.delivery.maxAttempts: expected a number',
      '7:server.webhooks.delivery.retries: unknown key "retries"',
      '14:integrations.billing.webhooks.toleranceSeconds: Too small: expected number to be >0',
      '26:integrations.github.webhooks.hmac.signedPayload: must contain {body}',
    ]);
    expect(error.message).toContain(`${path}:5:`);
  });

  it('needs at least one non-empty secret, and {timestamp} needs its header', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: config references, not templates
    const text = BASE.replace('secrets: ["${GITHUB_HOOK}"]', 'secrets: ["${UNSET_HOOK:-}"]').replace(
      'prefix: "sha256="',
      'prefix: "sha256="\n        signedPayload: "v0:{timestamp}:{body}"',
    );
    const error = await failure({ file: file(text) });
    expect(error.issues.map((i) => `${i.line}:${i.path}: ${i.message}`)).toEqual([
      '20:integrations.github.webhooks.secrets: at least one secret is required (empty entries are ignored)',
      '26:integrations.github.webhooks.hmac.signedPayload: {timestamp} needs timestampHeader',
    ]);
  });

  it('refuses a forward URL that is not http(s) and a schema name that is not an identifier', async () => {
    const text = BASE.replace('forwardUrl: http://127.0.0.1:9000/events', 'forwardUrl: ftp://127.0.0.1/events').replace(
      '      url: postgres://',
      '      schema: Robert-Tables\n      url: postgres://',
    );
    const error = await failure({ file: file(text) });
    expect(error.issues.map((i) => `${i.line}:${i.path}: ${i.message}`)).toEqual([
      '5:server.webhooks.store.schema: expected a lowercase SQL identifier',
      '7:server.webhooks.forwardUrl: expected an http:// or https:// URL',
    ]);
  });
});
