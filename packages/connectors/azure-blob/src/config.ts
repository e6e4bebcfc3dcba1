import { type ConfigInput, type ConfigSchema, configSchema, field, type StandardSchemaV1 } from '@integrations/core';

/** Azure's container rule: 3-63 lowercase letters, digits and single hyphens, or one of the system containers. */
const CONTAINER_NAME = /^(\$root|\$web|\$logs|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$/;
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

const fields = {
  connectionString: field.secret({
    optional: true,
    minLength: 1,
    description:
      'Storage account connection string (AccountName + AccountKey, BlobEndpoint + SharedAccessSignature, or UseDevelopmentStorage=true). Use it or accountName + accountKey.',
  }),
  accountName: field.string({
    optional: true,
    description: 'Storage account name, with accountKey (instead of connectionString).',
  }),
  accountKey: field.secret({
    optional: true,
    minLength: 1,
    description: 'Storage account key (base64), with accountName.',
  }),
  endpoint: field.url({
    optional: true,
    description:
      'Blob service URL for accountName + accountKey. Default https://<accountName>.blob.core.windows.net; Azurite: http://127.0.0.1:10000/devstoreaccount1.',
  }),
  container: field.string({
    optional: true,
    description: 'Default container for blob operations (each call may name another).',
  }),
};

type Fields = typeof fields;
type Issue = StandardSchemaV1.Issue;
type Result = StandardSchemaV1.Result<StandardSchemaV1.InferOutput<ConfigSchema<Fields>>>;

/** The keys of a connection string's `Key=value` pairs that have a value, lower-cased (Azure ignores case). */
function connectionStringKeys(value: string): Set<string> {
  const keys = new Set<string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(eq + 1).trim() !== '') keys.add(part.slice(0, eq).trim().toLowerCase());
  }
  return keys;
}

/** Azure's naming rules (stated in words, not as a regular expression) and the endpoint's scheme. */
function nameIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  if (typeof raw.accountName === 'string' && !ACCOUNT_NAME.test(raw.accountName)) {
    issues.push({ path: ['accountName'], message: 'must be 3 to 24 lowercase letters and digits' });
  }
  if (typeof raw.container === 'string' && !CONTAINER_NAME.test(raw.container)) {
    issues.push({
      path: ['container'],
      message:
        'must be 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit',
    });
  }
  if (typeof raw.endpoint === 'string' && URL.canParse(raw.endpoint)) {
    const { protocol } = new URL(raw.endpoint);
    if (protocol !== 'https:' && protocol !== 'http:') {
      issues.push({ path: ['endpoint'], message: 'must be an http:// or https:// URL' });
    }
  }
  return issues;
}

/** The rules one field cannot express: which credentials go together. Messages never echo a value. */
function credentialIssues(raw: Record<string, unknown>): Issue[] {
  const has = (key: string) => raw[key] !== undefined;
  if (has('connectionString')) {
    if (has('accountName') || has('accountKey') || has('endpoint')) {
      return [
        {
          path: ['connectionString'],
          message: 'give either connectionString or accountName + accountKey (+ endpoint), not both',
        },
      ];
    }
    if (typeof raw.connectionString !== 'string' || raw.connectionString === '') return [];
    const keys = connectionStringKeys(raw.connectionString);
    const usable =
      keys.has('usedevelopmentstorage') ||
      (keys.has('accountname') && keys.has('accountkey')) ||
      (keys.has('sharedaccesssignature') && keys.has('blobendpoint'));
    return usable
      ? []
      : [
          {
            path: ['connectionString'],
            message:
              'must hold AccountName and AccountKey, BlobEndpoint and SharedAccessSignature, or UseDevelopmentStorage=true',
          },
        ];
  }
  if (!has('accountName') && !has('accountKey')) {
    return [{ path: ['connectionString'], message: 'is required unless accountName and accountKey are given' }];
  }
  if (!has('accountKey')) return [{ path: ['accountKey'], message: 'is required with accountName' }];
  if (!has('accountName')) return [{ path: ['accountName'], message: 'is required with accountKey' }];
  return [];
}

const base = configSchema(fields);

function withCredentialRules(input: unknown, result: Result): Result {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return result;
  const raw = input as Record<string, unknown>;
  const extra = [...nameIssues(raw), ...credentialIssues(raw)];
  if (extra.length === 0) return result;
  return { issues: [...(result.issues ?? []), ...extra] };
}

/** Either a connection string or account name + key (+ endpoint); a default container is optional. */
export const azureBlobConfigSchema: ConfigSchema<Fields> = {
  ...base,
  '~standard': {
    ...base['~standard'],
    validate(input) {
      const result = base['~standard'].validate(input);
      return result instanceof Promise
        ? result.then((settled) => withCredentialRules(input, settled))
        : withCredentialRules(input, result);
    },
  },
};

export type AzureBlobConfig = ConfigInput<Fields>;
