import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ErrorKind,
  IntegrationError,
  InvalidConfigError,
  isRetryableKind,
  kindFromNetworkError,
  kindFromStatus,
} from '../src/errors.js';

describe('IntegrationError', () => {
  it('names each kind and derives retryability from it', () => {
    const cases: [ErrorKind, string, boolean][] = [
      ['auth', 'AuthError', false],
      ['permission', 'PermissionError', false],
      ['not_found', 'NotFoundError', false],
      ['invalid_request', 'InvalidRequestError', false],
      ['conflict', 'ConflictError', false],
      ['rate_limited', 'RateLimitedError', true],
      ['timeout', 'TimeoutError', true],
      ['unavailable', 'UnavailableError', true],
      ['circuit_open', 'CircuitOpenError', false],
      ['bulkhead_full', 'BulkheadFullError', false],
      ['cancelled', 'CancelledError', false],
      ['internal', 'InternalError', false],
    ];
    for (const [kind, name, retryable] of cases) {
      const error = new IntegrationError(kind, 'x');
      expect([error.name, error.retryable, isRetryableKind(kind)]).toEqual([name, retryable, retryable]);
    }
  });

  it('lets the connector override retryability and records where it happened', () => {
    const error = new IntegrationError('conflict', 'lock busy', {
      retryable: true,
      provider: 'stripe',
      integration: 'stripe_main',
      tenant: 't1',
      operation: 'charges.create',
      status: 409,
      code: 'lock_timeout',
    });
    expect(error.retryable).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect(error.toJSON()).toEqual({
      name: 'ConflictError',
      kind: 'conflict',
      message: 'lock busy',
      retryable: true,
      provider: 'stripe',
      integration: 'stripe_main',
      operation: 'charges.create',
      tenant: 't1',
      status: 409,
      code: 'lock_timeout',
      retryAfterMs: undefined,
      cause: undefined,
    });
  });

  it('serialises its cause as name and message only', () => {
    const cause = Object.assign(new TypeError('socket hang up'), { request: { headers: { cookie: 'x' } } });
    const error = new IntegrationError('unavailable', 'provider unreachable', { cause });
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error)).cause).toEqual({ name: 'TypeError', message: 'socket hang up' });
  });

  it('is recognised across copies of the package by its marker, not its class', () => {
    // What a second copy of core produces: another class, the same global marker.
    class OtherCopyError extends Error {}
    const foreign = new OtherCopyError('from another copy');
    Object.defineProperty(foreign, Symbol.for('@integrations/core.IntegrationError'), { value: true });
    expect(IntegrationError.isInstance(foreign)).toBe(true);
    expect(IntegrationError.isInstance(new Error('plain'))).toBe(false);
    expect(IntegrationError.isInstance('auth')).toBe(false);
  });

  it('InvalidConfigError lists every issue and is never retryable', () => {
    const error = new InvalidConfigError('s3', [
      { path: 'bucket', message: 'is required' },
      { path: '', message: 'expected an object' },
    ]);
    expect(error.message).toBe('invalid s3 config: bucket: is required; expected an object');
    expect(error.kind).toBe('invalid_config');
    expect(error.retryable).toBe(false);
    expect(IntegrationError.isInstance(error)).toBe(true);
  });
});

describe('kindFromStatus', () => {
  it('maps HTTP statuses to provider-independent kinds', () => {
    const table: [number, ErrorKind][] = [
      [400, 'invalid_request'],
      [401, 'auth'],
      [403, 'permission'],
      [404, 'not_found'],
      [408, 'timeout'],
      [409, 'conflict'],
      [410, 'not_found'],
      [422, 'invalid_request'],
      [429, 'rate_limited'],
      [500, 'unavailable'],
      [503, 'unavailable'],
      [302, 'internal'],
    ];
    expect(table.map(([status]) => [status, kindFromStatus(status)])).toEqual(table);
  });
});

describe('kindFromNetworkError, with errors real sockets produce', () => {
  let hanging: Server;
  let hangingUrl: string;
  let closedUrl: string;

  beforeAll(async () => {
    hanging = createServer(() => {
      // Never answers: requests to it end only by timeout or abort.
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
  });

  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });

  it('sees a refused connection through fetch’s wrapper as unavailable', async () => {
    const error = await fetch(closedUrl).catch((e: unknown) => e);
    expect((error as Error).message).toBe('fetch failed');
    expect(kindFromNetworkError(error)).toBe('unavailable');
  });

  it('classifies a fetch timeout as timeout and a caller abort as cancelled', async () => {
    const timedOut = await fetch(hangingUrl, { signal: AbortSignal.timeout(20) }).catch((e: unknown) => e);
    expect(kindFromNetworkError(timedOut)).toBe('timeout');
    const controller = new AbortController();
    const pending = fetch(hangingUrl, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(kindFromNetworkError(await pending)).toBe('cancelled');
  });

  it("reads the codes axios gives its own timeout and cancellation (the Twilio and SendGrid SDKs' transport)", () => {
    // The shapes of axios' AxiosError / CanceledError: the SDK connectors' tests produce the real ones.
    expect(kindFromNetworkError(Object.assign(new Error('timeout of 5ms exceeded'), { code: 'ECONNABORTED' }))).toBe(
      'timeout',
    );
    expect(
      kindFromNetworkError(Object.assign(new Error('canceled'), { name: 'CanceledError', code: 'ERR_CANCELED' })),
    ).toBe('cancelled');
  });

  it('leaves errors it does not recognise alone', () => {
    expect(kindFromNetworkError(new Error('boom'))).toBeUndefined();
    expect(kindFromNetworkError(undefined)).toBeUndefined();
    expect(kindFromNetworkError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBeUndefined();
  });
});
