/**
 * Redaction: every secret an integration knows (its configured secret fields and tokens it learns at run
 * time) is scrubbed from errors, log lines, events and status before they leave core.
 */
import { IntegrationError } from './errors.js';

export const REDACTED = '[REDACTED]';

/**
 * Values shorter than this are not treated as secrets. Scrubbing a 1–3 character value would replace that
 * substring in every word of every message (a PIN of `42` would mangle `429`, a flag of `on` every `json`),
 * making errors unreadable while revealing the value anyway by where the holes appear. Credentials that short
 * protect nothing; the config schema should reject them.
 */
export const MIN_SECRET_LENGTH = 4;

const MAX_DEPTH = 8;

/** Every string at `path` (dotted) in `value`, including strings nested in objects or arrays under it. */
export function secretValuesAt(value: unknown, paths: readonly string[]): string[] {
  const found: string[] = [];
  for (const path of paths) {
    let current: unknown = value;
    for (const key of path.split('.')) {
      if (typeof current !== 'object' || current === null) {
        current = undefined;
        break;
      }
      current = (current as Record<string, unknown>)[key];
    }
    collectStrings(current, found, 0);
  }
  return found;
}

function collectStrings(value: unknown, into: string[], depth: number): void {
  if (typeof value === 'string') into.push(value);
  else if (typeof value === 'object' && value !== null && depth < MAX_DEPTH) {
    for (const item of Object.values(value)) collectStrings(item, into, depth + 1);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The set of secrets of one integration and the functions that scrub them. */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  /** Adds a secret (and its URL-encoded form, which is how it appears in query strings and form bodies). */
  add(value: unknown): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || this.secrets.has(value)) return;
    this.secrets.add(value);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.secrets.add(encoded);
    // Longest first, so a secret that contains another is replaced whole.
    const alternatives = [...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = new RegExp(alternatives.join('|'), 'g');
  }

  get size(): number {
    return this.secrets.size;
  }

  redact(text: string): string {
    return this.pattern === undefined ? text : text.replace(this.pattern, REDACTED);
  }

  /**
   * A copy of `value` safe to log: strings scrubbed, errors reduced to their serialised form, cycles and
   * very deep nesting cut.
   */
  redactValue(value: unknown): unknown {
    return this.copy(value, 0, new WeakSet());
  }

  private copy(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (typeof value !== 'object' || value === null) {
      return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
    }
    if (seen.has(value)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Truncated]';
    if (IntegrationError.isInstance(value)) return this.copy(this.redactError(value).toJSON(), depth + 1, seen);
    if (value instanceof Error) return { name: value.name, message: this.redact(value.message) };
    if (value instanceof Date) return value.toISOString();
    // `seen` holds the current path only: an object reached twice without a cycle is copied twice.
    seen.add(value);
    let out: unknown;
    if (Array.isArray(value)) out = value.map((item) => this.copy(item, depth + 1, seen));
    else {
      const record: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) record[key] = this.copy(item, depth + 1, seen);
      out = record;
    }
    seen.delete(value);
    return out;
  }

  /**
   * Scrubs an IntegrationError in place: message, stack and own string fields, the same along its cause chain
   * (what `toJSON`, `util.inspect` and log serialisers print), and config issues. In place, so the error keeps
   * its identity for whoever catches it. Returns it, or a scrubbed copy when it could not be changed (frozen):
   * the copy keeps the error's prototype and own fields, so a connector's subclass (with its extra fields)
   * survives.
   */
  redactError(error: IntegrationError): IntegrationError {
    if (this.pattern === undefined || this.scrub(error, 0)) return error;
    const copy = Object.create(Object.getPrototypeOf(error)) as IntegrationError;
    for (const key of Reflect.ownKeys(error)) {
      const descriptor = Object.getOwnPropertyDescriptor(error, key)!;
      if ('value' in descriptor) descriptor.writable = true;
      Object.defineProperty(copy, key, { ...descriptor, configurable: true });
    }
    this.scrub(copy, 0);
    return copy;
  }

  /** False when `value` still shows a secret after scrubbing (it could not be changed). */
  private scrub(value: unknown, depth: number): boolean {
    if (typeof value !== 'object' || value === null) return true;
    const e = value as Error & { issues?: unknown };
    setScrubbed(e, 'message', this);
    setScrubbed(e, 'stack', this);
    // Own string fields too (an SDK's `body` or `responseText`): error serialisers print enumerable props.
    for (const key of Object.keys(e)) setScrubbed(e, key, this);
    if (Array.isArray(e.issues)) {
      for (const issue of e.issues) {
        if (typeof issue === 'object' && issue !== null) setScrubbed(issue, 'message', this);
      }
    }
    const cause = e.cause;
    if (typeof cause === 'string') {
      setValue(e, 'cause', this.redact(cause));
    } else if (typeof cause === 'object' && cause !== null) {
      const clean =
        depth < 4 && (cause instanceof Error || IntegrationError.isInstance(cause))
          ? this.scrub(cause, depth + 1)
          : false;
      if (!clean) {
        // A response body, a frozen SDK error or a chain too deep: keep only a scrubbed summary of it.
        const name = cause instanceof Error ? cause.name : 'Error';
        const message = cause instanceof Error ? cause.message : JSON.stringify(this.redactValue(cause));
        const copy = new Error(this.redact(String(message)));
        copy.name = name;
        copy.stack = `${name}: ${copy.message}`;
        setValue(e, 'cause', copy);
      }
    }
    return (
      typeof e.message !== 'string' ||
      (this.redact(e.message) === e.message && (typeof e.stack !== 'string' || this.redact(e.stack) === e.stack))
    );
  }
}

function setScrubbed(target: object, key: string, redactor: Redactor): void {
  const value = (target as Record<string, unknown>)[key];
  if (typeof value !== 'string') return;
  const scrubbed = redactor.redact(value);
  if (scrubbed !== value) setValue(target, key, scrubbed);
}

function setValue(target: object, key: string, value: unknown): void {
  try {
    const enumerable = Object.getOwnPropertyDescriptor(target, key)?.enumerable ?? false;
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable });
  } catch {
    // Frozen: the caller sees the value is still unscrubbed and replaces the object instead.
  }
}
