import { BigQuery, type Table } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BigQueryFake, startBigQueryFake } from '../../src/fakes/bigquery/index.js';

/** BigQuery's behaviour as the fake reproduces it, driven through the real SDK. */

const PROJECT = 'local-proj';
let clock = 1_700_000_000_000;
let fake: BigQueryFake;
let bigquery: BigQuery;
let table: Table;

const insert = (rows: { insertId?: string; json: Record<string, unknown> }[], options: Record<string, unknown> = {}) =>
  table.insert(rows, { raw: true, partialRetries: 0, ...options });

beforeAll(async () => {
  fake = await startBigQueryFake({ dedupeWindowMs: 60_000, now: () => clock });
  bigquery = new BigQuery({
    projectId: PROJECT,
    apiEndpoint: fake.url,
    authClient: new PassThroughClient(),
    retryOptions: { autoRetry: false },
  });
  const [dataset] = await bigquery.createDataset('events', { location: 'EU' });
  [table] = await dataset.createTable('clicks', {
    schema: {
      fields: [
        { name: 'id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'n', type: 'INTEGER' },
        { name: 'score', type: 'FLOAT' },
        { name: 'day', type: 'DATE' },
        { name: 'meta', type: 'JSON' },
      ],
    },
  });
});
afterAll(async () => {
  await fake?.stop();
});

describe('BigQuery fake: streaming inserts', () => {
  it('drops rows whose insertId it accepted within the window, and accepts them again after it', async () => {
    await insert([
      { insertId: 'k1', json: { id: 'a', n: 1 } },
      { insertId: 'k1', json: { id: 'a', n: 1 } },
    ]);
    await insert([{ insertId: 'k1', json: { id: 'a', n: 1 } }]);
    expect(fake.state.rows(PROJECT, 'events', 'clicks').filter((r) => r.id === 'a')).toHaveLength(1);
    clock += 60_001;
    await insert([{ insertId: 'k1', json: { id: 'a', n: 1 } }]);
    expect(fake.state.rows(PROJECT, 'events', 'clicks').filter((r) => r.id === 'a')).toHaveLength(2);
    // Rows without an insertId are never de-duplicated.
    await insert([{ json: { id: 'b' } }, { json: { id: 'b' } }]);
    expect(fake.state.rows(PROJECT, 'events', 'clicks').filter((r) => r.id === 'b')).toHaveLength(2);
  });

  it('rejects rows that do not fit the schema; without skipInvalidRows nothing is written', async () => {
    const before = fake.state.rows(PROJECT, 'events', 'clicks').length;
    const error = await insert([
      { insertId: 'v1', json: { id: 'ok', n: '42' } },
      { insertId: 'v2', json: { id: 'bad', n: 'forty-two' } },
      { insertId: 'v3', json: { n: 1 } },
      { insertId: 'v4', json: { id: 'x', colour: 'red' } },
      { insertId: 'v5', json: { id: 'y', day: '2024-02-30' } },
    ]).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'PartialFailureError' });
    const { insertErrors } = (
      error as {
        response: {
          insertErrors: { index: number; errors: { reason: string; location: string; message: string }[] }[];
        };
      }
    ).response;
    expect(insertErrors.map((e) => [e.index, e.errors[0]?.reason, e.errors[0]?.location])).toEqual([
      [0, 'stopped', ''],
      [1, 'invalid', 'n'],
      [2, 'invalid', 'id'],
      [3, 'invalid', 'colour'],
      [4, 'invalid', 'day'],
    ]);
    expect(insertErrors[1]?.errors[0]?.message).toMatch(/integer/);
    expect(fake.state.rows(PROJECT, 'events', 'clicks')).toHaveLength(before);
    // The rejected request recorded no insertId: the valid row goes in when sent again.
    await insert([{ insertId: 'v1', json: { id: 'ok', n: '42' } }]);
    expect(fake.state.rows(PROJECT, 'events', 'clicks').find((r) => r.id === 'ok')).toMatchObject({ n: 42 });
  });

  it('writes the valid rows with skipInvalidRows, and drops unknown fields with ignoreUnknownValues', async () => {
    await expect(
      insert([{ json: { id: 'good', score: 1.5, meta: { a: [1] } } }, { json: { id: 'worse', score: 'high' } }], {
        skipInvalidRows: true,
      }),
    ).rejects.toMatchObject({
      response: { insertErrors: [{ index: 1, errors: [{ reason: 'invalid', location: 'score' }] }] },
    });
    expect(fake.state.rows(PROJECT, 'events', 'clicks').find((r) => r.id === 'good')).toMatchObject({
      score: 1.5,
      meta: { a: [1] },
    });
    await insert([{ json: { id: 'extra', colour: 'red' } }], { ignoreUnknownValues: true });
    expect(fake.state.rows(PROJECT, 'events', 'clicks').find((r) => r.id === 'extra')).not.toHaveProperty('colour');
  });
});

