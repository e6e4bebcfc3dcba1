import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describeConnector, startS3rver } from '@integrations/testkit';
import { awsS3 } from '../src/index.js';
import { s3ErrorResponse, seed } from './support.js';

const BUCKET = 'conformance';
const PROBE = 'probe.txt';

describeConnector(awsS3, {
  standIn: async () => {
    const s3rver = await startS3rver({ buckets: [BUCKET] });
    await seed(s3rver.url, BUCKET, { [PROBE]: 'probe' });
    return s3rver;
  },
  // s3rver checks the key id but not the SigV4 signature, so the canary can be the working secret.
  config: (url, { secret }) => ({
    endpoint: url,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: secret,
    bucket: BUCKET,
    checksumMode: 'WHEN_REQUIRED' as const,
  }),
  invalidConfig: { config: { accessKeyId: 'S3RVER', secretAccessKey: 'x', bucket: 'Not_A_Bucket' }, path: 'bucket' },
  // A GET (not a HEAD) so injected error bodies are parsed as S3's XML; the body is read so no socket lingers.
  idempotentCall: async (s3, options) => text((await s3.get(PROBE, options)).body),
  // A stream body is `putStream`: not idempotent, and S3 has no idempotency-key header, so it must never be resent.
  nonIdempotentCall: (s3, options) => s3.put('stream.txt', Readable.from([Buffer.from('stream body')]), options),
  errorResponse: s3ErrorResponse,
});
