#!/usr/bin/env node
/**
 * `integrations-gateway [--config file.yaml] [--environment name] [--host h] [--port n]`
 *
 * Without a config (no flag, no INTEGRATIONS_CONFIG) it runs the embedded demo: local stand-ins for every
 * provider, several tenants, and a banner with the URL and the demo's admin key.
 */
import { parseArgs } from 'node:util';
import { ConfigFileError } from '@integrations/config';
import { loadGatewayConfig } from './connectors.js';
import { createGateway, type Gateway } from './gateway.js';
import { GatewayConfigError } from './setup.js';
import { WebhookStoreError } from './webhooks/store.js';

const USAGE = `usage: integrations-gateway [--config <file.yaml>] [--environment <name>] [--host <host>] [--port <port>]

  --config        the YAML config (default: $INTEGRATIONS_CONFIG; none: run the embedded demo)
  --environment   which environments.<name> section to apply (default: $INTEGRATIONS_ENV, $NODE_ENV, development)
  --host, --port  override server.host / server.port (also $INTEGRATIONS_HOST, $INTEGRATIONS_PORT)
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

interface Demo {
  file: string;
  env: Record<string, string>;
  adminApiKey: string;
  standIns: Record<string, { url: string }>;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        environment: { type: 'string', short: 'e' },
        host: { type: 'string' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  try {
    args = parse();
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  const environment = args.values.environment ?? env.INTEGRATIONS_ENV;
  const portText = args.values.port ?? env.INTEGRATIONS_PORT;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    fail(`--port must be an integer from 0 to 65535, got "${portText}"`);
  }
  const host = args.values.host ?? env.INTEGRATIONS_HOST;

  let file = args.values.config ?? env.INTEGRATIONS_CONFIG;
  let demo: Demo | undefined;
  if (file === undefined) {
    if ((environment ?? env.NODE_ENV) === 'production') {
      fail(
        'no config: pass --config <file.yaml> or set INTEGRATIONS_CONFIG (the embedded demo never runs in production)',
      );
    }
    let startDemo: () => Promise<Demo>;
    try {
      ({ startDemo } = await import('./demo.js'));
    } catch (error) {
      fail(
        `no config given and the embedded demo cannot run in this install (${(error as Error).message}): pass --config <file.yaml>`,
      );
    }
    process.stdout.write('starting the embedded demo: local stand-ins on 127.0.0.1 ...\n');
    demo = await startDemo();
    file = demo.file;
  }

  let gateway: Gateway;
  try {
    const config = await loadGatewayConfig({
      file,
      environment: demo ? 'development' : environment,
      env: demo ? { ...env, ...demo.env } : env,
    });
    gateway = await createGateway({ config, demoApiKey: demo?.adminApiKey });
  } catch (error) {
    await demo?.stop();
    if (error instanceof ConfigFileError || error instanceof GatewayConfigError || error instanceof WebhookStoreError) {
      fail(error.message);
    }
    if ((error as { kind?: unknown })?.kind === 'invalid_config') fail(`invalid config: ${(error as Error).message}`);
    throw error;
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    gateway.app.log.info({ signal }, 'shutting down: draining in-flight requests');
    const graceMs = Number(env.INTEGRATIONS_SHUTDOWN_GRACE_MS ?? 10_000);
    try {
      await gateway.close({ graceMs: Number.isFinite(graceMs) ? graceMs : 10_000 });
    } finally {
      await demo?.stop();
    }
    gateway.app.log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  let url: string;
  try {
    url = await gateway.listen({ host, port });
  } catch (error) {
    await gateway.close({ graceMs: 0 });
    await demo?.stop();
    fail(`cannot listen: ${(error as Error).message}`);
  }
  if (demo) {
    process.stdout.write(
      [
        '',
        '  Integrations gateway — embedded demo (local stand-ins, no credentials, no internet)',
        '',
        `  dashboard   ${url}/`,
        `  API docs    ${url}/docs`,
        `  admin key   ${demo.adminApiKey}   (the demo's own key, not a secret)`,
        `  stand-ins   ${Object.entries(demo.standIns)
          .map(([name, standIn]) => `${name} ${standIn.url}`)
          .join(', ')}`,
        '',
        `  curl -H 'Authorization: Bearer ${demo.adminApiKey}' ${url}/integrations/health`,
        `  curl -H 'Authorization: Bearer ${demo.adminApiKey}' -H 'X-Tenant-Id: acme' -H 'Content-Type: application/json' \\`,
        `       -d '{"args":[{"email":"ada@example.com"}]}' ${url}/integrations/payments/operations/customers.create`,
        '',
        '  Ctrl-C stops the gateway and the stand-ins.',
        '',
      ].join('\n'),
    );
  }
  await gateway.enable();
  const { kind: store, status: storeStatus } = gateway.storeStatus();
  gateway.app.log.info({ url, integrations: gateway.registry.summary().total, store, storeStatus }, 'gateway ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
