export { type TwilioConfig, twilioConfigSchema } from './config.js';
export { type SendSmsParams, type TwilioInstance, type TwilioMessage, twilio } from './connector.js';
export { VERSION } from './version.js';
export {
  parseTwilioForm,
  TWILIO_SIGNATURE_HEADER,
  type TwilioWebhookParams,
  twilioWebhooks,
  type VerifiedTwilioWebhook,
  verifyTwilioWebhook,
} from './webhooks.js';
