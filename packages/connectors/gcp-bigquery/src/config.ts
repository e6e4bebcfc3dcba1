import { type ConfigInput, type ConfigIssue, type ConfigSchema, configSchema, field } from '@integrations/core';

export const DEFAULT_API_ENDPOINT = 'https://bigquery.googleapis.com';

const fields = {
  projectId: field.string({
    description: 'Google Cloud project that runs the jobs and owns datasets named without a project',
    pattern: /^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
  }),
  location: field.string({
    optional: true,
    minLength: 1,
    description: 'Default location for new datasets and query jobs (e.g. `US`, `EU`, `europe-west1`)',
  }),
  apiEndpoint: field.url({
    default: DEFAULT_API_ENDPOINT,
    description: 'BigQuery API origin; point it at an emulator or a regional/private endpoint',
  }),
  auth: field.enum(['applicationDefault', 'serviceAccount', 'keyFile', 'accessToken', 'none'], {
    default: 'applicationDefault',
    description:
      'How requests are authorised: Application Default Credentials, a service account key (`credentials`), a key ' +
      'file (`keyFilename`), a ready OAuth 2.0 access token (`accessToken`), or `none` for an emulator',
  }),
  credentials: field.object(
    {
      clientEmail: field.string({ minLength: 1, description: 'The service account key’s `client_email`' }),
      privateKey: field.secret({ minLength: 1, description: 'The service account key’s `private_key` (PEM)' }),
    },
    { optional: true, description: 'Service account key fields, with `auth: "serviceAccount"`' },
  ),
  keyFilename: field.string({
    optional: true,
    minLength: 1,
    description: 'Path to a service account key file (JSON), with `auth: "keyFile"`',
  }),
  accessToken: field.secret({
    optional: true,
    minLength: 1,
    description: 'An OAuth 2.0 access token obtained elsewhere, with `auth: "accessToken"` (it is not refreshed)',
  }),
};

type Fields = typeof fields;
type Output = Parameters<typeof crossCheck>[0];

/** Which field each auth mode needs; the others must be absent so a config never carries an unused credential. */
const AUTH_FIELDS = { serviceAccount: 'credentials', keyFile: 'keyFilename', accessToken: 'accessToken' } as const;

function crossCheck(config: {
  auth: string;
  apiEndpoint: string;
  credentials?: unknown;
  keyFilename?: unknown;
  accessToken?: unknown;
}): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [mode, key] of Object.entries(AUTH_FIELDS)) {
    const present = config[key] !== undefined;
    if (config.auth === mode && !present) issues.push({ path: key, message: `is required when auth is "${mode}"` });
    if (config.auth !== mode && present) {
      issues.push({ path: key, message: `is only used when auth is "${mode}" (auth is "${config.auth}")` });
    }
  }
  if (config.auth === 'none' && config.apiEndpoint === DEFAULT_API_ENDPOINT) {
    issues.push({
      path: 'auth',
      message: '"none" sends no credentials, which only an emulator accepts: set apiEndpoint to the emulator',
    });
  }
  return issues;
}

const base = configSchema(fields);

/**
 * The connector's config schema: core's field checks, then the rules that tie the auth mode to its credential
 * (so production never runs unauthenticated by accident, and no unused secret sits in a config).
 */
export const gcpBigqueryConfigSchema: ConfigSchema<Fields> = {
  ...base,
  '~standard': {
    ...base['~standard'],
    validate(value) {
      const result = base['~standard'].validate(value);
      if (result instanceof Promise || result.issues) return result;
      const issues = crossCheck(result.value as Output);
      if (issues.length === 0) return result;
      return { issues: issues.map((i) => ({ message: i.message, path: i.path.split('.') })) };
    },
  },
};

export type GcpBigqueryConfig = ConfigInput<Fields>;
