import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/index.js';
import { gatewayFrom, type ProbeServer, probe, startProbeServer, type TempDir, tempDir } from './support.js';

const DEMO_KEY = 'demo-key-for-this-test-only';
let dir: TempDir;
let server: ProbeServer;
let gateway: Gateway;

beforeAll(async () => {
  dir = await tempDir();
  server = await startProbeServer();
  const file = await dir.write(
    'docs.yaml',
    `server: { adminApiKey: docs-admin-key-0123456789 }
integrations:
  billing:
    connector: probe
    config: { baseUrl: "\${URL}", token: probe-token-0123456789 }
`,
  );
  gateway = await gatewayFrom(file, { env: { URL: server.url }, connectors: { probe }, demoApiKey: DEMO_KEY });
  await gateway.enable();
});

afterAll(async () => {
  await gateway?.close();
  await server?.close();
  await dir?.remove();
});

describe('GET /docs', () => {
  it('serves a valid OpenAPI 3.1 document describing every route', async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/integrations/health',
      '/integrations/health/live',
      '/integrations/health/ready',
      '/integrations/health/{name}',
      '/integrations/metrics',
      '/integrations/status',
      '/integrations/{name}/operations/{operation}',
    ]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
    const health = doc.paths['/integrations/health'].get;
    expect(Object.keys(health.responses).sort()).toEqual(['200', '401', '404', '503']);
    expect(health.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(
      health.parameters.some((p: { name: string; in: string }) => p.name === 'x-tenant-id' && p.in === 'header'),
    ).toBe(true);
    expect(doc.paths['/integrations/health/live'].get.security).toBeUndefined();
    expect(doc.components.schemas.IntegrationStatus.properties).toHaveProperty('rateLimitHeadroom');
    const operation = doc.paths['/integrations/{name}/operations/{operation}'].post;
    expect(Object.keys(operation.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '404',
      '409',
      '429',
      '502',
      '503',
      '504',
    ]);
    expect(doc.components.schemas.OperationError.properties).toHaveProperty('kind');
  });

  it('renders the reference with swagger-ui', async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('swagger-ui');
  });
});

describe('the dashboard in the demo', () => {
  it('pre-fills the demo key it was given, escaped', async () => {
    const page = await gateway.app.inject({ method: 'GET', url: '/' });
    expect(page.body).toContain(`<meta name="integrations-demo-key" content="${DEMO_KEY}" />`);
  });
});
