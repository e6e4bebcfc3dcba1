import { invalidRequest } from './errors.js';

type Raw = Record<string, unknown>;

/**
 * Reads one request's decoded form parameters the way Stripe checks them: missing, mistyped and unknown
 * parameters are rejected with a 400 that names the parameter.
 */
export class Params {
  readonly #raw: Raw;
  readonly #used = new Set<string>();

  constructor(raw: Raw) {
    this.#raw = raw;
  }

  /** A canonical form of the parameters, to compare an idempotent retry with its original. */
  fingerprint(): string {
    return canonical(this.#raw);
  }

  has(name: string): boolean {
    return this.#raw[name] !== undefined;
  }

  #take(name: string, required: boolean): unknown {
    this.#used.add(name);
    const value = this.#raw[name];
    if (value === undefined && required) {
      throw invalidRequest(`Missing required param: ${name}.`, { param: name, code: 'parameter_missing' });
    }
    return value;
  }

  string(name: string, options: { required?: boolean; maxLength?: number } = {}): string | undefined {
    const value = this.#take(name, options.required ?? false);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${name}`, { param: name });
    if (value === '' && options.required) {
      throw invalidRequest(
        `You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`,
        { param: name, code: 'parameter_invalid_empty' },
      );
    }
    const max = options.maxLength ?? 5000;
    if (value.length > max) throw invalidRequest(`Invalid ${name}: must be at most ${max} characters`, { param: name });
    return value;
  }

  /** An optional string where `''` means "unset" (Stripe's convention), returned as null. */
  nullableString(name: string, options: { maxLength?: number } = {}): string | null | undefined {
    const value = this.string(name, options);
    return value === '' ? null : value;
  }

  enum<const V extends string>(
    name: string,
    values: readonly V[],
    options: { required?: boolean } = {},
  ): V | undefined {
    const value = this.string(name, options);
    if (value === undefined || value === '') return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw invalidRequest(`Invalid ${name}: must be one of ${values.join(', ')}`, { param: name });
    }
    return value as V;
  }

  integer(name: string, options: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const value = this.#take(name, options.required ?? false);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^-?\d+$/.test(value)) {
      throw invalidRequest(`Invalid integer: ${typeof value === 'string' ? value : name}`, {
        param: name,
        code: 'parameter_invalid_integer',
      });
    }
    const n = Number(value);
    if (options.min !== undefined && n < options.min) {
      throw invalidRequest(`This value must be greater than or equal to ${options.min}.`, {
        param: name,
        code: 'parameter_invalid_integer',
      });
    }
    if (options.max !== undefined && n > options.max) {
      throw invalidRequest(`This value must be less than or equal to ${options.max}.`, {
        param: name,
        code: 'parameter_invalid_integer',
      });
    }
    return n;
  }

  boolean(name: string): boolean | undefined {
    const value = this.#take(name, false);
    if (value === undefined) return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw invalidRequest(`Invalid boolean: ${typeof value === 'string' ? value : name}`, { param: name });
  }

  stringArray(name: string): string[] | undefined {
    const value = this.#take(name, false);
    if (value === undefined) return undefined;
    const list = Array.isArray(value)
      ? value
      : typeof value === 'object' && value !== null
        ? Object.values(value)
        : null;
    if (!list || list.some((v) => typeof v !== 'string' || v === '')) {
      throw invalidRequest(`Invalid array: ${name}`, { param: name });
    }
    return list as string[];
  }

  /** Stripe's metadata: up to 50 string pairs; `metadata=''` clears it. */
  metadata(name = 'metadata'): Record<string, string> | undefined {
    const value = this.#take(name, false);
    if (value === undefined) return undefined;
    if (value === '') return {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidRequest(`Invalid object: ${name}`, { param: name });
    }
    const entries = Object.entries(value as Raw);
    if (entries.length > 50) throw invalidRequest('You can specify up to 50 metadata keys.', { param: name });
    const out: Record<string, string> = {};
    for (const [key, v] of entries) {
      if (typeof v !== 'string') throw invalidRequest(`Invalid string: ${name}[${key}]`, { param: `${name}[${key}]` });
      if (key.length > 40) {
        throw invalidRequest('Metadata keys can have up to 40 characters.', { param: `${name}[${key}]` });
      }
      if (v.length > 500)
        throw invalidRequest('Metadata values can have up to 500 characters.', { param: `${name}[${key}]` });
      if (v !== '') out[key] = v;
    }
    return out;
  }

  /** A nested hash such as `automatic_payment_methods[enabled]`, read with its own Params. */
  object(name: string): Params | undefined {
    const value = this.#take(name, false);
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidRequest(`Invalid object: ${name}`, { param: name });
    }
    return new Params(value as Raw);
  }

  /** Rejects anything the handler did not read: Stripe names the first unknown parameter. */
  rejectUnknown(prefix = ''): void {
    for (const key of Object.keys(this.#raw)) {
      if (this.#used.has(key)) continue;
      const name = prefix ? `${prefix}[${key}]` : key;
      throw invalidRequest(`Received unknown parameter: ${name}`, { param: name, code: 'parameter_unknown' });
    }
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Raw).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
