import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isPortOpen, waitFor } from './ports.js';
import { resolveBin, type StandIn, spawnNode } from './process.js';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * A connection string for the development account on a blob endpoint (`url` may be the fault proxy's).
 * Pass `accountKey` to build a deliberately wrong one (Azurite checks shared-key signatures).
 */
export function azuriteConnectionString(url: string, accountKey: string = AZURITE_KEY): string {
  const endpoint = `${url.replace(/\/+$/, '')}/${AZURITE_ACCOUNT}`;
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${accountKey};BlobEndpoint=${endpoint};`;
}

export interface AzuriteStandIn extends StandIn {
  readonly port: number;
  readonly pid: number;
  /** Connection string for `devstoreaccount1` on this instance. */
  readonly connectionString: string;
  readonly accountName: string;
  readonly accountKey: string;
}

export interface AzuriteOptions {
  port?: number | undefined;
  readyTimeoutMs?: number | undefined;
}

/** Starts Azurite's blob service in memory on 127.0.0.1. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteStandIn> {
  const bin = resolveBin('azurite', 'azurite-blob', 'add "azurite" (3.35.0 on Node 20) to devDependencies');
  const port = options.port ?? (await freePort());
  // Azurite may write files into its working directory (and refuses --location in memory mode): give it a scratch one.
  const location = await mkdtemp(join(tmpdir(), 'azurite-'));
  const managed = spawnNode(
    bin,
    [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      // The SDKs speak a newer API version than Azurite knows.
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--silent',
    ],
    'azurite',
    { cwd: location },
  );
  const stopAll = async () => {
    await managed.stop();
    await rm(location, { recursive: true, force: true });
  };
  try {
    await waitFor('azurite-blob', () => isPortOpen(port), {
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      failed: managed.exitError,
    });
  } catch (error) {
    await stopAll();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    pid: managed.pid,
    connectionString: azuriteConnectionString(url),
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    stop: () => (stopping ??= stopAll()),
  };
}