describe('BigQuery fake: reads and queries', () => {
  it('pages tabledata.list by token, by startIndex, and narrows by selectedFields', async () => {
    const total = fake.state.rows(PROJECT, 'events', 'clicks').length;
    const [first, next, response] = await table.getRows({ maxResults: 2, autoPaginate: false });
    expect(first).toHaveLength(2);
    expect((response as { totalRows: string }).totalRows).toBe(String(total));
    const [second] = await table.getRows({ ...(next as object), autoPaginate: false });
    expect(second[0]).not.toEqual(first[0]);
    const [tail] = await table.getRows({ startIndex: String(total - 1), autoPaginate: false, selectedFields: 'id' });
    expect(tail).toHaveLength(1);
    expect(Object.keys(tail[0] as object)).toEqual(['id']);
    await expect(table.getRows({ pageToken: 'not-a-token', autoPaginate: false })).rejects.toMatchObject({ code: 400 });
  });

  it('answers the SQL subset and BigQuery’s errors for what it cannot run', async () => {
    const q = (query: string, extra: Record<string, unknown> = {}) =>
      bigquery.query({ query, location: 'EU', ...extra });
    const [ok] = await q("SELECT id, n FROM `events.clicks` WHERE id = 'ok' AND n = 42");
    expect(ok).toEqual([{ id: 'ok', n: 42 }]);
    const [limited] = await q('SELECT id FROM clicks LIMIT 1', { defaultDataset: { datasetId: 'events' } });
    expect(limited).toHaveLength(1);
    await expect(q('SELECT id FROM `events.clicks` WHERE n = @n', { params: { n: 'x' } })).rejects.toMatchObject({
      code: 400,
      message: expect.stringMatching(/No matching signature/),
    });
    await expect(q('SELECT id FROM `events.clicks` WHERE n = @missing')).rejects.toMatchObject({ code: 400 });
    await expect(q('SELECT colour FROM `events.clicks`')).rejects.toMatchObject({
      message: expect.stringMatching(/Unrecognized name: colour/),
    });
    await expect(q('SELECT id FROM `events.clicks` ORDER BY id')).rejects.toMatchObject({ code: 400 });
    await expect(bigquery.query({ query: 'SELECT id FROM `events.clicks`', location: 'US' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('keeps a failed query job, reports it on the job and on its results, and refuses a duplicate job id', async () => {
    // The job is created; the SDK turns its DONE-with-errorResult answer into a rejection of createQueryJob.
    await expect(
      bigquery.createQueryJob({ query: 'SELECT nope FROM `events.clicks`', location: 'EU', jobId: 'j-fail' }),
    ).rejects.toMatchObject({ errors: [{ reason: 'invalidQuery' }] });
    const job = bigquery.job('j-fail', { location: 'EU' });
    const [metadata] = await job.getMetadata();
    expect(metadata.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'invalidQuery' } });
    await expect(job.getQueryResults()).rejects.toMatchObject({ code: 400 });
    await expect(
      bigquery.createQueryJob({ query: 'SELECT id FROM `events.clicks`', location: 'EU', jobId: 'j-fail' }),
    ).rejects.toMatchObject({
      code: 409,
    });
  });
});

describe('BigQuery fake: options', () => {
  it('requires the bearer token when started with one, in Google’s 401 shape', async () => {
    const locked = await startBigQueryFake({ accessToken: 'token-123' });
    try {
      const res = await fetch(`${locked.url}/bigquery/v2/projects/${PROJECT}/datasets`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({
        error: { code: 401, status: 'UNAUTHENTICATED', errors: [{ reason: 'authError' }] },
      });
      const ok = await fetch(`${locked.url}/bigquery/v2/projects/${PROJECT}/datasets`, {
        headers: { authorization: 'Bearer token-123' },
      });
      expect(ok.status).toBe(200);
    } finally {
      await locked.stop();
    }
  });

  it('keeps every query running for its first reads with slowQueries', async () => {
    const slow = await startBigQueryFake({ slowQueries: true, pendingReads: 2 });
    try {
      const client = new BigQuery({
        projectId: PROJECT,
        apiEndpoint: slow.url,
        authClient: new PassThroughClient(),
        retryOptions: { autoRetry: false },
      });
      const [dataset] = await client.createDataset('d');
      await dataset.createTable('t', { schema: { fields: [{ name: 'x', type: 'STRING' }] } });
      const [job] = await client.createQueryJob({ query: 'SELECT x FROM `d.t`' });
      const states: string[] = [];
      for (let i = 0; i < 3; i++) states.push((await job.getMetadata())[0].status.state);
      expect(states).toEqual(['RUNNING', 'RUNNING', 'DONE']);
    } finally {
      await slow.stop();
    }
  });
});
