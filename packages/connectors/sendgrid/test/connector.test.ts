import { describeConnector, specPath, startPrism } from '@integrations/testkit';
import { sendgrid } from '../src/index.js';

/** SendGrid's error body, so the SDK raises the ResponseError it would for SendGrid's own answer. */
function sendgridError(status: number) {
  const message =
    status === 401
      ? 'The provided authorization grant is invalid, expired, or revoked'
      : status === 403
        ? 'access forbidden'
        : status === 404
          ? 'resource not found'
          : status === 429
            ? 'too many requests'
            : status >= 500
              ? 'internal server error'
              : 'invalid request';
  return {
    contentType: 'application/json',
    body: JSON.stringify({ errors: [{ message, field: null, help: null }] }),
  };
}

describeConnector(sendgrid, {
  // Prism serving SendGrid's official mail v3 spec; it requires a bearer token and validates every request.
  standIn: async () => {
    const prism = await startPrism(specPath('sendgrid/tsg_mail_v3.json'));
    return { url: prism.url, stop: () => prism.stop() };
  },
  // Prism accepts any bearer token, so the canary can be the working API key.
  config: (url, { secret }) => ({ apiKey: `SG.${secret}`, apiBaseUrl: url }),
  invalidConfig: { config: { apiKey: 'sk_live_not_a_sendgrid_key' }, path: 'apiKey' },
  idempotentCall: (instance, options) => instance.batches.validate('HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi', options),
  // No idempotencyKeyHeader: SendGrid has none, so a send must go out exactly once, even after a 503.
  nonIdempotentCall: (instance, options) =>
    instance.send(
      { to: 'ada@example.com', from: 'noreply@example.com', subject: 'conformance', text: 'hello' },
      options,
    ),
  errorResponse: sendgridError,
});
