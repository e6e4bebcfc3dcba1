/**
 * The fake's state: datasets, tables (schema, rows, recent insertIds) and query jobs, with BigQuery's semantics
 * for each REST method. Responses are plain objects in the shapes of the discovery document's schemas.
 */
import { randomUUID } from 'node:crypto';
import { duplicate, GoogleApiError, invalid, invalidQuery, notFound } from './errors.js';
import { type Condition, parseSelect, type QueryParameter, resolveOperand } from './sql.js';
import {
  CellError,
  type CellFormat,
  convertRow,
  decodeRow,
  encodeRow,
  type FieldSchema,
  normalizeSchema,
  type StoredRow,
} from './values.js';

export interface FakeDataset {
  projectId: string;
  datasetId: string;
  location: string;
  description: string | undefined;
  friendlyName: string | undefined;
  labels: Record<string, string> | undefined;
  creationTime: number;
  tables: Map<string, FakeTable>;
}

export interface FakeTable {
  dataset: FakeDataset;
  tableId: string;
  schema: FieldSchema[];
  description: string | undefined;
  creationTime: number;
  lastModifiedTime: number;
  rows: StoredRow[];
  /** insertId → when it was accepted (ms), for best-effort de-duplication. */
  insertIds: Map<string, number>;
}

interface QueryResult {
  schema: FieldSchema[];
  rows: StoredRow[];
}

export interface FakeJob {
  projectId: string;
  jobId: string;
  location: string;
  configuration: Record<string, unknown>;
  creationTime: number;
  /** Reads (responses or polls) still to answer "not complete". */
  pendingReads: number;
  result: QueryResult | undefined;
  error: GoogleApiError | undefined;
  endTime: number | undefined;
}

export interface StoreOptions {
  /** Location of datasets created without one. Default `US`. */
  defaultLocation: string;
  /** Every query stays incomplete for its first reads. */
  slowQueries: boolean;
  /** How many reads a slow query answers "not complete" before it is done. */
  pendingReads: number;
  /** How long an accepted insertId suppresses a repeat. */
  dedupeWindowMs: number;
  now: () => number;
}

interface InsertAllRow {
  insertId?: unknown;
  json?: unknown;
}

function pageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function readPageToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through to the error below
  }
  throw invalid(`Invalid page token: ${token}`, 'pageToken');
}

/** The slice a list request asks for: pageToken or startIndex, then maxResults. */
export function page<T>(
  items: readonly T[],
  query: URLSearchParams | Record<string, unknown>,
): { items: T[]; nextPageToken: string | undefined } {
  const get = (name: string) =>
    query instanceof URLSearchParams ? (query.get(name) ?? undefined) : (query[name] as string | number | undefined);
  const token = get('pageToken');
  const start = token !== undefined ? readPageToken(String(token)) : Number(get('startIndex') ?? 0);
  const max = get('maxResults');
  const size = max === undefined ? items.length : Number(max);
  if (!Number.isInteger(start) || start < 0) throw invalid('Invalid startIndex', 'startIndex');
  if (!Number.isInteger(size) || size < 0) throw invalid('Invalid maxResults', 'maxResults');
  const end = Math.min(items.length, start + (size === 0 ? items.length : size));
  return { items: items.slice(start, end), nextPageToken: end < items.length ? pageToken(end) : undefined };
}

/** A parameter value as BigQuery reports it back: scalars as strings, whatever JSON type the client sent. */
function canonicalParameterValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as { value?: unknown; arrayValues?: unknown[]; structValues?: Record<string, unknown> };
  const out: Record<string, unknown> = { ...v };
  if (v.value !== undefined && v.value !== null) out.value = String(v.value);
  if (Array.isArray(v.arrayValues)) out.arrayValues = v.arrayValues.map(canonicalParameterValue);
  if (v.structValues) {
    out.structValues = Object.fromEntries(
      Object.entries(v.structValues).map(([k, x]) => [k, canonicalParameterValue(x)]),
    );
  }
  return out;
}

