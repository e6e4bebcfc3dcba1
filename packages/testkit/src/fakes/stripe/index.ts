export { type StripeErrorBody, StripeFakeError } from './errors.js';
export { TEST_PAYMENT_METHODS } from './resources.js';
export { type StripeFake, type StripeFakeOptions, startStripeFake } from './server.js';
export type {
  Customer,
  PaymentIntent,
  PaymentIntentStatus,
  PaymentMethod,
  Refund,
  StripeFakeRequest,
  StripeFakeState,
} from './state.js';
