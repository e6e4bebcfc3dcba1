import { readFileSync } from 'node:fs';
import { BigQuery } from '@google-cloud/bigquery';
import { Ajv, type ValidateFunction } from 'ajv';
import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BigQueryExchange,
  type BigQueryFake,
  FAKE_ROUTES,
  startBigQueryFake,
} from '../../src/fakes/bigquery/index.js';
import { specPath } from '../../src/launchers/specs.js';

/**
 * Checks the BigQuery fake against Google's discovery document for BigQuery v2: every route it serves must be
 * a method of the document, and every request the real SDK sends and every answer the fake gives in a realistic
 * flow must match the document's schemas (converted to JSON Schema, objects closed to unknown fields).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface DiscoverySchema {
  id?: string;
  type?: string;
  format?: string;
  $ref?: string;
  enum?: string[];
  properties?: Record<string, DiscoverySchema>;
  additionalProperties?: DiscoverySchema;
  items?: DiscoverySchema;
}

interface DiscoveryMethod {
  httpMethod: string;
  path: string;
  flatPath?: string;
  parameters?: Record<string, { location: string }>;
  request?: { $ref: string };
  response?: { $ref: string };
}

interface DiscoveryResource {
  methods?: Record<string, DiscoveryMethod>;
  resources?: Record<string, DiscoveryResource>;
}

interface Discovery {
  basePath: string;
  parameters: Record<string, unknown>;
  schemas: Record<string, DiscoverySchema>;
  resources: Record<string, DiscoveryResource>;
}

const discovery = JSON.parse(readFileSync(specPath('bigquery/bigquery.v2.json'), 'utf8')) as Discovery;

/** Discovery schema → JSON Schema. int64/uint64 travel as decimal strings; `any` is anything. */
function toJsonSchema(schema: DiscoverySchema): Json {
  if (schema.$ref) return { $ref: `#/definitions/${schema.$ref}` };
  const out: { [key: string]: Json } = {};
  switch (schema.type) {
    case 'any':
      return {};
    case 'string':
      out.type = 'string';
      if (schema.format === 'int64') out.pattern = '^-?[0-9]+$';
      if (schema.format === 'uint64') out.pattern = '^[0-9]+$';
      if (schema.enum) out.enum = schema.enum;
      return out;
    case 'integer':
      out.type = 'integer';
      if (schema.format?.startsWith('uint')) out.minimum = 0;
      return out;
    case 'number':
    case 'boolean':
      return { type: schema.type };
    case 'array':
      return { type: 'array', items: schema.items ? toJsonSchema(schema.items) : {} };
    default: {
      out.type = 'object';
      if (schema.properties) {
        out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, toJsonSchema(v)]));
      }
      // A field neither the document nor a later revision defines fails validation: the fake cannot invent one.
      out.additionalProperties = schema.additionalProperties
        ? toJsonSchema(schema.additionalProperties)
        : !schema.properties;
      return out;
    }
  }
}

/**
 * Fields the SDK (8.3) sends that BigQuery added after this document's revision (20230422). Later revisions of
 * the document define them exactly so: QueryRequest.formatOptions is a DataFormatOptions.
 */
const LATER_REVISION_FIELDS: Record<string, Record<string, DiscoverySchema>> = {
  QueryRequest: { formatOptions: { type: 'object', properties: { useInt64Timestamp: { type: 'boolean' } } } },
};
/** Query parameters the SDK sends that later revisions define (DataFormatOptions as `formatOptions.*`). */
const LATER_REVISION_PARAMETERS: Record<string, string[]> = {
  'jobs.getQueryResults': ['formatOptions.useInt64Timestamp'],
  'tabledata.list': ['formatOptions.useInt64Timestamp'],
};

/**
 * What the SDK puts on the wire where the document says string: it sends BOOL and numeric parameter values as
 * JSON booleans and numbers, which BigQuery's JSON parser accepts. Applied to requests only: answers stay strict.
 */
const REQUEST_WIRE_FORMS: Record<string, Record<string, Json>> = {
  QueryParameterValue: { value: { type: ['string', 'number', 'boolean'] } },
};

function definitionsFor(side: 'request' | 'response'): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [name, schema] of Object.entries(discovery.schemas)) {
    const extra = LATER_REVISION_FIELDS[name];
    const converted = toJsonSchema(extra ? { ...schema, properties: { ...schema.properties, ...extra } } : schema) as {
      properties?: { [key: string]: Json };
    };
    const wire = side === 'request' ? REQUEST_WIRE_FORMS[name] : undefined;
    if (wire) converted.properties = { ...converted.properties, ...wire };
    out[name] = converted as Json;
  }
  return out;
}

