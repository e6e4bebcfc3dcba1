import { createHash, randomUUID } from 'node:crypto';
import {
  BigQuery,
  type BigQueryOptions,
  type Job,
  type Query,
  type QueryRowsResponse,
  Table,
  type TableField,
} from '@google-cloud/bigquery';
import {
  type CallOptions,
  type ConfigOutput,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationError,
  IntegrationType,
} from '@integrations/core';
import { OAuth2Client, PassThroughClient } from 'google-auth-library';
import { gcpBigqueryConfigSchema } from './config.js';
import { mapError } from './errors.js';
import { VERSION } from './version.js';

type Config = ConfigOutput<(typeof gcpBigqueryConfigSchema)['fields']>;
type Row = Record<string, unknown>;

/** A column of a table schema, as BigQuery's REST API describes it. */
export interface FieldSchema {
  name: string;
  /** `STRING`, `INTEGER`/`INT64`, `FLOAT`/`FLOAT64`, `NUMERIC`, `BOOLEAN`/`BOOL`, `TIMESTAMP`, `DATE`, `RECORD`, ... */
  type: string;
  /** `NULLABLE` (default), `REQUIRED` or `REPEATED`. */
  mode?: string | undefined;
  description?: string | undefined;
  /** Sub-fields of a `RECORD`. */
  fields?: FieldSchema[] | undefined;
}

export interface DatasetInfo {
  datasetId: string;
  projectId: string;
  location: string | undefined;
  description: string | undefined;
  labels: Record<string, string>;
  /** Epoch milliseconds. */
  creationTime: number | undefined;
}

export interface TableInfo {
  datasetId: string;
  tableId: string;
  location: string | undefined;
  schema: FieldSchema[];
  /** Rows in managed storage (the streaming buffer may hold more). */
  numRows: number | undefined;
  description: string | undefined;
  creationTime: number | undefined;
}

export interface QueryOptions {
  /** Named parameters for `@name` placeholders. Types are inferred from the values unless given in `types`. */
  params?: Record<string, unknown> | undefined;
  /** BigQuery types for parameters whose type cannot be inferred (a null, an empty array): `{ id: 'INT64' }`. */
  types?: Query['types'] | undefined;
  /** Where the job runs; defaults to the config's location, then to the location of the tables it reads. */
  location?: string | undefined;
  /** Return at most this many rows (the first page); `pageToken` then fetches more via getQueryResults. */
  maxResults?: number | undefined;
  /** Default dataset for unqualified table names. */
  defaultDataset?: string | undefined;
}

export interface QueryResult<R = Row> {
  jobId: string;
  location: string | undefined;
  rows: R[];
  schema: FieldSchema[];
  /** Rows the query produced in total (more than `rows.length` when `pageToken` is set). */
  totalRows: number;
  /** Present when rows remain: pass to getQueryResults. */
  pageToken: string | undefined;
}

export interface QueryResultsPage<R = Row> extends QueryResult<R> {
  /** False while the job is still running: poll again (BigQuery waits up to ~10 s per poll before answering). */
  jobComplete: boolean;
}

export interface InsertRowsOptions {
  /**
   * Field whose value becomes each row's insertId (a stable business key: BigQuery then drops repeats of the
   * same row within its de-duplication window, even across separate calls). Without it, each row's insertId is a
   * hash of the row, its position and a batch id made once per call (the call's idempotencyKey when given).
   */
  insertIdField?: string | undefined;
  /** Write the valid rows even when some are invalid (default false: one invalid row fails the whole request). */
  skipInvalidRows?: boolean | undefined;
  /** Drop fields the table schema does not know instead of rejecting the row. */
  ignoreUnknownValues?: boolean | undefined;
}

export interface InsertRowsResult {
  /** Rows sent (BigQuery drops rows whose insertId it has already seen). */
  sent: number;
  /** The insertId each row was sent with, in input order. */
  insertIds: string[];
}

export interface ReadRowsOptions {
  /** Rows per page (each page is one request). Default: BigQuery's page size. */
  pageSize?: number | undefined;
  /** Row to start from. */
  startIndex?: number | undefined;
  /** Only these columns. */
  selectedFields?: string[] | undefined;
}

export interface RowsPage<R = Row> {
  rows: R[];
  totalRows: number;
  pageToken: string | undefined;
}

export interface CreateDatasetOptions {
  /** Defaults to the config's location. */
  location?: string | undefined;
  description?: string | undefined;
  labels?: Record<string, string> | undefined;
}

export interface CreateTableOptions {
  schema: FieldSchema[];
  description?: string | undefined;
}

