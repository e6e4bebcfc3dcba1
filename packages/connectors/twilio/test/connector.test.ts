import { describeConnector, specPath, startPrism } from '@integrations/testkit';
import { twilio } from '../src/index.js';

const ACCOUNT_SID = `AC${'a'.repeat(32)}`;
const MESSAGE_SID = `SM${'a'.repeat(32)}`;

/** Twilio's JSON error body, so the SDK raises the RestException it would for Twilio's own answer. */
function twilioError(status: number) {
  const [code, message] =
    status === 401
      ? [20003, 'Authenticate']
      : status === 403
        ? [20403, 'Forbidden']
        : status === 404
          ? [20404, 'The requested resource was not found']
          : status === 429
            ? [20429, 'Too Many Requests']
            : status >= 500
              ? [20500, 'Internal Server Error']
              : [21211, "The 'To' number is not a valid phone number."];
  return {
    contentType: 'application/json',
    body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
  };
}

describeConnector(twilio, {
  // Prism serving Twilio's official api_v2010 spec; it checks that basic auth is present and validates every request.
  standIn: async () => {
    const prism = await startPrism(specPath('twilio/twilio_api_v2010.json'));
    return { url: prism.url, stop: () => prism.stop() };
  },
  // Prism accepts any basic credentials, so the canary can be the working Auth Token.
  config: (url, { secret }) => ({ accountSid: ACCOUNT_SID, authToken: secret, apiBaseUrl: url }),
  invalidConfig: { config: { accountSid: `SK${'a'.repeat(32)}`, authToken: 'a'.repeat(32) }, path: 'accountSid' },
  idempotentCall: (instance, options) => instance.getMessage(MESSAGE_SID, options),
  // No idempotencyKeyHeader: Twilio has none for Messages, so sendSms must go out exactly once, even after a 503.
  nonIdempotentCall: (instance, options) =>
    instance.sendSms({ to: '+15558675310', from: '+15017122661', body: 'conformance' }, options),
  errorResponse: twilioError,
});
