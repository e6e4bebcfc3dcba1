/**
 * A tiny config-schema builder. Connectors depend on core and their SDK only, so they cannot bring zod; this
 * gives them a Standard Schema that also knows which fields are secrets (for redaction) and describes every
 * field (for READMEs and the catalog). Any other Standard Schema (zod, valibot, arktype) works with core too.
 */
import type { ConfigIssue } from './errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';

interface FieldOptions<T> {
  description?: string;
  optional?: boolean;
  default?: T;
}

type Parse<T> = (value: unknown, path: string, issues: ConfigIssue[]) => T | undefined;

/** One config field. The type parameters carry the parsed type, the accepted input, and whether input may omit it. */
export interface ConfigField<Out, In = Out, Omittable extends boolean = boolean> {
  readonly kind: string;
  readonly secret: boolean;
  readonly description: string | undefined;
  readonly optional: boolean;
  readonly default: Out | undefined;
  /** Nested fields, for `object` fields. */
  readonly fields: ConfigShape | undefined;
  readonly parse: Parse<Out>;
  /** Type-level only. */
  readonly '~types'?: { out: Out; in: In; omittable: Omittable };
}

// biome-ignore lint/suspicious/noExplicitAny: a shape holds fields of any type
export type ConfigShape = Record<string, ConfigField<any, any, boolean>>;

type FieldFor<T, O> = O extends { default: T }
  ? ConfigField<T, T, true>
  : O extends { optional: true }
    ? ConfigField<T | undefined, T | undefined, true>
    : ConfigField<T, T, false>;

type TypesOf<F> = NonNullable<
  F extends ConfigField<infer Out, infer In, infer Om> ? { out: Out; in: In; omittable: Om } : never
>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type ConfigInput<S extends ConfigShape> = Simplify<
  { [K in keyof S as TypesOf<S[K]>['omittable'] extends true ? never : K]: TypesOf<S[K]>['in'] } & {
    [K in keyof S as TypesOf<S[K]>['omittable'] extends true ? K : never]?: TypesOf<S[K]>['in'];
  }
>;
export type ConfigOutput<S extends ConfigShape> = Simplify<{ [K in keyof S]: TypesOf<S[K]>['out'] }>;

export interface ConfigSchema<S extends ConfigShape> extends StandardSchemaV1<ConfigInput<S>, ConfigOutput<S>> {
  readonly fields: S;
  /** Dotted paths of every secret field. */
  readonly secrets: readonly string[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function makeField<T, O extends FieldOptions<T>>(
  kind: string,
  options: O | undefined,
  parse: Parse<T>,
  extra: { secret?: boolean; fields?: ConfigShape } = {},
): FieldFor<T, O> {
  const field: ConfigField<T, T, boolean> = {
    kind,
    secret: extra.secret ?? false,
    description: options?.description,
    optional: options?.optional === true || options?.default !== undefined,
    default: options?.default,
    fields: extra.fields,
    parse,
  };
  return field as unknown as FieldFor<T, O>;
}

function expectType<T>(type: 'string' | 'number' | 'boolean', check?: (v: T) => string | undefined): Parse<T> {
  return (value, path, issues) => {
    if (typeof value !== type) {
      issues.push({ path, message: `expected ${type}, received ${describe(value)}` });
      return undefined;
    }
    const problem = check?.(value as T);
    if (problem) {
      issues.push({ path, message: problem });
      return undefined;
    }
    return value as T;
  };
}

interface StringOptions extends FieldOptions<string> {
  pattern?: RegExp;
  minLength?: number;
}

function checkString(options: StringOptions | undefined) {
  return (v: string) => {
    if (options?.minLength !== undefined && v.length < options.minLength) {
      return `must be at least ${options.minLength} characters`;
    }
    if (options?.pattern && !options.pattern.test(v)) return `must match ${options.pattern}`;
    return undefined;
  };
}

function parseObject<S extends ConfigShape>(shape: S, value: unknown, path: string, issues: ConfigIssue[]) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path, message: `expected object, received ${describe(value)}` });
    return undefined;
  }
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const join = (key: string) => (path ? `${path}.${key}` : key);
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(shape, key)) issues.push({ path: join(key), message: 'unknown key' });
  }
  for (const [key, field] of Object.entries(shape)) {
    const raw = input[key];
    if (raw === undefined) {
      if (field.default !== undefined) out[key] = field.default;
      else if (!field.optional) issues.push({ path: join(key), message: 'is required' });
      continue;
    }
    const parsed = field.parse(raw, join(key), issues);
    if (parsed !== undefined) out[key] = parsed;
  }
  return out as ConfigOutput<S>;
}