const errorProto = discovery.schemas.ErrorProto as DiscoverySchema;
const responseDefinitions = definitionsFor('response');
// Google's error envelope is not in the discovery document; its items are ErrorProtos plus the `domain` Google adds.
responseDefinitions.GoogleErrorEnvelope = toJsonSchema({
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'integer' },
        message: { type: 'string' },
        status: { type: 'string' },
        errors: {
          type: 'array',
          items: { type: 'object', properties: { ...errorProto.properties, domain: { type: 'string' } } },
        },
      },
    },
  },
});

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'request', definitions: definitionsFor('request') });
ajv.addSchema({ $id: 'response', definitions: responseDefinitions });
const validators = new Map<string, ValidateFunction>();
function validator(side: 'request' | 'response', name: string): ValidateFunction {
  let validate = validators.get(`${side}:${name}`);
  if (!validate) {
    validate = ajv.compile({ $ref: `${side}#/definitions/${name}` });
    validators.set(`${side}:${name}`, validate);
  }
  return validate;
}

interface MethodEntry {
  name: string;
  method: DiscoveryMethod;
  pattern: RegExp;
}

/** Every method of the document, with a matcher for its path below basePath. */
function methodsOf(resources: Record<string, DiscoveryResource>, prefix = ''): MethodEntry[] {
  return Object.entries(resources).flatMap(([resourceName, resource]) => [
    ...Object.entries(resource.methods ?? {}).map(([methodName, method]) => ({
      name: `${prefix}${resourceName}.${methodName}`,
      method,
      pattern: new RegExp(`^${method.path.replace(/\{\+?\w+\}/g, '[^/]+')}$`),
    })),
    ...methodsOf(resource.resources ?? {}, `${prefix}${resourceName}.`),
  ]);
}
const METHODS = methodsOf(discovery.resources);

function methodFor(httpMethod: string, path: string): MethodEntry {
  const found = METHODS.find((m) => m.method.httpMethod === httpMethod && m.pattern.test(path));
  if (!found) throw new Error(`${httpMethod} ${path} is not a method of the BigQuery discovery document`);
  return found;
}

