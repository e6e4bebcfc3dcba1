import { describe, expect, expectTypeOf, it } from 'vitest';
import { configSchema, field } from '../src/config-schema.js';
import { defineConnector, validateConfig } from '../src/contract.js';
import { IntegrationError, InvalidConfigError } from '../src/errors.js';

const schema = configSchema({
  apiKey: field.secret({ minLength: 8, description: 'Secret API key' }),
  baseUrl: field.url({ default: 'https://api.example.com' }),
  region: field.enum(['us', 'eu'], { optional: true }),
  maxItems: field.number({ default: 50, min: 1, max: 100, integer: true }),
  verbose: field.boolean({ default: false }),
  scopes: field.stringArray({ optional: true }),
  oauth: field.object({ clientId: field.string(), clientSecret: field.secret() }, { optional: true }),
});

const validate = (value: unknown) => validateConfig({ id: 'example', config: schema }, value);

describe('configSchema', () => {
  it('applies defaults and keeps given values', async () => {
    const out = await validate({ apiKey: 'sk_test_12345678', region: 'eu' });
    expect(out).toEqual({
      apiKey: 'sk_test_12345678',
      baseUrl: 'https://api.example.com',
      region: 'eu',
      maxItems: 50,
      verbose: false,
    });
  });

  it('infers input and output types', () => {
    type In = NonNullable<(typeof schema)['~standard']['types']>['input'];
    expectTypeOf<In>().toHaveProperty('apiKey').toEqualTypeOf<string>();
    expectTypeOf<In['maxItems']>().toEqualTypeOf<number | undefined>();
  });

  it('names every wrong field with its path, in one error', async () => {
    const error = await validate({
      apiKey: 'short',
      baseUrl: 'not a url',
      region: 'mars',
      maxItems: 1.5,
      verbose: 'yes',
      oauth: { clientId: 7 },
      extra: true,
    }).catch((e: unknown) => e);
    expect(IntegrationError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(InvalidConfigError);
    const issues = (error as InvalidConfigError).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'apiKey', message: 'must be at least 8 characters' },
        { path: 'baseUrl', message: 'must be an absolute URL' },
        { path: 'region', message: 'expected one of "us", "eu"' },
        { path: 'maxItems', message: 'must be an integer' },
        { path: 'verbose', message: 'expected boolean, received string' },
        { path: 'oauth.clientId', message: 'expected string, received number' },
        { path: 'oauth.clientSecret', message: 'is required' },
        { path: 'extra', message: 'unknown key' },
      ]),
    );
    expect((error as InvalidConfigError).kind).toBe('invalid_config');
    expect((error as Error).message).toContain('oauth.clientSecret: is required');
  });

  it('reports a missing required field', async () => {
    await expect(validate({})).rejects.toThrow('apiKey: is required');
  });

  it('never echoes a rejected value in its message', async () => {
    const error = (await validate({ apiKey: 'canary-9f8e7d6c', maxItems: 1000 }).catch((e) => e)) as Error;
    expect(error.message).toContain('maxItems: must be at most 100');
    expect(error.message).not.toContain('canary-9f8e7d6c');
  });

  it('lists secret fields, nested ones by dotted path', () => {
    expect(schema.secrets).toEqual(['apiKey', 'oauth.clientSecret']);
  });

  it('gives defineConnector its secrets', () => {
    const definition = defineConnector({
      id: 'example',
      displayName: 'Example',
      type: 'external_api',
      category: 'testing',
      version: '1.0.0',
      config: schema,
      operations: { ping: { idempotent: true } },
      mapError: (e) => new IntegrationError('internal', String(e)),
      create: () => ({ client: null, healthCheck: async () => undefined }),
    });
    expect(definition.secrets).toEqual(['apiKey', 'oauth.clientSecret']);
    expect(definition.specificationVersion).toBe('v1');
  });
});
