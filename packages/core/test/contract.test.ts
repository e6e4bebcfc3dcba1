import { describe, expect, expectTypeOf, it } from 'vitest';
import { configSchema, field } from '../src/config-schema.js';
import {
  type ConnectorConfigInput,
  type ConnectorInstanceOf,
  defineConnector,
  IntegrationStatus,
  IntegrationType,
  isConnectorDefinition,
  SPECIFICATION_VERSION,
  validateConfig,
} from '../src/contract.js';
import { IntegrationError, InvalidConfigError } from '../src/errors.js';
import type { StandardSchemaV1 } from '../src/standard-schema.js';

const schema = configSchema({
  token: field.secret({ minLength: 8 }),
  endpoint: field.url({ default: 'https://api.example.com' }),
  nested: field.object({ password: field.secret(), user: field.string() }, { optional: true }),
});

const base = {
  id: 'example-api',
  displayName: 'Example',
  type: IntegrationType.ExternalApi,
  category: 'testing',
  version: '1.2.3',
  config: schema,
  operations: { 'things.list': { idempotent: true }, 'things.create': { idempotent: false } },
  mapError: (error: unknown) => new IntegrationError('internal', String(error)),
  create: (config: { token: string; endpoint: string }) => ({
    client: { endpoint: config.endpoint },
    healthCheck: async () => undefined,
    things: { list: async () => [config.endpoint] },
  }),
};

describe('defineConnector', () => {
  it('fills in the specification version and the secrets of a configSchema', () => {
    const definition = defineConnector(base);
    expect(definition.specificationVersion).toBe(SPECIFICATION_VERSION);
    expect(definition.secrets).toEqual(['token', 'nested.password']);
    expect(isConnectorDefinition(definition)).toBe(true);
    expect(Object.isFrozen(definition)).toBe(true);
  });

  it('keeps explicitly listed secrets over the schema ones', () => {
    const definition = defineConnector({ ...base, secrets: ['token'] });
    expect(definition.secrets).toEqual(['token']);
  });

  it('rejects an id that is not lowercase kebab-case, naming it', () => {
    expect(() => defineConnector({ ...base, id: 'Example_API' })).toThrow(/"Example_API" must be lowercase kebab-case/);
    expect(() => defineConnector({ ...base, id: 'trailing-' })).toThrow(TypeError);
  });

  it('rejects a connector without operations', () => {
    expect(() => defineConnector({ ...base, operations: {} })).toThrow(/"example-api" declares no operations/);
  });

  it('does not take a look-alike object for a definition', () => {
    expect(isConnectorDefinition({ ...base, specificationVersion: 'v1', secrets: [] })).toBe(false);
    expect(isConnectorDefinition(null)).toBe(false);
  });

  it('types the config input and the instance', () => {
    const definition = defineConnector(base);
    expectTypeOf<ConnectorConfigInput<typeof definition>>().toHaveProperty('token').toEqualTypeOf<string>();
    expectTypeOf<ConnectorInstanceOf<typeof definition>>().toHaveProperty('things');
    expectTypeOf(IntegrationStatus.Healthy).toEqualTypeOf<'healthy'>();
  });
});

describe('validateConfig', () => {
  it('returns the parsed config with defaults applied', async () => {
    await expect(validateConfig(defineConnector(base), { token: 'abcdefgh' })).resolves.toEqual({
      token: 'abcdefgh',
      endpoint: 'https://api.example.com',
    });
  });

  it('throws InvalidConfigError naming every failing field', async () => {
    const error = await validateConfig(defineConnector(base), {
      token: 'short',
      nested: { user: 'me' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    const e = error as InvalidConfigError;
    expect(e.kind).toBe('invalid_config');
    expect(e.retryable).toBe(false);
    expect(e.provider).toBe('example-api');
    expect(e.issues.map((i) => i.path)).toEqual(['token', 'nested.password']);
    expect(e.message).toBe(
      'invalid example-api config: token: must be at least 8 characters; nested.password: is required',
    );
  });

  it('accepts any Standard Schema, async ones and path segments included', async () => {
    const custom: StandardSchemaV1<{ port: number }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        async validate(value) {
          const port = (value as { port?: unknown }).port;
          if (typeof port === 'number' && port > 0) return { value: { port } };
          return { issues: [{ message: 'must be a positive port', path: [{ key: 'server' }, 'port'] }] };
        },
      },
    };
    await expect(validateConfig({ id: 'custom', config: custom }, { port: 8080 })).resolves.toEqual({ port: 8080 });
    await expect(validateConfig({ id: 'custom', config: custom }, { port: -1 })).rejects.toThrow(
      'invalid custom config: server.port: must be a positive port',
    );
  });

  it('reports an issue without a path as being about the whole config', async () => {
    const whole: StandardSchemaV1 = {
      '~standard': { version: 1, vendor: 'test', validate: () => ({ issues: [{ message: 'expected an object' }] }) },
    };
    const error = (await validateConfig({ id: 'whole', config: whole }, 42).catch((e) => e)) as InvalidConfigError;
    expect(error.issues).toEqual([{ path: '', message: 'expected an object' }]);
    expect(error.message).toBe('invalid whole config: expected an object');
  });
});
