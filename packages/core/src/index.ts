export { type Clock, systemClock } from './clock.js';
export {
  type ConfigField,
  type ConfigInput,
  type ConfigOutput,
  type ConfigSchema,
  type ConfigShape,
  configSchema,
  field,
} from './config-schema.js';
export {
  type CallOptions,
  type CallScope,
  type ConnectorConfigInput,
  type ConnectorContext,
  type ConnectorDefinition,
  type ConnectorInstance,
  type ConnectorInstanceOf,
  defineConnector,
  type HealthDetails,
  type HealthReport,
  IntegrationStatus,
  IntegrationType,
  isConnectorDefinition,
  type Logger,
  type OperationMeta,
  SPECIFICATION_VERSION,
  type SpecificationVersion,
  type VerifiedWebhook,
  validateConfig,
  type WebhookRequest,
  type WebhookVerifier,
  type WebhookVerifyOptions,
} from './contract.js';
export {
  type ConfigIssue,
  type ErrorKind,
  IntegrationError,
  type IntegrationErrorOptions,
  InvalidConfigError,
  isRetryableKind,
  kindFromNetworkError,
  kindFromStatus,
  type SerializedIntegrationError,
} from './errors.js';
export {
  type BreakerState,
  EventBus,
  type EventListener,
  type EventName,
  type EventSource,
  type HealthStatus,
  type IntegrationEvents,
} from './events.js';
export type * from './policies/types.js';
export { MIN_SECRET_LENGTH, REDACTED, Redactor } from './redact.js';
export {
  createRegistry,
  DEFAULT_TENANT,
  type HealthCheckOptions,
  type IntegrationConfig,
  type IntegrationHandle,
  type IntegrationInfo,
  type IntegrationSettings,
  type IntegrationSummary,
  type Registry,
  type RegistryOptions,
  type RegistrySummary,
  type ServiceLevel,
  type TenantOption,
  type TenantOverrides,
} from './registry.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export { VERSION } from './version.js';