export const field = {
  string<const O extends StringOptions = {}>(options?: O): FieldFor<string, O> {
    return makeField('string', options, expectType<string>('string', checkString(options)));
  },
  /** A credential: redacted from errors, logs, events and status output. Never has a default. */
  secret<const O extends Omit<StringOptions, 'default'> = {}>(options?: O): FieldFor<string, O> {
    return makeField('secret', options, expectType<string>('string', checkString(options)), { secret: true });
  },
  url<const O extends FieldOptions<string> = {}>(options?: O): FieldFor<string, O> {
    return makeField(
      'url',
      options,
      expectType<string>('string', (v) => (URL.canParse(v) ? undefined : 'must be an absolute URL')),
    );
  },
  number<const O extends FieldOptions<number> & { min?: number; max?: number; integer?: boolean } = {}>(
    options?: O,
  ): FieldFor<number, O> {
    return makeField(
      'number',
      options,
      expectType<number>('number', (v) => {
        if (!Number.isFinite(v)) return 'must be a finite number';
        if (options?.integer && !Number.isInteger(v)) return 'must be an integer';
        if (options?.min !== undefined && v < options.min) return `must be at least ${options.min}`;
        if (options?.max !== undefined && v > options.max) return `must be at most ${options.max}`;
        return undefined;
      }),
    );
  },
  boolean<const O extends FieldOptions<boolean> = {}>(options?: O): FieldFor<boolean, O> {
    return makeField('boolean', options, expectType<boolean>('boolean'));
  },
  enum<const V extends string, const O extends FieldOptions<V> = {}>(
    values: readonly V[],
    options?: O,
  ): FieldFor<V, O> {
    return makeField('enum', options, (value, path, issues) => {
      if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as V;
      issues.push({ path, message: `expected one of ${values.map((v) => `"${v}"`).join(', ')}` });
      return undefined;
    });
  },
  stringArray<const O extends FieldOptions<string[]> = {}>(options?: O): FieldFor<string[], O> {
    return makeField('string[]', options, (value, path, issues) => {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        issues.push({ path, message: `expected an array of strings, received ${describe(value)}` });
        return undefined;
      }
      return value as string[];
    });
  },
  object<S extends ConfigShape, const O extends FieldOptions<ConfigOutput<S>> = {}>(
    shape: S,
    options?: O,
  ): FieldFor<ConfigOutput<S>, O> {
    return makeField('object', options, (value, path, issues) => parseObject(shape, value, path, issues), {
      fields: shape,
    });
  },
};

function secretPaths(shape: ConfigShape, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([key, f]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (f.secret) return [path];
    return f.fields ? secretPaths(f.fields, path) : [];
  });
}

/** Builds a connector's config schema: a Standard Schema that rejects unknown keys and names every bad field. */
export function configSchema<S extends ConfigShape>(fields: S): ConfigSchema<S> {
  return {
    fields,
    secrets: secretPaths(fields),
    '~standard': {
      version: 1,
      vendor: '@integrations/core',
      validate(value) {
        const issues: ConfigIssue[] = [];
        const out = parseObject(fields, value, '', issues);
        if (issues.length > 0 || out === undefined) {
          return { issues: issues.map((i) => ({ message: i.message, path: i.path ? i.path.split('.') : undefined })) };
        }
        return { value: out };
      },
    },
  };
}
