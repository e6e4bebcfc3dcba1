export { type AzureBlobConfig, azureBlobConfigSchema } from './config.js';
export {
  type AzureBlobInstance,
  azureBlob,
  type BlobProperties,
  type BlobSummary,
  type ContainerParams,
  type DownloadParams,
  type DownloadResult,
  type ListPage,
  type ListParams,
  type SasUrlParams,
  type TransferProgress,
  type UploadBody,
  type UploadParams,
  type UploadResult,
} from './connector.js';
export { VERSION } from './version.js';
