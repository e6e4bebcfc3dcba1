export { type AwsS3Config, awsS3ConfigSchema } from './config.js';
export { type AwsS3Instance, awsS3 } from './connector.js';
export { mapError } from './errors.js';
export type { CreateBucketResult } from './operations/buckets.js';
export type {
  DeleteManyResult,
  GetOptions,
  GetResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  PutOptions,
  PutResult,
  S3Object,
} from './operations/objects.js';
export type { PresignGetOptions, PresignPutOptions } from './operations/presign.js';
export type { BucketOption, PutBody } from './operations/shared.js';
export type { UploadOptions, UploadProgress, UploadResult } from './operations/upload.js';
export { VERSION } from './version.js';
