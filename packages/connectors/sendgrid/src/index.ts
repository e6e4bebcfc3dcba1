export { type SendgridConfig, sendgridConfigSchema } from './config.js';
export { type MailBatch, type SendgridInstance, sendgrid } from './connector.js';
export type {
  MailAttachment,
  Personalization,
  Recipient,
  SendMailParams,
  SendMailResult,
} from './mail.js';
export { VERSION } from './version.js';
export {
  DEFAULT_TOLERANCE_MS,
  EVENT_BATCH_TYPE,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  type SendGridEvent,
  sendgridWebhooks,
  type VerifiedSendGridWebhook,
  verifySendGridWebhook,
} from './webhooks.js';
