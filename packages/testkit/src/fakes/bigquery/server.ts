import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StandIn } from '../../launchers/process.js';
import { GoogleApiError, invalid } from './errors.js';
import { BigQueryStore, page } from './store.js';

/** One request the fake answered, as the validation tests see it. */
export interface BigQueryExchange {
  method: string;
  /** Path below `/bigquery/v2/`, e.g. `projects/p/queries`. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body, when the request had one. */
  requestBody: unknown;
  status: number;
  /** Parsed JSON body of the response, undefined for 204. */
  responseBody: unknown;
}

export interface BigQueryFakeOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** When set, every request must carry `Authorization: Bearer <accessToken>`; otherwise it gets Google's 401. */
  accessToken?: string;
  /** Location of datasets created without one. Default `US`. */
  defaultLocation?: string;
  /**
   * Every query answers "not complete" for its first reads (see pendingReads), so clients must poll.
   * A jobs.query request with `timeoutMs: 0` behaves this way on its own.
   */
  slowQueries?: boolean;
  /** Reads a slow query answers `jobComplete: false` (the jobs.query response counts as one). Default 2. */
  pendingReads?: number;
  /** How long an accepted insertId suppresses repeats (BigQuery: at least a minute). Default 60 000 ms. */
  dedupeWindowMs?: number;
  /** Wall clock in ms (creation times, the de-duplication window). Default Date.now; tests pass their own. */
  now?: () => number;
  /** Called after every answered request. */
  onExchange?: (exchange: BigQueryExchange) => void;
}

export interface BigQueryFake extends StandIn {
  /** Origin to use as the SDK's `apiEndpoint`, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Datasets, tables, rows and jobs, for assertions (`state.rows(project, dataset, table)`). */
  readonly state: BigQueryStore;
}

type Handler = (
  params: Record<string, string>,
  ctx: { body: Record<string, unknown>; query: URLSearchParams; baseUrl: string },
) => { status?: number; body?: unknown };

interface Route {
  method: string;
  /** The discovery document's path template, below /bigquery/v2/. */
  template: string;
  pattern: RegExp;
  names: string[];
  handle: Handler;
}

function route(method: string, template: string, handle: Handler): Route {
  const names: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, template, pattern: new RegExp(`^${source}$`), names, handle };
}

function buildRoutes(store: BigQueryStore): Route[] {
  const T = 'projects/{projectId}/datasets/{datasetId}/tables/{tableId}';
  return [
    route('GET', 'projects/{projectId}/datasets', ({ projectId }, { query }) => {
      const { items, nextPageToken } = page(store.listDatasets(projectId as string), query);
      const body: Record<string, unknown> = {
        kind: 'bigquery#datasetList',
        etag: Buffer.from(String(items.length)).toString('base64'),
        datasets: items.map((d) => ({
          kind: 'bigquery#dataset',
          id: `${d.projectId}:${d.datasetId}`,
          datasetReference: { datasetId: d.datasetId, projectId: d.projectId },
          location: d.location,
          ...(d.labels ? { labels: d.labels } : {}),
          ...(d.friendlyName ? { friendlyName: d.friendlyName } : {}),
        })),
      };
      if (nextPageToken) body.nextPageToken = nextPageToken;
      return { body };
    }),
    route('POST', 'projects/{projectId}/datasets', ({ projectId }, { body, baseUrl }) => ({
      body: store.datasetResource(store.insertDataset(projectId as string, body), baseUrl),
    })),
    route('GET', 'projects/{projectId}/datasets/{datasetId}', ({ projectId, datasetId }, { baseUrl }) => ({
      body: store.datasetResource(store.getDataset(projectId as string, datasetId as string), baseUrl),
    })),
    route('DELETE', 'projects/{projectId}/datasets/{datasetId}', ({ projectId, datasetId }, { query }) => {
      store.deleteDataset(projectId as string, datasetId as string, query.get('deleteContents') === 'true');
      return { status: 204 };
    }),
    route(
      'POST',
      'projects/{projectId}/datasets/{datasetId}/tables',
      ({ projectId, datasetId }, { body, baseUrl }) => ({
        body: store.tableResource(store.insertTable(projectId as string, datasetId as string, body), baseUrl),
      }),
    ),
    route('GET', T, ({ projectId, datasetId, tableId }, { baseUrl }) => ({
      body: store.tableResource(store.getTable(projectId as string, datasetId as string, tableId as string), baseUrl),
    })),
    route('DELETE', T, ({ projectId, datasetId, tableId }) => {
      store.deleteTable(projectId as string, datasetId as string, tableId as string);
      return { status: 204 };
    }),
    route('POST', `${T}/insertAll`, ({ projectId, datasetId, tableId }, { body }) => ({
      body: store.insertAll(projectId as string, datasetId as string, tableId as string, body),
    })),
    route('GET', `${T}/data`, ({ projectId, datasetId, tableId }, { query }) => ({
      body: store.listTableData(projectId as string, datasetId as string, tableId as string, query),
    })),
    route('POST', 'projects/{projectId}/queries', ({ projectId }, { body }) => ({
      body: store.query(projectId as string, body),
    })),
    route('GET', 'projects/{projectId}/queries/{jobId}', ({ projectId, jobId }, { query }) => ({
      body: store.getQueryResults(projectId as string, jobId as string, query),
    })),
    route('POST', 'projects/{projectId}/jobs', ({ projectId }, { body, baseUrl }) => ({
      body: store.jobResource(store.insertJob(projectId as string, body), baseUrl, false),
    })),
    route('GET', 'projects/{projectId}/jobs/{jobId}', ({ projectId, jobId }, { query, baseUrl }) => ({
      body: store.jobResource(store.getJob(projectId as string, jobId as string, query.get('location')), baseUrl),
    })),
  ];
}