/** Validates one exchange; returns the discovery method name. */
function check(exchange: BigQueryExchange): string {
  const { name, method } = methodFor(exchange.method, exchange.path);
  const allowed = new Set([
    ...Object.keys(discovery.parameters),
    ...Object.entries(method.parameters ?? {})
      .filter(([, p]) => p.location === 'query')
      .map(([n]) => n),
    ...(LATER_REVISION_PARAMETERS[name] ?? []),
  ]);
  for (const key of exchange.query.keys()) {
    if (!allowed.has(key)) throw new Error(`${name}: query parameter "${key}" is not defined for this method`);
  }
  const problems: string[] = [];
  const run = (side: 'request' | 'response', schemaName: string, value: unknown) => {
    const validate = validator(side, schemaName);
    if (!validate(value)) {
      problems.push(
        `${name} ${side} (${exchange.status}) is not a valid ${schemaName}: ${ajv.errorsText(validate.errors)}`,
      );
    }
  };
  if (method.request) run('request', method.request.$ref, exchange.requestBody);
  else if (exchange.requestBody !== undefined) problems.push(`${name} takes no request body`);
  if (exchange.status >= 400) run('response', 'GoogleErrorEnvelope', exchange.responseBody);
  else if (method.response) run('response', method.response.$ref, exchange.responseBody);
  else if (exchange.status !== 204) problems.push(`${name} answers 204 with no body, the fake sent ${exchange.status}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return name;
}

let fake: BigQueryFake;
let bigquery: BigQuery;
const exchanges: BigQueryExchange[] = [];

beforeAll(async () => {
  fake = await startBigQueryFake({ onExchange: (e) => exchanges.push(e) });
  bigquery = new BigQuery({
    projectId: 'local-proj',
    apiEndpoint: fake.url,
    authClient: new PassThroughClient(),
    retryOptions: { autoRetry: false },
  });
});
afterAll(async () => {
  await fake?.stop();
});

describe('the BigQuery fake against the official discovery document', () => {
  it('serves only methods the document defines, with its HTTP method and path template', () => {
    for (const route of FAKE_ROUTES) {
      const entry = METHODS.find((m) => m.method.httpMethod === route.method && m.method.path === route.template);
      expect(entry, `${route.method} ${route.template}`).toBeDefined();
    }
  });

  it('sends and answers schema-valid bodies through a realistic SDK flow', async () => {
    const [dataset] = await bigquery.createDataset('shop', {
      location: 'US',
      description: 'orders',
      labels: { env: 'test' },
    });
    await bigquery.getDatasets({ maxResults: 1, autoPaginate: false });
    await dataset.getMetadata();
    const [table] = await dataset.createTable('orders', {
      description: 'one row per order',
      schema: {
        fields: [
          { name: 'id', type: 'STRING', mode: 'REQUIRED' },
          { name: 'qty', type: 'INT64' },
          { name: 'price', type: 'NUMERIC' },
          { name: 'paid', type: 'BOOL' },
          { name: 'at', type: 'TIMESTAMP' },
          { name: 'tags', type: 'STRING', mode: 'REPEATED' },
          { name: 'ship', type: 'RECORD', fields: [{ name: 'city', type: 'STRING' }] },
        ],
      },
    });
    await table.getMetadata();
    const rows = Array.from({ length: 5 }, (_, i) => ({
      insertId: `order-${i}`,
      json: {
        id: `o${i}`,
        qty: i,
        price: '9.99',
        paid: i % 2 === 0,
        at: '2024-05-01T10:00:00Z',
        tags: ['a'],
        ship: { city: 'Oslo' },
      },
    }));
    await table.insert(rows, { raw: true, partialRetries: 0 });
    await table.insert(rows.slice(0, 2), { raw: true, partialRetries: 0 });
    await expect(
      table.insert([{ insertId: 'bad', json: { id: 'x', qty: 'many' } }, rows[0]], { raw: true, partialRetries: 0 }),
    ).rejects.toMatchObject({ name: 'PartialFailureError' });
    const [page, next] = await table.getRows({ maxResults: 2, autoPaginate: false });
    expect(page).toHaveLength(2);
    await table.getRows({ ...(next as object), autoPaginate: false });

    const [found] = await bigquery.query({
      query: 'SELECT id, qty FROM `shop.orders` WHERE paid = @paid AND qty = @qty',
      params: { paid: true, qty: 2 },
    });
    expect(found).toEqual([{ id: 'o2', qty: 2 }]);
    // timeoutMs 0: the first answer is "not complete" and the SDK polls jobs.getQueryResults.
    const [all] = await bigquery.query({ query: 'SELECT * FROM `shop.orders` LIMIT 3' }, { timeoutMs: 0 });
    expect(all).toHaveLength(3);

    const [job] = await bigquery.createQueryJob({
      query: 'SELECT id FROM `shop.orders` WHERE id = @id',
      params: { id: 'o4' },
    });
    await job.getMetadata();
    const [jobRows] = await job.getQueryResults();
    expect(jobRows).toEqual([{ id: 'o4' }]);

    const polled = exchanges.filter((e) => e.path.includes('/queries/'));
    expect(polled.some((e) => (e.responseBody as { jobComplete?: boolean }).jobComplete === false)).toBe(true);
    expect(fake.state.rows('local-proj', 'shop', 'orders')).toHaveLength(5);

    await expect(bigquery.dataset('missing').getMetadata()).rejects.toMatchObject({ code: 404 });
    await expect(bigquery.createDataset('shop')).rejects.toMatchObject({ code: 409 });
    await expect(bigquery.query('SELECT nope FROM `shop.orders`')).rejects.toMatchObject({ code: 400 });
    await table.delete();
    await dataset.delete({ force: true });

    const seen = new Set(exchanges.map(check));
    const served = new Set(FAKE_ROUTES.map((r) => methodFor(r.method, r.template.replace(/\{\w+\}/g, 'x')).name));
    expect([...served].filter((name) => !seen.has(name))).toEqual([]);
  });

  it('flags a body the document does not describe (the check can fail)', () => {
    const bad: BigQueryExchange = {
      method: 'POST',
      path: 'projects/p/queries',
      query: new URLSearchParams(),
      requestBody: { query: 'SELECT 1', useLegacySql: false },
      status: 200,
      responseBody: { kind: 'bigquery#queryResponse', jobComplete: true, totalRows: 3, rowCount: '3' },
    };
    expect(() => check(bad)).toThrow(/rowCount|totalRows/);
    expect(() => check({ ...bad, method: 'PUT' })).toThrow(/not a method/);
  });
});
