import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBin, type StandIn, spawnNode } from './process.js';

export interface S3rverOptions {
  /** Where objects are stored. Default: a fresh temporary directory, removed on stop. */
  dir?: string | undefined;
  /** Defaults to a free port. */
  port?: number | undefined;
  /** Buckets to create before the first request. */
  buckets?: readonly string[] | undefined;
  /** How long to wait for s3rver to listen. Default 30 s. */
  readyTimeoutMs?: number | undefined;
}

export interface S3rverStandIn extends StandIn {
  readonly port: number;
  readonly pid: number;
  readonly directory: string;
}

const LISTENING = /S3rver listening on 127\.0\.0\.1:(\d+)/;

/**
 * Starts s3rver in a child process on 127.0.0.1 (its own default is `localhost`, which may resolve to ::1).
 * s3rver encrypts its listing continuation tokens with DES, which OpenSSL 3 only offers through the legacy
 * provider; the child gets `--openssl-legacy-provider`, so paged listings work without the test process needing it.
 */
export async function startS3rver(options: S3rverOptions = {}): Promise<S3rverStandIn> {
  const bin = resolveBin('s3rver', 's3rver', 'add "s3rver" (^3.7) to devDependencies');
  const ownDir = options.dir === undefined;
  const directory = options.dir ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  const managed = spawnNode(
    bin,
    [
      '--directory',
      directory,
      '--address',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      '--silent',
      ...(options.buckets ?? []).flatMap((name) => ['--configure-bucket', name]),
    ],
    's3rver',
    { nodeArgs: ['--openssl-legacy-provider'] },
  );
  const stopAll = async () => {
    await managed.stop();
    if (ownDir) await rm(directory, { recursive: true, force: true });
  };
  let port: number;
  try {
    await managed.waitForOutput(LISTENING, 's3rver', options.readyTimeoutMs);
    port = Number(LISTENING.exec(managed.output())?.[1]);
  } catch (error) {
    await stopAll();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: managed.pid,
    directory,
    stop: () => (stopping ??= stopAll()),
  };
}
