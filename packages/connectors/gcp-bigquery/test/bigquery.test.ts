import { inspect } from 'node:util';
import { type IntegrationEvents, type Registry, validateConfig } from '@integrations/core';
import { createRegistry } from '@integrations/core/registry';
import { createFaultProxy, type FaultProxy, faults } from '@integrations/testkit';
import { type BigQueryExchange, type BigQueryFake, startBigQueryFake } from '@integrations/testkit/fakes/bigquery';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GcpBigqueryInstance, gcpBigquery, PartialInsertError } from '../src/index.js';

const PROJECT = 'local-proj';
const TOKEN = 'ya29.test-token-for-the-fake';

let fake: BigQueryFake;
let proxy: FaultProxy;
let registry: Registry;
let bq: GcpBigqueryInstance;
const exchanges: BigQueryExchange[] = [];
const successes: IntegrationEvents['call:success'][] = [];

beforeAll(async () => {
  // The fake insists on the bearer token, so every test also proves the connector sends it.
  fake = await startBigQueryFake({ accessToken: TOKEN, onExchange: (e) => exchanges.push(e) });
  proxy = await createFaultProxy({ target: fake.url });
  registry = createRegistry();
  registry.events.on('call:success', (e) => successes.push(e));
  bq = registry.register(gcpBigquery, {
    name: 'warehouse',
    config: { projectId: PROJECT, apiEndpoint: proxy.url, auth: 'accessToken', accessToken: TOKEN },
    timeoutMs: 5000,
    retry: { maxAttempts: 3, initialDelayMs: 5 },
    healthCheck: false,
  }) as unknown as GcpBigqueryInstance;
  await registry.enable('warehouse');
  await bq.createDataset('shop', { description: 'test data', labels: { team: 'data' } });
  await bq.createTable('shop', 'orders', {
    schema: [
      { name: 'id', type: 'STRING', mode: 'REQUIRED' },
      { name: 'customer', type: 'STRING' },
      { name: 'qty', type: 'INT64' },
      { name: 'paid', type: 'BOOL' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
    ],
  });
});
afterAll(async () => {
  await registry?.close();
  await proxy?.close();
  await fake?.stop();
});
beforeEach(() => {
  proxy.reset();
  exchanges.length = 0;
  successes.length = 0;
});

const rowsOf = (table: string) => fake.state.rows(PROJECT, 'shop', table);
const insertAlls = () => exchanges.filter((e) => e.path.endsWith('/insertAll'));
/** The insertIds of each insertAll request that reached the fake. */
const sentInsertIds = () =>
  insertAlls().map((e) => (e.requestBody as { rows: { insertId: string }[] }).rows.map((r) => r.insertId));

async function freshTable(tableId: string): Promise<void> {
  await bq.createTable('shop', tableId, {
    schema: [
      { name: 'id', type: 'STRING', mode: 'REQUIRED' },
      { name: 'qty', type: 'INTEGER' },
    ],
  });
}

describe('datasets and tables', () => {
  it('creates and reads back a dataset and a table with its schema', async () => {
    const dataset = await bq.getDataset('shop');
    expect(dataset).toMatchObject({ datasetId: 'shop', projectId: PROJECT, location: 'US', labels: { team: 'data' } });
    const table = await bq.getTable('shop', 'orders');
    expect(table.schema.map((f) => [f.name, f.type, f.mode])).toEqual([
      ['id', 'STRING', 'REQUIRED'],
      ['customer', 'STRING', 'NULLABLE'],
      ['qty', 'INTEGER', 'NULLABLE'],
      ['paid', 'BOOLEAN', 'NULLABLE'],
      ['tags', 'STRING', 'REPEATED'],
    ]);
    await expect(bq.getDataset('nope')).rejects.toMatchObject({ kind: 'not_found', status: 404, code: 'notFound' });
    await expect(bq.createDataset('shop')).rejects.toMatchObject({ kind: 'conflict', status: 409 });
  });

  it('returns the dataset when a retry finds it created by the attempt whose answer was lost', async () => {
    // The fake creates the dataset, then the proxy cuts the answer: the retry gets 409 and reads it instead.
    proxy.script(faults.truncate(5));
    const created = await bq.createDataset('lost_answer');
    expect(created.datasetId).toBe('lost_answer');
    expect(proxy.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'GET']);
    await bq.deleteDataset('lost_answer');
    await expect(bq.getDataset('lost_answer')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('refuses a table without a schema before calling BigQuery', async () => {
    await expect(bq.createTable('shop', 'empty', { schema: [] })).rejects.toMatchObject({ kind: 'invalid_request' });
    expect(proxy.requests).toHaveLength(0);
  });
});

describe('insertRows and query', () => {
  it('inserts rows, then finds them with named parameters', async () => {
    const result = await bq.insertRows('shop', 'orders', [
      { id: 'o1', customer: 'ada', qty: 2, paid: true, tags: ['gift'] },
      { id: 'o2', customer: 'ada', qty: 5, paid: false, tags: [] },
      { id: 'o3', customer: 'bob', qty: 2, paid: true, tags: ['rush', 'gift'] },
    ]);
    expect(result.sent).toBe(3);
    expect(new Set(result.insertIds).size).toBe(3);

    const found = await bq.query<{ id: string; qty: number; tags: string[] }>(
      'SELECT id, qty, tags FROM `shop.orders` WHERE customer = @customer AND paid = @paid',
      { params: { customer: 'ada', paid: true } },
    );
    expect(found.rows).toEqual([{ id: 'o1', qty: 2, tags: ['gift'] }]);
    expect(found.totalRows).toBe(1);
    expect(found.schema.map((f) => f.name)).toEqual(['id', 'qty', 'tags']);
    expect(found.pageToken).toBeUndefined();
    // jobs.query carried the parameters by name.
    const sent = exchanges.find((e) => e.path.endsWith('/queries'))?.requestBody as { parameterMode?: string };
    expect(sent.parameterMode).toBe('named');

    const byQty = await bq.query('SELECT id FROM `shop.orders` WHERE qty = @qty', { params: { qty: 2 } });
    expect(byQty.rows.map((r) => r.id)).toEqual(['o1', 'o3']);
  });

  it('pages a query: maxResults returns the first page, getQueryResults the rest', async () => {
    const first = await bq.query('SELECT id FROM `shop.orders`', { maxResults: 2 });
    expect(first.rows).toHaveLength(2);
    expect(first.totalRows).toBe(3);
    expect(first.pageToken).toBeDefined();
    const rest = await bq.getQueryResults(first.jobId, { pageToken: first.pageToken as string, location: 'US' });
    expect(rest).toMatchObject({ jobComplete: true, pageToken: undefined });
    expect([...first.rows, ...rest.rows].map((r) => r.id)).toEqual(['o1', 'o2', 'o3']);
  });

  it('polls a job that is still running until it completes', async () => {
    const slow = await startBigQueryFake({ slowQueries: true, pendingReads: 3 });
    const local = createRegistry();
    try {
      const polls: string[] = [];
      local.events.on('call:success', (e) => polls.push(e.operation));
      const handle = local.register(gcpBigquery, {
        name: 'slow',
        config: { projectId: PROJECT, apiEndpoint: slow.url, auth: 'none' },
        healthCheck: false,
      }) as unknown as GcpBigqueryInstance;
      await local.enable('slow');
      await handle.createDataset('d');
      await handle.createTable('d', 't', { schema: [{ name: 'x', type: 'STRING' }] });
      await handle.insertRows('d', 't', [{ x: 'one' }, { x: 'two' }]);
      const result = await handle.query('SELECT x FROM `d.t` WHERE x = @x', { params: { x: 'two' } });
      expect(result.rows).toEqual([{ x: 'two' }]);
      // jobs.query and the SDK's own first poll answered "not complete"; the connector polled on.
      expect(polls.filter((op) => op === 'getQueryResults').length).toBeGreaterThanOrEqual(1);

      const asJob = await handle.query('SELECT x FROM `d.t`', {}, { idempotencyKey: 'report-2024-05' });
      expect(asJob.rows).toHaveLength(2);
      expect(asJob.jobId).toMatch(/^idem_/);
    } finally {
      await local.close();
      await slow.stop();
    }
  });

  it('runs a query with an idempotency key once, even when the answer to the job insert is lost', async () => {
    proxy.script(faults.truncate(5));
    const result = await bq.query(
      'SELECT id FROM `shop.orders` WHERE id = @id',
      { params: { id: 'o2' } },
      {
        idempotencyKey: 'nightly-o2',
      },
    );
    expect(result.rows).toEqual([{ id: 'o2' }]);
    const inserts = exchanges.filter((e) => e.method === 'POST' && e.path.endsWith('/jobs'));
    expect(inserts.map((e) => e.status)).toEqual([200, 409]);
    expect([...fake.state.jobs.values()].filter((j) => j.jobId === result.jobId)).toHaveLength(1);
  });

  it('maps query errors to kinds, without retrying a query that has no idempotency key', async () => {
    await expect(bq.query('SELECT nope FROM `shop.orders`')).rejects.toMatchObject({
      kind: 'invalid_request',
      code: 'invalidQuery',
      operation: 'query',
    });
    await expect(bq.query('SELECT id FROM `shop.missing`')).rejects.toMatchObject({ kind: 'not_found' });
    proxy.reset();
    proxy.script(faults.status(503));
    await expect(bq.query('SELECT id FROM `shop.orders`')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(proxy.requests).toHaveLength(1);
  });
});

describe('streaming inserts: no duplicates', () => {
  it('sends the same rows twice with the same insertIds and BigQuery keeps one copy', async () => {
    await freshTable('dedupe');
    const rows = [
      { id: 'a', qty: 1 },
      { id: 'a', qty: 1 },
      { id: 'b', qty: 2 },
    ];
    const first = await bq.insertRows('shop', 'dedupe', rows, {}, { idempotencyKey: 'batch-7' });
    const again = await bq.insertRows('shop', 'dedupe', rows, {}, { idempotencyKey: 'batch-7' });
    expect(again.insertIds).toEqual(first.insertIds);
    // Identical rows at different positions are different rows: both land, once each.
    expect(rowsOf('dedupe')).toEqual([
      { id: 'a', qty: 1 },
      { id: 'a', qty: 1 },
      { id: 'b', qty: 2 },
    ]);
    // Without a key each call is a new batch: the same content is new rows.
    await bq.insertRows('shop', 'dedupe', [{ id: 'c', qty: 3 }]);
    await bq.insertRows('shop', 'dedupe', [{ id: 'c', qty: 3 }]);
    expect(rowsOf('dedupe').filter((r) => r.id === 'c')).toHaveLength(2);
  });

  it('uses a key field as the insertId, so repeats across calls are dropped', async () => {
    await freshTable('keyed');
    const result = await bq.insertRows('shop', 'keyed', [{ id: 'k1', qty: 1 }], { insertIdField: 'id' });
    expect(result.insertIds).toEqual(['k1']);
    await bq.insertRows(
      'shop',
      'keyed',
      [
        { id: 'k1', qty: 1 },
        { id: 'k2', qty: 2 },
      ],
      { insertIdField: 'id' },
    );
    expect(rowsOf('keyed').map((r) => r.id)).toEqual(['k1', 'k2']);
    await expect(
      bq.insertRows('shop', 'keyed', [{ id: 'k3' }, { qty: 4 }], { insertIdField: 'id' }),
    ).rejects.toMatchObject({ kind: 'invalid_request', message: expect.stringMatching(/rows\[1\]\.id/) });
  });

  it('retries a 503 on insertAll with the same insertIds', async () => {
    await freshTable('retry503');
    proxy.script(faults.status(503));
    const result = await bq.insertRows('shop', 'retry503', [
      { id: 'r1', qty: 1 },
      { id: 'r2', qty: 2 },
    ]);
    expect(proxy.requests.filter((r) => r.path.includes('/insertAll'))).toHaveLength(2);
    expect(rowsOf('retry503')).toHaveLength(2);
    expect(sentInsertIds()).toEqual([result.insertIds]);
  });

  it('retries when the rows landed but the answer was lost, and BigQuery drops the repeat', async () => {
    await freshTable('lost');
    proxy.script(faults.truncate(5));
    const result = await bq.insertRows('shop', 'lost', [
      { id: 'l1', qty: 1 },
      { id: 'l2', qty: 2 },
    ]);
    expect(sentInsertIds()).toEqual([result.insertIds, result.insertIds]);
    expect(rowsOf('lost')).toEqual([
      { id: 'l1', qty: 1 },
      { id: 'l2', qty: 2 },
    ]);
  });
});

describe('streaming inserts: partial failure', () => {
  it('raises a PartialInsertError listing exactly the rejected rows', async () => {
    await freshTable('partial');
    const error = await bq
      .insertRows('shop', 'partial', [
        { id: 'p0', qty: 1 },
        { id: 'p1', qty: 'lots' },
        { id: 'p2', qty: 3 },
        { qty: 4 },
      ])
      .catch((e: unknown) => e);
    expect(PartialInsertError.isInstance(error)).toBe(true);
    const partial = error as PartialInsertError;
    expect(partial).toMatchObject({
      kind: 'invalid_request',
      code: 'partial_failure',
      operation: 'insertRows',
      retryable: false,
    });
    expect(partial.failedRows.map((r) => [r.index, r.errors.map((e) => [e.reason, e.location])])).toEqual([
      [1, [['invalid', 'qty']]],
      [3, [['invalid', 'id']]],
    ]);
    const [sent = []] = sentInsertIds();
    expect(partial.failedRows.map((r) => r.insertId)).toEqual([sent[1], sent[3]]);
    expect(partial.stoppedRows).toEqual([0, 2]);
    expect(partial.message).toMatch(/rejected 2 row\(s\) \(1, 3\)/);
    // Not retried: the same rows would fail the same way.
    expect(insertAlls()).toHaveLength(1);
    expect(rowsOf('partial')).toEqual([]);
  });

  it('writes the valid rows with skipInvalidRows and lists only the rejected one', async () => {
    await freshTable('skip');
    const error = (await bq
      .insertRows('shop', 'skip', [{ id: 's0', qty: 1 }, { id: 's1', qty: 1.5 }, { id: 's2' }], {
        skipInvalidRows: true,
      })
      .catch((e: unknown) => e)) as PartialInsertError;
    expect(error.failedRows.map((r) => r.index)).toEqual([1]);
    expect(error.stoppedRows).toEqual([]);
    expect(rowsOf('skip').map((r) => r.id)).toEqual(['s0', 's2']);
  });
});

describe('readRows', () => {
  it('iterates a table page by page, each page one call', async () => {
    await freshTable('paged');
    await bq.insertRows(
      'shop',
      'paged',
      Array.from({ length: 7 }, (_, i) => ({ id: `row${i}`, qty: i })),
    );
    successes.length = 0;
    const pages: { ids: unknown[]; totalRows: number }[] = [];
    for await (const page of bq.readRows('shop', 'paged', { pageSize: 3 })) {
      pages.push({ ids: page.rows.map((r) => r.id), totalRows: page.totalRows });
    }
    expect(pages).toEqual([
      { ids: ['row0', 'row1', 'row2'], totalRows: 7 },
      { ids: ['row3', 'row4', 'row5'], totalRows: 7 },
      { ids: ['row6'], totalRows: 7 },
    ]);
    expect(successes.filter((e) => e.operation === 'readRows')).toHaveLength(3);
  });

  it('refuses a bad page size as a failed call, before any request', async () => {
    const pages = bq.readRows('shop', 'paged', { pageSize: 0 })[Symbol.asyncIterator]();
    await expect(pages.next()).rejects.toMatchObject({
      kind: 'invalid_request',
      operation: 'readRows',
      integration: 'warehouse',
      message: expect.stringMatching(/pageSize/),
    });
    expect(proxy.requests).toHaveLength(0);
  });

  it('retries a failed page without restarting the iteration', async () => {
    const ids: unknown[] = [];
    let pagesSeen = 0;
    for await (const page of bq.readRows('shop', 'paged', { pageSize: 4, selectedFields: ['id'] })) {
      ids.push(...page.rows.map((r) => r.id));
      if (pagesSeen++ === 0) proxy.script(faults.reset());
    }
    expect(ids).toEqual(['row0', 'row1', 'row2', 'row3', 'row4', 'row5', 'row6']);
    expect(proxy.requests.filter((r) => r.fault === 'reset')).toHaveLength(1);
  });
});

describe('config and secrets', () => {
  const base = { projectId: PROJECT };
  const issuesOf = async (config: unknown) =>
    validateConfig(gcpBigquery, config).then(
      () => [],
      (error: { issues: { path: string }[] }) => error.issues.map((i) => i.path),
    );

  it('ties each auth mode to its credential', async () => {
    expect(await issuesOf({ ...base, auth: 'serviceAccount' })).toEqual(['credentials']);
    expect(await issuesOf({ ...base, auth: 'keyFile' })).toEqual(['keyFilename']);
    expect(await issuesOf({ ...base, auth: 'accessToken' })).toEqual(['accessToken']);
    expect(await issuesOf({ ...base, accessToken: 'stray-token' })).toEqual(['accessToken']);
    expect(await issuesOf({ ...base, auth: 'none' })).toEqual(['auth']);
    expect(await issuesOf({ ...base, auth: 'none', apiEndpoint: 'http://127.0.0.1:9050' })).toEqual([]);
    expect(await issuesOf({ ...base, auth: 'serviceAccount', credentials: { clientEmail: 'a@b.iam' } })).toEqual([
      'credentials.privateKey',
    ]);
    expect(await issuesOf({ projectId: 'Bad_Project' })).toEqual(['projectId']);
    expect(gcpBigquery.secrets).toEqual(['credentials.privateKey', 'accessToken']);
  });

  it('keeps the access token out of errors, including the SDK error kept as the cause', async () => {
    proxy.script(faults.status(401));
    const error = await bq.getDataset('shop').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'auth', status: 401 });
    expect(inspect(error, { depth: 12 })).not.toContain(TOKEN.slice(5));
  });
});
