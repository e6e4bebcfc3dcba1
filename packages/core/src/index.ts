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
// The registry is a runtime of its own, at `@integrations/core/registry`, so a connector package (which needs the
// contract, errors and config schema only) and its users' bundles do not carry it. Its types are here too.
export type {
  HealthCheckOptions,
  IntegrationConfig,
  IntegrationHandle,
  IntegrationInfo,
  IntegrationSettings,
  IntegrationSummary,
  Registry,
  RegistryOptions,
  RegistrySummary,
  ServiceLevel,
  TenantOption,
  TenantOverrides,
} from './registry.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export { VERSION } from './version.js';
