export {
  CONFORMANCE_SETTINGS,
  ConformanceError,
  type ConformanceInstance,
  type DescribeConnectorOptions,
  describeConnector,
} from './conformance.js';
export {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  type AzuriteOptions,
  type AzuriteStandIn,
  azuriteConnectionString,
  startAzurite,
} from './launchers/azurite.js';
export {
  createFakeServer,
  type FakeHandler,
  type FakeRequest,
  type FakeResponse,
  type FakeRoutes,
  type FakeServer,
  json,
  status,
  text,
} from './launchers/fake-server.js';
export { freePort, isPortOpen, waitFor } from './launchers/ports.js';
export { type PrismOptions, type PrismStandIn, startPrism } from './launchers/prism.js';
export { STANDIN_MARKER, type StandIn } from './launchers/process.js';
export { type RedisServerOptions, type RedisServerStandIn, startRedisServer } from './launchers/redis.js';
export { type S3rverOptions, type S3rverStandIn, startS3rver } from './launchers/s3rver.js';
export { findRepoRoot, SPECS_ENV, specPath, specsDir } from './launchers/specs.js';
export { startVerdaccio, type VerdaccioOptions, type VerdaccioStandIn } from './launchers/verdaccio.js';
export {
  createFaultProxy,
  type ErrorResponse,
  type Fault,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultType,
  faults,
  type RecordedRequest,
} from './proxy.js';
export { VERSION } from './version.js';