/** Method and path template of every route the fake serves (checked against the discovery document). */
export const FAKE_ROUTES: readonly { method: string; template: string }[] = buildRoutes(
  new BigQueryStore({ defaultLocation: 'US', slowQueries: false, pendingReads: 0, dedupeWindowMs: 0, now: Date.now }),
).map(({ method, template }) => ({ method, template }));

const PREFIX = '/bigquery/v2/';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts an in-memory BigQuery REST v2 fake on 127.0.0.1: datasets, tables, streaming inserts with insertId
 * de-duplication and schema-checked row errors, tabledata paging, and query jobs over a small SQL subset with
 * named parameters. Point `@google-cloud/bigquery` at it with `apiEndpoint: fake.url`.
 */
export async function startBigQueryFake(options: BigQueryFakeOptions = {}): Promise<BigQueryFake> {
  const store = new BigQueryStore({
    defaultLocation: options.defaultLocation ?? 'US',
    slowQueries: options.slowQueries ?? false,
    pendingReads: options.pendingReads ?? 2,
    dedupeWindowMs: options.dedupeWindowMs ?? 60_000,
    now: options.now ?? Date.now,
  });
  const routes = buildRoutes(store);

  const handle = async (req: IncomingMessage, res: ServerResponse, baseUrl: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : url.pathname;
    const method = req.method ?? 'GET';
    const text = await readBody(req);
    let requestBody: unknown;
    let status = 200;
    let responseBody: unknown;
    try {
      if (options.accessToken !== undefined && req.headers.authorization !== `Bearer ${options.accessToken}`) {
        throw new GoogleApiError(
          401,
          'authError',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          'Authorization',
        );
      }
      if (text !== '') {
        try {
          requestBody = JSON.parse(text);
        } catch {
          throw invalid('Invalid JSON payload received.');
        }
      }
      if (!url.pathname.startsWith(PREFIX)) {
        throw new GoogleApiError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server.`);
      }
      const found = routes
        .map((r) => ({ r, m: r.pattern.exec(path) }))
        .filter((x): x is { r: Route; m: RegExpExecArray } => x.m !== null);
      const match = found.find((x) => x.r.method === method);
      if (!match) {
        if (found.length > 0) throw new GoogleApiError(405, 'methodNotAllowed', `Method ${method} is not allowed.`);
        throw new GoogleApiError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server.`);
      }
      const params = Object.fromEntries(match.r.names.map((n, i) => [n, decodeURIComponent(match.m[i + 1] ?? '')]));
      const body = (typeof requestBody === 'object' && requestBody !== null ? requestBody : {}) as Record<
        string,
        unknown
      >;
      const result = match.r.handle(params, { body, query: url.searchParams, baseUrl });
      status = result.status ?? 200;
      responseBody = result.body;
    } catch (error) {
      if (!(error instanceof GoogleApiError)) {
        status = 500;
        responseBody = new GoogleApiError(500, 'internalError', 'An internal error occurred.').toBody();
      } else {
        status = error.status;
        responseBody = error.toBody();
      }
    }
    if (status === 204) {
      res.writeHead(204).end();
    } else {
      const payload = JSON.stringify(responseBody);
      res
        .writeHead(status, {
          'content-type': 'application/json; charset=UTF-8',
          'content-length': Buffer.byteLength(payload),
        })
        .end(payload);
    }
    options.onExchange?.({ method, path, query: url.searchParams, requestBody, status, responseBody });
  };

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  server.on('request', (req, res) => {
    handle(req, res, `${origin}/bigquery/v2`).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : undefined);
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    url: origin,
    state: store,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
