import { type ConfigInput, configSchema, field } from '@integrations/core';

export const twilioConfigSchema = configSchema({
  accountSid: field.string({
    pattern: /^AC[0-9a-fA-F]{32}$/,
    description: 'The Account SID (`AC` + 32 hex digits) from the Twilio Console.',
  }),
  authToken: field.secret({
    minLength: 16,
    description:
      "The account's Auth Token: signs the API requests (HTTP basic auth) and is the key status callbacks are signed with.",
  }),
  apiBaseUrl: field.url({
    default: 'https://api.twilio.com',
    description:
      'Scheme, host and port of the Twilio REST API (the SDK adds `/2010-04-01/...`). Point it at a local stand-in in tests.',
  }),
  statusCallbackUrl: field.url({
    optional: true,
    description: 'Where Twilio posts delivery status updates for messages sent without their own `statusCallback`.',
  }),
});

export type TwilioConfig = ConfigInput<typeof twilioConfigSchema.fields>;
