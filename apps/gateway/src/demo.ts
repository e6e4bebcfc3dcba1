/**
 * The embedded demo: starts a local stand-in for every provider in demo/integrations.yaml on 127.0.0.1 and hands
 * their addresses to the config as environment references (Twilio and SendGrid are Prism serving their official
 * OpenAPI descriptions from the provider specs). Uses @integrations/testkit's launchers and fakes,
 * which are development dependencies: a production install has no demo.
 */
import { fileURLToPath } from 'node:url';
import type { StandIn } from '@integrations/testkit';

/** The demo's own admin key. It is printed in the banner and pre-filled in the dashboard: never use it elsewhere. */
export const DEMO_ADMIN_KEY = 'demo-admin-key-not-a-secret';

export const DEMO_CONFIG = fileURLToPath(new URL('../demo/integrations.yaml', import.meta.url));

export interface Demo {
  file: string;
  env: Record<string, string>;
  adminApiKey: string;
  /** The stand-ins by name, so a test can stop one. */
  standIns: Record<string, StandIn>;
  stop(): Promise<void>;
}

export async function startDemo(): Promise<Demo> {
  const testkit = await import('@integrations/testkit');
  const { startStripeFake } = await import('@integrations/testkit/fakes/stripe');
  const { startBigQueryFake } = await import('@integrations/testkit/fakes/bigquery');

  const launches = {
    stripe: startStripeFake(),
    bigquery: startBigQueryFake(),
    s3: testkit.startS3rver({ buckets: ['acme-assets', 'globex-assets'] }),
    azurite: testkit.startAzurite(),
    twilio: testkit.startPrism(testkit.specPath('twilio/twilio_api_v2010.json')),
    sendgrid: testkit.startPrism(testkit.specPath('sendgrid/tsg_mail_v3.json')),
  };
  const settled = await Promise.allSettled(Object.values(launches));
  const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw failed.reason;
  }
  const [stripe, bigquery, s3, azurite, twilio, sendgrid] = started as [
    Awaited<typeof launches.stripe>,
    Awaited<typeof launches.bigquery>,
    Awaited<typeof launches.s3>,
    Awaited<typeof launches.azurite>,
    Awaited<typeof launches.twilio>,
    Awaited<typeof launches.sendgrid>,
  ];
  let stopping: Promise<void> | undefined;
  return {
    file: DEMO_CONFIG,
    adminApiKey: DEMO_ADMIN_KEY,
    env: {
      DEMO_ADMIN_KEY,
      DEMO_STRIPE_URL: stripe.url,
      DEMO_BIGQUERY_URL: bigquery.url,
      DEMO_S3_URL: s3.url,
      DEMO_AZURE_CONNECTION_STRING: azurite.connectionString,
      DEMO_TWILIO_URL: twilio.url,
      DEMO_SENDGRID_URL: sendgrid.url,
    },
    standIns: { stripe, bigquery, s3, azurite, twilio, sendgrid },
    stop: () => (stopping ??= Promise.allSettled(started.map((s) => s.stop())).then(() => undefined)),
  };
}
