export { KeyRing, type Principal, presentedKey, requestedTenant, type Scope } from './auth.js';
export {
  type ConnectorResolver,
  exportName,
  installedConnectors,
  type LoadGatewayConfigOptions,
  loadGatewayConfig,
} from './connectors.js';
export {
  type CloseOptions,
  createGateway,
  type Gateway,
  type GatewayOptions,
  type ListenOptions,
  REDACTED_HEADERS,
} from './gateway.js';
export { GatewayMetrics } from './metrics.js';
export { buildServer, type Readiness, rollup } from './server.js';
export {
  buildRegistry,
  GatewayConfigError,
  integrationConfig,
  RESERVED_NAMES,
  tenantOverrides,
  tenantsOf,
} from './setup.js';
export { VERSION } from './version.js';
export {
  type DeadLetterQuery,
  type EventStatus,
  PostgresWebhookStore,
  type StoredWebhookEvent,
  type WebhookEndpoint,
  WebhookEndpoints,
  type WebhookEvent,
  type WebhookHandler,
  type WebhookHandlerContext,
  type WebhookReason,
  WebhookStoreError,
  Webhooks,
} from './webhooks/index.js';