const OPERATIONS = {
  query: {
    // A query may be DML. With an idempotencyKey it runs as a job whose id derives from the key, so a retry
    // finds the job instead of running the statement twice.
    idempotent: false,
    description: 'Runs a GoogleSQL query with named parameters and waits for its results',
  },
  getQueryResults: { idempotent: true, description: 'Polls a query job and reads a page of its results' },
  insertRows: {
    // Every row carries an insertId fixed before the first attempt: BigQuery drops repeats of an insertId.
    idempotent: true,
    description: 'Streams rows into a table (tabledata.insertAll) with stable insertIds',
  },
  readRows: { idempotent: true, description: 'Reads one page of a table’s rows (tabledata.list)' },
  createDataset: {
    // The id is the key: a repeat cannot create a second dataset; a retry that finds it returns it.
    idempotent: true,
    description: 'Creates a dataset',
  },
  getDataset: { idempotent: true, description: 'Reads a dataset’s metadata' },
  deleteDataset: { idempotent: true, description: 'Deletes a dataset (and its tables with deleteContents)' },
  createTable: { idempotent: true, description: 'Creates a table with a schema' },
  getTable: { idempotent: true, description: 'Reads a table’s metadata and schema' },
} as const;

/** Decides how requests are authorised. `none` is only ever chosen explicitly (the schema insists on it). */
function authOptions(config: Config): Partial<BigQueryOptions> {
  switch (config.auth) {
    case 'none':
      // Without an explicit client the SDK looks for credentials, probing the GCE metadata server.
      return { authClient: new PassThroughClient() };
    case 'accessToken': {
      const client = new OAuth2Client();
      client.setCredentials({ access_token: config.accessToken });
      return { authClient: client };
    }
    case 'serviceAccount':
      return {
        credentials: { client_email: config.credentials?.clientEmail, private_key: config.credentials?.privateKey },
      };
    case 'keyFile':
      return { keyFilename: config.keyFilename };
    default:
      return {};
  }
}

function toFieldSchema(fields: readonly TableField[] | undefined): FieldSchema[] {
  return (fields ?? []).map((f) => {
    const out: FieldSchema = { name: f.name ?? '', type: f.type ?? 'STRING' };
    if (f.mode) out.mode = f.mode;
    if (f.description) out.description = f.description;
    if (f.fields) out.fields = toFieldSchema(f.fields);
    return out;
  });
}

function toNumber(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** JSON with object keys sorted, so a row's hash does not depend on the order its keys were written in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** A job id BigQuery accepts ([A-Za-z0-9_-], ≤ 1024), derived from the caller's idempotency key. */
function jobIdFor(idempotencyKey: string): string {
  return `idem_${createHash('sha256').update(idempotencyKey).digest('base64url')}`;
}

function invalidInput(operation: string, message: string): IntegrationError {
  return new IntegrationError('invalid_request', message, {
    provider: 'gcp-bigquery',
    operation,
    code: 'invalid_input',
  });
}

function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === status;
}

type Interceptor = BigQuery['interceptors'][number];

/**
 * The SDK's HTTP layer (teeny-request) picks the agent itself, from a keep-alive pool shared by the whole process,
 * and ignores any agent in the request options, so nothing the connector owns could be closed in `close()`. Each
 * request therefore leaves that pool and asks for its connection to be closed once answered: no idle socket to
 * BigQuery outlives the call, and none is left open after the integration closes.
 */
const ownConnections: Interceptor = {
  // reqOpts is the SDK's own copy for this one request.
  request(reqOpts) {
    reqOpts.forever = false;
    reqOpts.headers = { ...reqOpts.headers, connection: 'close' };
    // The SDK always sets `uri` before its interceptors run; its types only allow for `url` as well.
    return reqOpts as ReturnType<Interceptor['request']>;
  },
};