function canonicalConfiguration(configuration: Record<string, unknown>): Record<string, unknown> {
  const query = configuration.query as { queryParameters?: unknown } | undefined;
  if (!query || !Array.isArray(query.queryParameters)) return configuration;
  const queryParameters = (query.queryParameters as { parameterValue?: unknown }[]).map((p) => ({
    ...p,
    ...(p.parameterValue !== undefined ? { parameterValue: canonicalParameterValue(p.parameterValue) } : {}),
  }));
  return { ...configuration, query: { ...query, queryParameters } };
}

const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE_ID = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u;
const JOB_ID = /^[A-Za-z0-9_-]{1,1024}$/;

export class BigQueryStore {
  readonly datasets = new Map<string, FakeDataset>();
  readonly jobs = new Map<string, FakeJob>();
  private readonly options: StoreOptions;

  constructor(options: StoreOptions) {
    this.options = options;
  }

  private key(projectId: string, id: string): string {
    return `${projectId}:${id}`;
  }

  // ---- datasets ----------------------------------------------------------------------------------------------

  getDataset(projectId: string, datasetId: string): FakeDataset {
    const dataset = this.datasets.get(this.key(projectId, datasetId));
    if (!dataset) throw notFound(`Dataset ${projectId}:${datasetId}`);
    return dataset;
  }

  insertDataset(projectId: string, body: Record<string, unknown>): FakeDataset {
    const ref = (body.datasetReference ?? {}) as { datasetId?: unknown; projectId?: unknown };
    const datasetId = ref.datasetId;
    if (typeof datasetId !== 'string' || !DATASET_ID.test(datasetId)) {
      throw invalid(
        `Invalid dataset ID "${String(datasetId)}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`,
        'datasetReference.datasetId',
      );
    }
    if (ref.projectId !== undefined && ref.projectId !== projectId) {
      throw invalid('The project ID in the dataset reference does not match the project in the request path.');
    }
    if (this.datasets.has(this.key(projectId, datasetId))) throw duplicate(`Dataset ${projectId}:${datasetId}`);
    const now = this.options.now();
    const dataset: FakeDataset = {
      projectId,
      datasetId,
      location: typeof body.location === 'string' && body.location ? body.location : this.options.defaultLocation,
      description: typeof body.description === 'string' ? body.description : undefined,
      friendlyName: typeof body.friendlyName === 'string' ? body.friendlyName : undefined,
      labels:
        typeof body.labels === 'object' && body.labels !== null ? (body.labels as Record<string, string>) : undefined,
      creationTime: now,
      tables: new Map(),
    };
    this.datasets.set(this.key(projectId, datasetId), dataset);
    return dataset;
  }

  deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): void {
    const dataset = this.getDataset(projectId, datasetId);
    if (dataset.tables.size > 0 && !deleteContents) {
      throw new GoogleApiError(400, 'resourceInUse', `Dataset ${projectId}:${datasetId} is still in use`);
    }
    this.datasets.delete(this.key(projectId, datasetId));
  }

  listDatasets(projectId: string): FakeDataset[] {
    return [...this.datasets.values()]
      .filter((d) => d.projectId === projectId)
      .sort((a, b) => a.datasetId.localeCompare(b.datasetId));
  }

  datasetResource(d: FakeDataset, baseUrl: string): Record<string, unknown> {
    const out: Record<string, unknown> = {
      kind: 'bigquery#dataset',
      etag: Buffer.from(`${d.projectId}:${d.datasetId}:${d.creationTime}`).toString('base64'),
      id: `${d.projectId}:${d.datasetId}`,
      selfLink: `${baseUrl}/projects/${d.projectId}/datasets/${d.datasetId}`,
      datasetReference: { datasetId: d.datasetId, projectId: d.projectId },
      location: d.location,
      creationTime: String(d.creationTime),
      lastModifiedTime: String(d.creationTime),
    };
    if (d.description !== undefined) out.description = d.description;
    if (d.friendlyName !== undefined) out.friendlyName = d.friendlyName;
    if (d.labels !== undefined) out.labels = d.labels;
    return out;
  }

  // ---- tables ------------------------------------------------------------------------------------------------

  getTable(projectId: string, datasetId: string, tableId: string): FakeTable {
    const dataset = this.getDataset(projectId, datasetId);
    const table = dataset.tables.get(tableId);
    if (!table) throw notFound(`Table ${projectId}:${datasetId}.${tableId}`);
    return table;
  }

  insertTable(projectId: string, datasetId: string, body: Record<string, unknown>): FakeTable {
    const dataset = this.getDataset(projectId, datasetId);
    const ref = (body.tableReference ?? {}) as { tableId?: unknown; datasetId?: unknown; projectId?: unknown };
    const tableId = ref.tableId;
    if (typeof tableId !== 'string' || !TABLE_ID.test(tableId)) {
      throw invalid(`Invalid table ID "${String(tableId)}".`, 'tableReference.tableId');
    }
    if ((ref.datasetId !== undefined && ref.datasetId !== datasetId) || (ref.projectId ?? projectId) !== projectId) {
      throw invalid('The table reference does not match the dataset in the request path.');
    }
    if (dataset.tables.has(tableId)) throw duplicate(`Table ${projectId}:${datasetId}.${tableId}`);
    const schemaBody = body.schema as { fields?: unknown } | undefined;
    const schema = schemaBody === undefined ? [] : normalizeSchema(schemaBody.fields ?? []);
    const now = this.options.now();
    const table: FakeTable = {
      dataset,
      tableId,
      schema,
      description: typeof body.description === 'string' ? body.description : undefined,
      creationTime: now,
      lastModifiedTime: now,
      rows: [],
      insertIds: new Map(),
    };
    dataset.tables.set(tableId, table);
    return table;
  }

  deleteTable(projectId: string, datasetId: string, tableId: string): void {
    this.getTable(projectId, datasetId, tableId);
    this.getDataset(projectId, datasetId).tables.delete(tableId);
  }

  tableResource(t: FakeTable, baseUrl: string): Record<string, unknown> {
    const { projectId, datasetId, location } = t.dataset;
    const out: Record<string, unknown> = {
      kind: 'bigquery#table',
      etag: Buffer.from(`${projectId}:${datasetId}.${t.tableId}:${t.lastModifiedTime}`).toString('base64'),
      id: `${projectId}:${datasetId}.${t.tableId}`,
      selfLink: `${baseUrl}/projects/${projectId}/datasets/${datasetId}/tables/${t.tableId}`,
      tableReference: { projectId, datasetId, tableId: t.tableId },
      schema: { fields: t.schema },
      numRows: String(t.rows.length),
      numBytes: String(Buffer.byteLength(JSON.stringify(t.rows))),
      creationTime: String(t.creationTime),
      lastModifiedTime: String(t.lastModifiedTime),
      type: 'TABLE',
      location,
    };
    if (t.description !== undefined) out.description = t.description;
    return out;
  }

  // ---- tabledata ---------------------------------------------------------------------------------------------

  /**
   * tabledata.insertAll: rows whose insertId was accepted within the window are dropped silently (BigQuery's
   * best-effort de-duplication). A row that does not fit the schema fails with reason `invalid`; unless
   * skipInvalidRows is set, nothing is written and every other row fails with reason `stopped`.
   */
  insertAll(projectId: string, datasetId: string, tableId: string, body: Record<string, unknown>) {
    const table = this.getTable(projectId, datasetId, tableId);
    if (!Array.isArray(body.rows)) throw invalid('No rows present in the request.', 'rows');
    if (body.templateSuffix !== undefined) {
      throw invalid('templateSuffix is not supported by this BigQuery fake.', 'templateSuffix');
    }
    const ignoreUnknown = body.ignoreUnknownValues === true;
    const skipInvalid = body.skipInvalidRows === true;
    const now = this.options.now();
    for (const [id, at] of table.insertIds) {
      if (now - at > this.options.dedupeWindowMs) table.insertIds.delete(id);
    }

    const accepted: { row: StoredRow; insertId: string | undefined }[] = [];
    const insertErrors: { index: number; errors: Record<string, string>[] }[] = [];
    const seenInRequest = new Set<string>();
    (body.rows as InsertAllRow[]).forEach((raw, index) => {
      const insertId = typeof raw?.insertId === 'string' && raw.insertId !== '' ? raw.insertId : undefined;
      try {
        const row = convertRow(table.schema, raw?.json, ignoreUnknown);
        if (insertId !== undefined && (table.insertIds.has(insertId) || seenInRequest.has(insertId))) return;
        if (insertId !== undefined) seenInRequest.add(insertId);
        accepted.push({ row, insertId });
      } catch (error) {
        if (!(error instanceof CellError)) throw error;
        insertErrors.push({
          index,
          errors: [{ reason: 'invalid', location: error.location, debugInfo: '', message: error.message }],
        });
      }
    });

    if (insertErrors.length > 0 && !skipInvalid) {
      const failed = new Set(insertErrors.map((e) => e.index));
      (body.rows as unknown[]).forEach((_, index) => {
        if (!failed.has(index)) {
          insertErrors.push({ index, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] });
        }
      });
      insertErrors.sort((a, b) => a.index - b.index);
      return { kind: 'bigquery#tableDataInsertAllResponse', insertErrors };
    }
    for (const { row, insertId } of accepted) {
      table.rows.push(row);
      if (insertId !== undefined) table.insertIds.set(insertId, now);
    }
    if (accepted.length > 0) table.lastModifiedTime = now;
    return insertErrors.length > 0
      ? { kind: 'bigquery#tableDataInsertAllResponse', insertErrors }
      : { kind: 'bigquery#tableDataInsertAllResponse' };
  }

  listTableData(projectId: string, datasetId: string, tableId: string, query: URLSearchParams) {
    const table = this.getTable(projectId, datasetId, tableId);
    let fields = table.schema;
    const selected = query.get('selectedFields');
    if (selected) {
      const names = selected.split(',').map((s) => s.trim().toLowerCase());
      fields = table.schema.filter((f) => names.includes(f.name.toLowerCase()));
    }
    const { items, nextPageToken } = page(table.rows, query);
    const format: CellFormat = { int64Timestamp: query.get('formatOptions.useInt64Timestamp') === 'true' };
    const out: Record<string, unknown> = {
      kind: 'bigquery#tableDataList',
      etag: Buffer.from(`${tableId}:${table.lastModifiedTime}`).toString('base64'),
      totalRows: String(table.rows.length),
    };
    if (items.length > 0) out.rows = items.map((row) => encodeRow(fields, row, format));
    if (nextPageToken) out.pageToken = nextPageToken;
    return out;
  }

  /** Rows of a table as plain JSON, for assertions. */
  rows(projectId: string, datasetId: string, tableId: string): Record<string, unknown>[] {
    const table = this.getTable(projectId, datasetId, tableId);
    return table.rows.map((row) => decodeRow(table.schema, row));
  }

  // ---- queries -----------------------------------------------------------------------------------------------

  private runQuery(
    projectId: string,
    location: string | undefined,
    config: {
      query?: unknown;
      useLegacySql?: unknown;
      queryParameters?: unknown;
      parameterMode?: unknown;
      defaultDataset?: unknown;
    },
  ): { result: QueryResult; location: string } {
    if (typeof config.query !== 'string' || config.query.trim() === '') throw invalid('Missing query', 'query');
    if (config.useLegacySql !== false) {
      throw invalidQuery('This BigQuery fake runs GoogleSQL only: set useLegacySql to false.');
    }
    const statement = parseSelect(config.query);
    const params = new Map<string, QueryParameter>();
    if (Array.isArray(config.queryParameters) && config.queryParameters.length > 0) {
      if (config.parameterMode !== undefined && String(config.parameterMode).toUpperCase() !== 'NAMED') {
        throw invalidQuery('This BigQuery fake supports named query parameters only.');
      }
      for (const p of config.queryParameters as QueryParameter[]) {
        if (typeof p?.name !== 'string') throw invalidQuery('Query parameters must be named');
        params.set(p.name.toLowerCase(), p);
      }
    }
    const defaults = (config.defaultDataset ?? {}) as { datasetId?: string; projectId?: string };
    const tableProject = statement.table.projectId ?? defaults.projectId ?? projectId;
    const datasetId = statement.table.datasetId ?? defaults.datasetId;
    if (datasetId === undefined) {
      throw invalidQuery(`Table "${statement.table.tableId}" must be qualified with a dataset (e.g. dataset.table).`);
    }
    const dataset = this.datasets.get(this.key(tableProject, datasetId));
    if (!dataset || (location !== undefined && location.toUpperCase() !== dataset.location.toUpperCase())) {
      throw notFound(`Dataset ${tableProject}:${datasetId} was not found in location ${location ?? 'US'}`);
    }
    const table = dataset.tables.get(statement.table.tableId);
    if (!table) {
      throw notFound(
        `Table ${tableProject}:${datasetId}.${statement.table.tableId} was not found in location ${dataset.location}`,
      );
    }
    const fieldOf = (name: string): FieldSchema => {
      const field = table.schema.find((f) => f.name.toLowerCase() === name.toLowerCase());
      if (!field) throw invalidQuery(`Unrecognized name: ${name}`);
      return field;
    };
    const fields = statement.columns === '*' ? table.schema : statement.columns.map(fieldOf);
    const conditions = statement.where.map((c: Condition) => {
      const field = fieldOf(c.column);
      return { field, value: resolveOperand(c, field, params) };
    });
    const numeric = (type: string) => ['INTEGER', 'FLOAT', 'NUMERIC', 'BIGNUMERIC'].includes(type);
    let rows = table.rows.filter((row) =>
      conditions.every(({ field, value }) => {
        const stored = row[field.name];
        if (value === null || stored === null || stored === undefined) return false;
        return numeric(field.type) ? Number(stored) === Number(value) : stored === value;
      }),
    );
    if (statement.limit !== undefined) rows = rows.slice(0, statement.limit);
    const projected = rows.map((row) => Object.fromEntries(fields.map((f) => [f.name, row[f.name] ?? null])));
    return { result: { schema: fields, rows: projected }, location: dataset.location };
  }

  private createJob(
    projectId: string,
    jobId: string,
    location: string | undefined,
    configuration: Record<string, unknown>,
    slow: boolean,
    failFast: boolean,
  ): FakeJob {
    const now = this.options.now();
    const job: FakeJob = {
      projectId,
      jobId,
      location: location ?? this.options.defaultLocation,
      configuration: canonicalConfiguration(configuration),
      creationTime: now,
      pendingReads: slow || this.options.slowQueries ? this.options.pendingReads : 0,
      result: undefined,
      error: undefined,
      endTime: undefined,
    };
    const query = (configuration.query ?? {}) as Record<string, unknown>;
    try {
      const run = this.runQuery(projectId, location, query);
      job.result = run.result;
      job.location = location ?? run.location;
    } catch (error) {
      if (failFast || !(error instanceof GoogleApiError)) throw error;
      job.error = error;
    }
    job.endTime = now;
    this.jobs.set(this.key(projectId, jobId), job);
    return job;
  }

  getJob(projectId: string, jobId: string, location: string | null): FakeJob {
    const job = this.jobs.get(this.key(projectId, jobId));
    if (!job || (location !== null && location.toUpperCase() !== job.location.toUpperCase())) {
      throw notFound(`Job ${projectId}:${location ?? 'US'}.${jobId}`);
    }
    return job;
  }

  /** Reads the job's state once: a slow job answers "not complete" for its first reads. */
  private isComplete(job: FakeJob): boolean {
    if (job.pendingReads > 0) {
      job.pendingReads--;
      return false;
    }
    return true;
  }

  private jobReference(job: FakeJob) {
    return { projectId: job.projectId, jobId: job.jobId, location: job.location };
  }

  /** jobs.query: runs the query; `timeoutMs: 0` (or the fake's slowQueries) answers before it completes. */
  query(projectId: string, body: Record<string, unknown>) {
    if (body.dryRun === true) throw invalidQuery('dryRun is not supported by this BigQuery fake.');
    const location = typeof body.location === 'string' ? body.location : undefined;
    const configuration = {
      jobType: 'QUERY',
      query: {
        query: body.query,
        useLegacySql: body.useLegacySql,
        ...(body.queryParameters !== undefined ? { queryParameters: body.queryParameters } : {}),
        ...(body.parameterMode !== undefined ? { parameterMode: body.parameterMode } : {}),
        ...(body.defaultDataset !== undefined ? { defaultDataset: body.defaultDataset } : {}),
      },
    };
    // jobs.query reports an invalid query in its own response, as BigQuery does.
    const jobId = `job_${randomUUID().replace(/-/g, '')}`;
    const job = this.createJob(projectId, jobId, location, configuration, body.timeoutMs === 0, true);
    const format: CellFormat = {
      int64Timestamp: (body.formatOptions as { useInt64Timestamp?: unknown } | undefined)?.useInt64Timestamp === true,
    };
    if (!this.isComplete(job)) {
      return { kind: 'bigquery#queryResponse', jobReference: this.jobReference(job), jobComplete: false };
    }
    return {
      kind: 'bigquery#queryResponse',
      ...this.resultPage(job, { maxResults: body.maxResults }, format),
    };
  }

  private resultPage(job: FakeJob, query: URLSearchParams | Record<string, unknown>, format: CellFormat) {
    const result = job.result as QueryResult;
    const { items, nextPageToken } = page(result.rows, query);
    const out: Record<string, unknown> = {
      schema: { fields: result.schema },
      jobReference: this.jobReference(job),
      totalRows: String(result.rows.length),
      rows: items.map((row) => encodeRow(result.schema, row, format)),
      totalBytesProcessed: '0',
      jobComplete: true,
      cacheHit: false,
    };
    if (nextPageToken) out.pageToken = nextPageToken;
    return out;
  }

  /** jobs.getQueryResults. */
  getQueryResults(projectId: string, jobId: string, query: URLSearchParams) {
    const job = this.getJob(projectId, jobId, query.get('location'));
    if (job.error) throw job.error;
    if (!this.isComplete(job)) {
      return { kind: 'bigquery#getQueryResultsResponse', jobReference: this.jobReference(job), jobComplete: false };
    }
    const format: CellFormat = { int64Timestamp: query.get('formatOptions.useInt64Timestamp') === 'true' };
    return {
      kind: 'bigquery#getQueryResultsResponse',
      etag: Buffer.from(job.jobId).toString('base64'),
      ...this.resultPage(job, query, format),
    };
  }

  /** jobs.insert (query jobs only). A query that fails still creates the job; the job reports the error. */
  insertJob(projectId: string, body: Record<string, unknown>): FakeJob {
    const ref = (body.jobReference ?? {}) as { jobId?: unknown; location?: unknown; projectId?: unknown };
    const jobId = ref.jobId === undefined ? `job_${randomUUID().replace(/-/g, '')}` : ref.jobId;
    if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) {
      throw invalid(`Invalid job ID "${String(jobId)}".`, 'jobReference.jobId');
    }
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    if (typeof configuration.query !== 'object' || configuration.query === null) {
      throw invalid('This BigQuery fake runs query jobs only: configuration.query is required.', 'configuration');
    }
    if (configuration.dryRun === true) throw invalidQuery('dryRun is not supported by this BigQuery fake.');
    if (this.jobs.has(this.key(projectId, jobId))) {
      const existing = this.jobs.get(this.key(projectId, jobId)) as FakeJob;
      throw duplicate(`Job ${projectId}:${existing.location}.${jobId}`);
    }
    const location = typeof ref.location === 'string' ? ref.location : undefined;
    return this.createJob(projectId, jobId, location, { ...configuration, jobType: 'QUERY' }, false, false);
  }

  jobResource(job: FakeJob, baseUrl: string, read = true): Record<string, unknown> {
    const done = read ? this.isComplete(job) : job.pendingReads === 0;
    const status: Record<string, unknown> = { state: done ? 'DONE' : 'RUNNING' };
    if (done && job.error) {
      const item = job.error.toBody().error.errors[0];
      status.errorResult = item;
      status.errors = [item];
    }
    const statistics: Record<string, unknown> = {
      creationTime: String(job.creationTime),
      startTime: String(job.creationTime),
    };
    if (done) {
      statistics.endTime = String(job.endTime ?? job.creationTime);
      statistics.totalBytesProcessed = '0';
      statistics.query = {
        totalBytesProcessed: '0',
        cacheHit: false,
        statementType: 'SELECT',
        ...(job.result ? { schema: { fields: job.result.schema } } : {}),
      };
    }
    return {
      kind: 'bigquery#job',
      etag: Buffer.from(`${job.jobId}:${status.state as string}`).toString('base64'),
      id: `${job.projectId}:${job.location}.${job.jobId}`,
      selfLink: `${baseUrl}/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
      user_email: 'fake@local.test',
      configuration: job.configuration,
      jobReference: this.jobReference(job),
      statistics,
      status,
    };
  }
}
