export { type StripeConfig, stripeConfigSchema } from './config.js';
export { type StripeInstance, stripe } from './connector.js';
export { VERSION } from './version.js';
export {
  DEFAULT_TOLERANCE_MS,
  STRIPE_SIGNATURE_HEADER,
  stripeWebhooks,
  type VerifiedStripeWebhook,
  verifyStripeWebhook,
} from './webhooks.js';