export const gcpBigquery = defineConnector({
  id: 'gcp-bigquery',
  displayName: 'Google BigQuery',
  type: IntegrationType.CloudService,
  category: 'warehouse',
  version: VERSION,
  config: gcpBigqueryConfigSchema,
  operations: OPERATIONS,
  mapError,
  create(config, ctx) {
    // The SDK takes no AbortSignal (its HTTP layer forwards none): core's timeout and abort reject the call, and
    // an abandoned request finishes in the background.
    const bigquery = new BigQuery({
      projectId: config.projectId,
      location: config.location,
      apiEndpoint: config.apiEndpoint,
      userAgent: ctx.userAgent,
      // core's pipeline is the only retry layer.
      retryOptions: { autoRetry: false, maxRetries: 0 },
      ...authOptions(config),
    });
    bigquery.interceptors.push(ownConnections);

    /** Refuses bad input as a failed call, so the error is stamped and reported like any other. */
    const refuse = (operation: string, message: string, options: CallOptions | undefined): Promise<never> =>
      ctx.call(operation, () => Promise.reject(invalidInput(operation, message)), options);

    const dataset = (datasetId: string, location?: string) =>
      bigquery.dataset(datasetId, { location: location ?? config.location });

    const datasetInfo = (metadata: Record<string, unknown>): DatasetInfo => {
      const ref = (metadata.datasetReference ?? {}) as { datasetId?: string; projectId?: string };
      return {
        datasetId: ref.datasetId ?? '',
        projectId: ref.projectId ?? config.projectId,
        location: metadata.location as string | undefined,
        description: metadata.description as string | undefined,
        labels: (metadata.labels as Record<string, string> | undefined) ?? {},
        creationTime: toNumber(metadata.creationTime),
      };
    };

    const tableInfo = (metadata: Record<string, unknown>): TableInfo => {
      const ref = (metadata.tableReference ?? {}) as { datasetId?: string; tableId?: string };
      return {
        datasetId: ref.datasetId ?? '',
        tableId: ref.tableId ?? '',
        location: metadata.location as string | undefined,
        schema: toFieldSchema((metadata.schema as { fields?: TableField[] } | undefined)?.fields),
        numRows: toNumber(metadata.numRows),
        description: metadata.description as string | undefined,
        creationTime: toNumber(metadata.creationTime),
      };
    };

    /** A jobs.query or getQueryResults answer (rows already parsed by the SDK) as a page of results. */
    const toPage = <R>(job: Job, rows: unknown[], response: QueryRowsResponse[2] | undefined): QueryResultsPage<R> => ({
      jobId: job.id ?? '',
      location: job.location,
      jobComplete: response?.jobComplete !== false,
      rows: rows as R[],
      schema: toFieldSchema(response?.schema?.fields),
      totalRows: toNumber(response?.totalRows) ?? 0,
      pageToken: response?.pageToken ?? undefined,
    });

    /** One getQueryResults request: a poll while the job runs, a page of rows once it is done. */
    const resultsPage = async <R>(
      job: Job,
      request: { pageToken?: string | undefined; maxResults?: number | undefined },
      options: CallOptions | undefined,
    ): Promise<QueryResultsPage<R>> =>
      ctx.call(
        'getQueryResults',
        async () => {
          const [rows, , response] = await job.getQueryResults({
            autoPaginate: false,
            ...(request.maxResults !== undefined ? { maxResults: request.maxResults } : {}),
            ...(request.pageToken !== undefined ? { pageToken: request.pageToken } : {}),
          });
          return toPage<R>(job, rows, response);
        },
        options,
      );

    /** Polls until the job completes, then reads every page (or only the first when maxResults caps it). */
    const collect = async <R>(
      job: Job,
      first: QueryResultsPage<R> | undefined,
      maxResults: number | undefined,
      options: CallOptions | undefined,
    ): Promise<QueryResult<R>> => {
      let page = first ?? (await resultsPage<R>(job, { maxResults }, options));
      while (!page.jobComplete) page = await resultsPage<R>(job, { maxResults }, options);
      const rows = [...page.rows];
      while (maxResults === undefined && page.pageToken !== undefined) {
        page = await resultsPage<R>(job, { pageToken: page.pageToken }, options);
        rows.push(...page.rows);
      }
      const { jobComplete: _done, ...result } = page;
      return { ...result, rows };
    };

    return {
      client: bigquery,

      async healthCheck() {
        // The cheapest authenticated call: proves the endpoint answers and the credentials are accepted.
        const [datasets] = await bigquery.getDatasets({ maxResults: 1, autoPaginate: false });
        return { projectId: config.projectId, datasetsVisible: datasets.length > 0 };
      },

      /** Runs a GoogleSQL query (named `@params`), polls the job until it completes, and returns its rows. */
      async query<R = Row>(
        sql: string,
        queryOptions: QueryOptions = {},
        options?: CallOptions,
      ): Promise<QueryResult<R>> {
        const { params, types, maxResults } = queryOptions;
        const location = queryOptions.location ?? config.location;
        if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1)) {
          return refuse('query', `maxResults must be a positive integer, got ${maxResults}`, options);
        }
        const request = {
          query: sql,
          useLegacySql: false,
          ...(params !== undefined ? { params } : {}),
          ...(types !== undefined ? { types } : {}),
          ...(location !== undefined ? { location } : {}),
          ...(queryOptions.defaultDataset !== undefined
            ? { defaultDataset: { projectId: config.projectId, datasetId: queryOptions.defaultDataset } }
            : {}),
        };
        const submitted = await ctx.call(
          'query',
          async ({ idempotencyKey }): Promise<{ job: Job; first: QueryResultsPage<R> | undefined }> => {
            if (idempotencyKey !== undefined) {
              const jobId = jobIdFor(idempotencyKey);
              try {
                const [job] = await bigquery.createQueryJob({ ...request, jobId });
                return { job, first: undefined };
              } catch (error) {
                // An earlier attempt (or call) with this key created the job: pick it up instead of re-running.
                if (isStatus(error, 409)) return { job: bigquery.job(jobId, { location }), first: undefined };
                throw error;
              }
            }
            // jobs.query: short queries answer with their first page in one round trip.
            // With autoPaginate off the SDK resolves [rows, nextQuery, response] (its typings say [rows, job]).
            const page = maxResults !== undefined ? { maxResults } : {};
            // maxResults on both: the request's first page, and the SDK's own first poll if the job is not done.
            const [rows, , response] = (await bigquery.query(
              { ...request, ...page },
              { autoPaginate: false, ...page },
            )) as unknown as QueryRowsResponse;
            const ref = response?.jobReference;
            const job = bigquery.job(ref?.jobId ?? '', { location: ref?.location ?? location });
            return { job, first: toPage<R>(job, rows, response) };
          },
          options,
        );
        return collect(submitted.job, submitted.first, maxResults, options);
      },

      /** One poll of a query job: rows of one page when it is done, `jobComplete: false` while it runs. */
      getQueryResults<R = Row>(
        jobId: string,
        request: { location?: string; pageToken?: string; maxResults?: number } = {},
        options?: CallOptions,
      ): Promise<QueryResultsPage<R>> {
        const job = bigquery.job(jobId, { location: request.location ?? config.location });
        return resultsPage<R>(job, request, options);
      },

      /**
       * Streams rows into a table. Each row's insertId is fixed before the first attempt, so the pipeline's
       * retries (and BigQuery's de-duplication) never write a row twice. Rows BigQuery refuses surface as a
       * PartialInsertError listing each failed row's index, insertId and reasons.
       */
      async insertRows(
        datasetId: string,
        tableId: string,
        rows: readonly Row[],
        insertOptions: InsertRowsOptions = {},
        options?: CallOptions,
      ): Promise<InsertRowsResult> {
        const { insertIdField } = insertOptions;
        const batchId = options?.idempotencyKey ?? randomUUID();
        const prepared: { insertId: string; json: Record<string, unknown> }[] = [];
        for (const [index, row] of rows.entries()) {
          if (typeof row !== 'object' || row === null || Array.isArray(row)) {
            return refuse('insertRows', `rows[${index}] must be an object`, options);
          }
          const json = Table.encodeValue_(row) as Record<string, unknown>;
          let insertId: string;
          if (insertIdField !== undefined) {
            const key = row[insertIdField];
            if ((typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'bigint') || key === '') {
              return refuse(
                'insertRows',
                `rows[${index}].${insertIdField} must be a non-empty string or number: insertIdField names the row key`,
                options,
              );
            }
            insertId = String(key);
          } else {
            insertId = createHash('sha256')
              .update(`${batchId}\n${index}\n${canonicalJson(json)}`)
              .digest('base64url');
          }
          prepared.push({ insertId, json });
        }
        if (prepared.length === 0) return { sent: 0, insertIds: [] };
        const table = dataset(datasetId).table(tableId);
        return ctx.call(
          'insertRows',
          async () => {
            await table.insert(prepared, {
              raw: true,
              // A row BigQuery refused is reported, not silently re-sent by the SDK.
              partialRetries: 0,
              ...(insertOptions.skipInvalidRows !== undefined
                ? { skipInvalidRows: insertOptions.skipInvalidRows }
                : {}),
              ...(insertOptions.ignoreUnknownValues !== undefined
                ? { ignoreUnknownValues: insertOptions.ignoreUnknownValues }
                : {}),
            });
            return { sent: prepared.length, insertIds: prepared.map((r) => r.insertId) };
          },
          options,
        );
      },

      /** Reads a table page by page; each page is one request through the pipeline. */
      readRows<R = Row>(
        datasetId: string,
        tableId: string,
        readOptions: ReadRowsOptions = {},
        options?: CallOptions,
      ): AsyncIterable<RowsPage<R>> {
        const { pageSize, startIndex, selectedFields } = readOptions;
        const table = dataset(datasetId).table(tableId);
        return {
          async *[Symbol.asyncIterator]() {
            if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1)) {
              await refuse('readRows', `pageSize must be a positive integer, got ${pageSize}`, options);
            }
            if (startIndex !== undefined && (!Number.isInteger(startIndex) || startIndex < 0)) {
              await refuse('readRows', `startIndex must be a non-negative integer, got ${startIndex}`, options);
            }
            let pageToken: string | undefined;
            let first = true;
            do {
              const page: RowsPage<R> = await ctx.call(
                'readRows',
                async () => {
                  const [rows, , response] = await table.getRows({
                    autoPaginate: false,
                    ...(pageSize !== undefined ? { maxResults: pageSize } : {}),
                    ...(pageToken !== undefined ? { pageToken } : {}),
                    ...(first && startIndex !== undefined ? { startIndex: String(startIndex) } : {}),
                    ...(selectedFields !== undefined ? { selectedFields: selectedFields.join(',') } : {}),
                  });
                  const list = (response ?? {}) as { totalRows?: unknown; pageToken?: string | null };
                  return {
                    rows: rows as R[],
                    totalRows: toNumber(list.totalRows) ?? 0,
                    pageToken: list.pageToken ?? undefined,
                  };
                },
                options,
              );
              first = false;
              pageToken = page.pageToken;
              yield page;
            } while (pageToken !== undefined);
          },
        };
      },

      /** Creates a dataset. A retried attempt that finds it (created by the attempt before) returns it. */
      createDataset(datasetId: string, create: CreateDatasetOptions = {}, options?: CallOptions): Promise<DatasetInfo> {
        const location = create.location ?? config.location;
        return ctx.call(
          'createDataset',
          async ({ attempt }) => {
            try {
              const [, metadata] = await bigquery.createDataset(datasetId, {
                ...(location !== undefined ? { location } : {}),
                ...(create.description !== undefined ? { description: create.description } : {}),
                ...(create.labels !== undefined ? { labels: create.labels } : {}),
              });
              return datasetInfo(metadata as Record<string, unknown>);
            } catch (error) {
              if (attempt === 1 || !isStatus(error, 409)) throw error;
              const [metadata] = await dataset(datasetId, location).getMetadata();
              return datasetInfo(metadata as Record<string, unknown>);
            }
          },
          options,
        );
      },

      getDataset(datasetId: string, options?: CallOptions): Promise<DatasetInfo> {
        return ctx.call(
          'getDataset',
          async () => {
            const [metadata] = await dataset(datasetId).getMetadata();
            return datasetInfo(metadata as Record<string, unknown>);
          },
          options,
        );
      },

      /** Deletes a dataset; `deleteContents` also drops its tables. A retry that finds it gone counts as done. */
      deleteDataset(
        datasetId: string,
        remove: { deleteContents?: boolean } = {},
        options?: CallOptions,
      ): Promise<void> {
        return ctx.call(
          'deleteDataset',
          async ({ attempt }) => {
            try {
              await dataset(datasetId).delete({ force: remove.deleteContents === true });
            } catch (error) {
              if (attempt === 1 || !isStatus(error, 404)) throw error;
            }
          },
          options,
        );
      },

      /** Creates a table. A retried attempt that finds it (created by the attempt before) returns it. */
      async createTable(
        datasetId: string,
        tableId: string,
        create: CreateTableOptions,
        options?: CallOptions,
      ): Promise<TableInfo> {
        if (!Array.isArray(create?.schema) || create.schema.length === 0) {
          return refuse('createTable', 'schema must list at least one field', options);
        }
        return ctx.call(
          'createTable',
          async ({ attempt }) => {
            try {
              const [, metadata] = await dataset(datasetId).createTable(tableId, {
                schema: { fields: create.schema as TableField[] },
                ...(create.description !== undefined ? { description: create.description } : {}),
              });
              return tableInfo(metadata as Record<string, unknown>);
            } catch (error) {
              if (attempt === 1 || !isStatus(error, 409)) throw error;
              const [metadata] = await dataset(datasetId).table(tableId).getMetadata();
              return tableInfo(metadata as Record<string, unknown>);
            }
          },
          options,
        );
      },

      getTable(datasetId: string, tableId: string, options?: CallOptions): Promise<TableInfo> {
        return ctx.call(
          'getTable',
          async () => {
            const [metadata] = await dataset(datasetId).table(tableId).getMetadata();
            return tableInfo(metadata as Record<string, unknown>);
          },
          options,
        );
      },
    };
  },
});

export type GcpBigqueryInstance = ConnectorInstanceOf<typeof gcpBigquery>;
