import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, describeConnector, startAzurite } from '@integrations/testkit';
import { azureBlob } from '../src/index.js';
import { azureErrorResponse } from './azure-errors.js';

const CONTAINER = 'conformance';

describeConnector(azureBlob, {
  standIn: async () => {
    const azurite = await startAzurite();
    // The calls the kit drives list this container: it has to exist before any fault is injected.
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(CONTAINER).create();
    return { url: azurite.url, stop: () => azurite.stop() };
  },
  // Azurite checks the shared key, so the canary is a wrong key: every call fails with auth, and must not echo it.
  config: (url, { secret }) => ({
    accountName: AZURITE_ACCOUNT,
    accountKey: secret,
    endpoint: `${url}/${AZURITE_ACCOUNT}`,
    container: CONTAINER,
  }),
  healthyConfig: (url) => ({
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    endpoint: `${url}/${AZURITE_ACCOUNT}`,
    container: CONTAINER,
  }),
  invalidConfig: { config: { accountName: AZURITE_ACCOUNT, container: CONTAINER }, path: 'accountKey' },
  idempotentCall: async (instance, options) => {
    for await (const page of instance.list({ pageSize: 1 }, options)) return page;
    return undefined;
  },
  // A stream is read once, so a stream upload is declared non-idempotent and must never be sent twice.
  nonIdempotentCall: (instance, options) =>
    instance.upload('conformance-stream.bin', Readable.from([Buffer.from('streamed once')]), {}, options),
  errorResponse: azureErrorResponse,
});
