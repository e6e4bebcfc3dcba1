import { describeConnector } from '@integrations/testkit';
import { googleErrorBody, startBigQueryFake } from '@integrations/testkit/fakes/bigquery';
import { gcpBigquery } from '../src/index.js';

const PROJECT = 'local-proj';

describeConnector(gcpBigquery, {
  standIn: async () => {
    const fake = await startBigQueryFake();
    fake.state.insertDataset(PROJECT, { datasetReference: { datasetId: 'conformance' } });
    return fake;
  },
  // The fake takes any bearer token, so the canary rides as the access token of a working config.
  config: (url, { secret }) => ({
    projectId: PROJECT,
    apiEndpoint: url,
    auth: 'accessToken' as const,
    accessToken: secret,
  }),
  // auth "none" against Google's real endpoint would run unauthenticated: the schema refuses it.
  invalidConfig: { config: { projectId: PROJECT, auth: 'none' }, path: 'auth' },
  idempotentCall: (instance, options) => instance.getDataset('conformance', options),
  // A query may be DML: without an idempotency key it is not retried.
  nonIdempotentCall: (instance, options) => instance.query('SELECT * FROM `conformance.missing`', {}, options),
  errorResponse: (status) => ({ contentType: 'application/json; charset=UTF-8', body: googleErrorBody(status) }),
});
