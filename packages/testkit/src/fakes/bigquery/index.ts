export { type GoogleErrorItem, googleErrorBody } from './errors.js';
export {
  type BigQueryExchange,
  type BigQueryFake,
  type BigQueryFakeOptions,
  FAKE_ROUTES,
  startBigQueryFake,
} from './server.js';
export type { BigQueryStore, FakeDataset, FakeJob, FakeTable } from './store.js';
export type { FieldSchema } from './values.js';
