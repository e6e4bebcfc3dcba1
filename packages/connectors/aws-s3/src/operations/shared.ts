import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CallOptions, ConnectorContext } from '@integrations/core';
import { BUCKET_NAME } from '../config.js';
import { invalidRequest } from '../errors.js';

/** What every operation file receives from `create`. */
export interface S3Scope {
  readonly client: S3Client;
  readonly ctx: ConnectorContext;
  /** The config's default bucket. */
  readonly bucket: string | undefined;
}

/** Options every object operation accepts besides core's CallOptions. */
export interface BucketOption {
  /** Overrides the config's default bucket. */
  bucket?: string | undefined;
}

/** A body S3 can store: bytes, text (sent as UTF-8), or a Node stream. */
export type PutBody = Uint8Array | string | Readable;

// S3 allows object keys of up to 1024 bytes of UTF-8.
const MAX_KEY_BYTES = 1024;

export function resolveBucket(scope: S3Scope, operation: string, bucket: string | undefined): string {
  const name = bucket ?? scope.bucket;
  if (name === undefined) {
    throw invalidRequest(operation, 'no bucket: set `bucket` in the config or pass `options.bucket`');
  }
  if (typeof name !== 'string' || !BUCKET_NAME.test(name)) {
    throw invalidRequest(operation, `bucket ${JSON.stringify(name)} is not a valid S3 bucket name`);
  }
  return name;
}

export function checkKey(operation: string, key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw invalidRequest(operation, `${what} must be a non-empty string`);
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw invalidRequest(operation, `${what} is longer than ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

export function checkBody(operation: string, body: unknown): PutBody {
  if (typeof body === 'string' || body instanceof Uint8Array || body instanceof Readable) return body;
  throw invalidRequest(operation, 'body must be a Buffer, Uint8Array, string or Readable stream');
}

export function checkInteger(operation: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidRequest(operation, `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function checkOptionalString(operation: string, name: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw invalidRequest(operation, `${name} must be a string`);
  return value;
}

export function checkMetadata(operation: string, metadata: unknown): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw invalidRequest(operation, 'metadata must be an object of string values');
  }
  for (const [name, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw invalidRequest(operation, `metadata.${name} must be a string`);
  }
  return metadata as Record<string, string>;
}

/**
 * The CallOptions handed to the pipeline. `retrySafe: false` drops the idempotency key: S3 has no idempotency-key
 * header, so a key could not make a repeat safe, and without one the pipeline never retries the operation.
 */
export function callOptions(options: CallOptions, retrySafe = true): CallOptions {
  return {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    idempotencyKey: retrySafe ? options.idempotencyKey : undefined,
  };
}

/**
 * Runs `send` under a private signal that follows the attempt's signal only until `send` settles. For calls that
 * return a stream (GetObject), the attempt's deadline then stops applying: it bounds the wait for the response,
 * not how long the caller takes to read the body.
 */
export async function untilSettled<T>(attempt: AbortSignal, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const forward = () => controller.abort(attempt.reason);
  if (attempt.aborted) forward();
  else attempt.addEventListener('abort', forward, { once: true });
  try {
    return await send(controller.signal);
  } finally {
    attempt.removeEventListener('abort', forward);
  }
}

/** A stream body cannot be replayed: when the call fails, release what it holds (a file descriptor, a socket). */
export function destroyOnFailure<T>(body: PutBody, promise: Promise<T>): Promise<T> {
  if (!(body instanceof Readable)) return promise;
  return promise.catch((error: unknown) => {
    if (!body.destroyed) body.destroy();
    throw error;
  });
}
