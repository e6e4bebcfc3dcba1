import { type ConfigInput, configSchema, field } from '@integrations/core';

export const sendgridConfigSchema = configSchema({
  apiKey: field.secret({
    pattern: /^SG\./,
    description: 'A SendGrid API key (`SG.…`) with the Mail Send permission.',
  }),
  apiBaseUrl: field.url({
    default: 'https://api.sendgrid.com',
    description:
      'Base URL of the v3 API (the SDK adds `/v3/...`). `https://api.eu.sendgrid.com` for EU subusers; a local stand-in in tests.',
  }),
  webhookPublicKey: field.string({
    optional: true,
    description:
      "The Event Webhook's verification key (ECDSA P-256, base64 as the SendGrid settings page shows it, or PEM). Public, not a secret.",
  }),
  defaultFrom: field.string({
    optional: true,
    description: 'Sender used when `send` gets no `from`: `ada@example.com` or `Ada Lovelace <ada@example.com>`.',
  }),
});

export type SendgridConfig = ConfigInput<typeof sendgridConfigSchema.fields>;
