export {
  type ApiKeyOptions,
  type AuthProvider,
  type AuthRequest,
  apiKey,
  basic,
  bearer,
  type Secret,
} from './auth.js';
export {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpHooks,
  type HttpRequest,
  type HttpResponse,
  type MethodOptions,
  type Query,
  type QueryValue,
  type RequestBody,
  type RequestOptions,
} from './client.js';
export { extractProviderError, parseRateLimitHeaders, parseRetryAfter, type RateLimitInfo } from './errors.js';
export {
  type AuthorizeUrlOptions,
  buildAuthorizeUrl,
  type ClientCredentialsOptions,
  createPkcePair,
  type ExchangeCodeOptions,
  exchangeAuthorizationCode,
  type OAuth2TokenProvider,
  type OAuth2Tokens,
  oauth2ClientCredentials,
  oauth2RefreshToken,
  type PkcePair,
  pkceChallenge,
  type RefreshTokenOptions,
  type TokenEndpointOptions,
} from './oauth2.js';
export {
  type CursorStrategy,
  type NextUrlStrategy,
  type OffsetStrategy,
  type PaginateOptions,
  type PaginationStrategy,
  paginate,
  paginateItems,
} from './paginate.js';
