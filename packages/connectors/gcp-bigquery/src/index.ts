export { type GcpBigqueryConfig, gcpBigqueryConfigSchema } from './config.js';
export {
  type CreateDatasetOptions,
  type CreateTableOptions,
  type DatasetInfo,
  type FieldSchema,
  type GcpBigqueryInstance,
  gcpBigquery,
  type InsertRowsOptions,
  type InsertRowsResult,
  type QueryOptions,
  type QueryResult,
  type QueryResultsPage,
  type ReadRowsOptions,
  type RowsPage,
  type TableInfo,
} from './connector.js';
export { type FailedRow, mapError, PartialInsertError } from './errors.js';
export { VERSION } from './version.js';
