export {
  ConfigFileError,
  type ConfigFileIssue,
  type ConnectorLookup,
  type LoadConfigOptions,
  type LoadedConfig,
  type LoadedIntegration,
  type LoadedTenant,
  loadConfig,
} from './load.js';
export type {
  HmacWebhookSettings,
  IntegrationSettings,
  ServerSettings,
  ServerWebhookSettings,
  StoreSettings,
  TenantSettings,
  WebhookDeliverySettings,
  WebhookSettings,
} from './schema.js';
export { VERSION } from './version.js';
