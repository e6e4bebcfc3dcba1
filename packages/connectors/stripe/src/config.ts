import { type ConfigInput, configSchema, field } from '@integrations/core';

export const stripeConfigSchema = configSchema({
  apiKey: field.secret({
    pattern: /^(sk|rk)_/,
    description:
      'Secret (`sk_…`) or restricted (`rk_…`) API key. Publishable keys (`pk_…`) cannot call these endpoints.',
  }),
  apiBaseUrl: field.url({
    default: 'https://api.stripe.com',
    description:
      'Scheme, host and port of the Stripe API (no path: the SDK adds `/v1`). Point it at a local stand-in in tests.',
  }),
  apiVersion: field.string({
    optional: true,
    description: "Stripe API version to pin (e.g. `2026-10-28.endive`). Default: the SDK's own version.",
  }),
  webhookSecret: field.secret({
    optional: true,
    pattern: /^whsec_/,
    description: "The endpoint's signing secret (`whsec_…`), used by `verifyWebhook` when no secrets are passed.",
  }),
});

export type StripeConfig = ConfigInput<typeof stripeConfigSchema.fields>;
