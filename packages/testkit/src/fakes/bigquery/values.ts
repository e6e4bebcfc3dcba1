/**
 * Table schemas and cell values as BigQuery's REST API treats them: streaming-insert rows are checked against the
 * table schema (a value that does not fit its column is a row-level error, as in BigQuery), stored in a canonical
 * form, and written back out as `{ f: [{ v }] }` rows whose scalars are strings.
 */
import { invalid } from './errors.js';

export interface FieldSchema {
  name: string;
  type: string;
  mode?: string;
  description?: string;
  fields?: FieldSchema[];
}

/** A stored value: scalars in canonical string form, records as objects, repeated fields as arrays. */
export type StoredValue = string | null | StoredValue[] | { [name: string]: StoredValue };
export type StoredRow = Record<string, StoredValue>;

/** The REST API reports the legacy type names, whichever spelling the table was created with. */
const TYPE_NAMES: Record<string, string> = {
  STRING: 'STRING',
  BYTES: 'BYTES',
  INTEGER: 'INTEGER',
  INT64: 'INTEGER',
  FLOAT: 'FLOAT',
  FLOAT64: 'FLOAT',
  NUMERIC: 'NUMERIC',
  BIGNUMERIC: 'BIGNUMERIC',
  BOOLEAN: 'BOOLEAN',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  GEOGRAPHY: 'GEOGRAPHY',
  JSON: 'JSON',
  RECORD: 'RECORD',
  STRUCT: 'RECORD',
};

const MODES = new Set(['NULLABLE', 'REQUIRED', 'REPEATED']);
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

/** Checks a table schema the way tables.insert does and returns it with canonical type names and modes. */
export function normalizeSchema(fields: unknown, path = ''): FieldSchema[] {
  if (!Array.isArray(fields)) throw invalid('Table schema must have a "fields" array.');
  const seen = new Set<string>();
  return fields.map((raw): FieldSchema => {
    const f = raw as Partial<FieldSchema> | null;
    if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || !FIELD_NAME.test(f.name)) {
      throw invalid(
        `Invalid field name "${String(f?.name)}". Fields must contain only letters, numbers, and underscores.`,
      );
    }
    const full = path ? `${path}.${f.name}` : f.name;
    const lower = f.name.toLowerCase();
    if (seen.has(lower)) throw invalid(`Field ${full} already exists in schema`);
    seen.add(lower);
    const type = TYPE_NAMES[String(f.type ?? '').toUpperCase()];
    if (!type) throw invalid(`Invalid value for type: ${String(f.type)} is not a valid value`, full);
    const mode = String(f.mode ?? 'NULLABLE').toUpperCase();
    if (!MODES.has(mode)) throw invalid(`Invalid value for mode: ${String(f.mode)} is not a valid value`, full);
    const out: FieldSchema = { name: f.name, type, mode };
    if (typeof f.description === 'string') out.description = f.description;
    if (type === 'RECORD') {
      if (!Array.isArray(f.fields) || f.fields.length === 0) {
        throw invalid(`Field ${full} is type RECORD but has no schema`, full);
      }
      out.fields = normalizeSchema(f.fields, full);
    }
    return out;
  });
}

/** A value that does not fit its column: becomes one entry of a row's insertErrors. */
export class CellError extends Error {
  readonly location: string;
  constructor(location: string, message: string) {
    super(message);
    this.location = location;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function validDate(text: string): boolean {
  const m = DATE.exec(text.slice(0, 10));
  if (!m) return false;
  const date = new Date(`${text.slice(0, 10)}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.getUTCDate() === Number(m[3]);
}

/** Microseconds since the epoch from a JSON timestamp: seconds as a number, or a date-time string. */
function timestampMicros(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value * 1e6));
  if (typeof value !== 'string') return undefined;
  if (DECIMAL.test(value.trim())) return BigInt(Math.round(Number(value) * 1e6));
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d{1,9})?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)?$/i.exec(
    value.trim(),
  );
  if (!m || !validDate(m[1] ?? '')) return undefined;
  let zone = m[4] ?? 'Z';
  if (/^utc$/i.test(zone)) zone = 'Z';
  else if (/^[+-]\d{2}$/.test(zone)) zone = `${zone}:00`;
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${zone.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = (m[3] ?? '.').slice(1).padEnd(6, '0').slice(0, 6);
  return BigInt(ms) * 1000n + BigInt(fraction || '0');
}

/** Converts one scalar to its canonical stored form, or returns the reason it does not fit. */
export function convertScalar(type: string, value: unknown): { value: string } | { error: string } {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  switch (type) {
    case 'STRING':
    case 'GEOGRAPHY':
      if (typeof value === 'string') return { value };
      if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
      return { error: `Cannot convert value to string: ${shown}` };
    case 'BYTES':
      if (typeof value === 'string' && BASE64.test(value) && value.length % 4 === 0) return { value };
      return { error: `Cannot convert value to bytes (expected base64): ${shown}` };
    case 'INTEGER': {
      const text = typeof value === 'number' ? (Number.isInteger(value) ? value.toFixed(0) : '') : value;
      if (typeof text === 'string' && /^[+-]?\d+$/.test(text.trim())) {
        const n = BigInt(text.trim());
        if (n >= INT64_MIN && n <= INT64_MAX) return { value: n.toString() };
        return { error: `Value out of range for INT64: ${shown}` };
      }
      return { error: `Cannot convert value to integer (bad value): ${shown}` };
    }
    case 'FLOAT': {
      if (typeof value === 'number' && Number.isFinite(value)) return { value: String(value) };
      const text = typeof value === 'string' ? value.trim() : '';
      if (DECIMAL.test(text)) return { value: String(Number(text)) };
      // BigQuery's JSON also takes the special values as strings.
      if (/^nan$/i.test(text)) return { value: 'NaN' };
      if (/^[+-]?inf(inity)?$/i.test(text)) return { value: text.startsWith('-') ? '-Infinity' : 'Infinity' };
      return { error: `Cannot convert value to floating point (bad value): ${shown}` };
    }
    case 'NUMERIC':
    case 'BIGNUMERIC':
      if (typeof value === 'number' && Number.isFinite(value)) return { value: String(value) };
      if (typeof value === 'string' && DECIMAL.test(value.trim())) return { value: value.trim() };
      return { error: `Invalid ${type} value: ${shown}` };
    case 'BOOLEAN':
      if (typeof value === 'boolean') return { value: String(value) };
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim()))
        return { value: value.trim().toLowerCase() };
      return { error: `Cannot convert value to boolean: ${shown}` };
    case 'TIMESTAMP': {
      const micros = timestampMicros(value);
      if (micros === undefined) return { error: `Cannot convert value to timestamp: ${shown}` };
      return { value: micros.toString() };
    }
    case 'DATE':
      if (typeof value === 'string' && DATE.test(value) && validDate(value)) return { value };
      return { error: `Invalid date: '${shown}'` };
    case 'TIME':
      if (typeof value === 'string' && TIME.test(value)) return { value };
      return { error: `Invalid time string "${shown}"` };
    case 'DATETIME':
      if (typeof value === 'string' && DATETIME.test(value) && validDate(value))
        return { value: value.replace(' ', 'T') };
      return { error: `Invalid datetime string "${shown}"` };
    case 'JSON':
      return { value: JSON.stringify(value) };
    default:
      return { error: `Unsupported type ${type}` };
  }
}

function convertField(field: FieldSchema, value: unknown, path: string, ignoreUnknown: boolean): StoredValue {
  if (field.mode === 'REPEATED') {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw new CellError(path, `Array specified for non-repeated field: ${path}.`);
    return value.map((item) => {
      if (item === null) throw new CellError(path, `Array ${path} cannot have a null element.`);
      return convertOne(field, item, path, ignoreUnknown);
    });
  }
  if (value === null || value === undefined) {
    if (field.mode === 'REQUIRED') throw new CellError(path, `Missing required field: ${path}.`);
    return null;
  }
  if (Array.isArray(value)) throw new CellError(path, `Array specified for non-repeated field: ${path}.`);
  return convertOne(field, value, path, ignoreUnknown);
}

function convertOne(field: FieldSchema, value: unknown, path: string, ignoreUnknown: boolean): StoredValue {
  if (field.type === 'RECORD') {
    if (typeof value !== 'object' || value === null) throw new CellError(path, `This field: ${path} is not a record.`);
    return convertRecord(field.fields ?? [], value as Record<string, unknown>, `${path}.`, ignoreUnknown);
  }
  const result = convertScalar(field.type, value);
  if ('error' in result) throw new CellError(path, result.error);
  return result.value;
}

function convertRecord(
  fields: readonly FieldSchema[],
  json: Record<string, unknown>,
  prefix: string,
  ignoreUnknown: boolean,
): StoredRow {
  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  if (!ignoreUnknown) {
    for (const key of Object.keys(json)) {
      if (!byName.has(key.toLowerCase())) throw new CellError(`${prefix}${key}`, `no such field: ${prefix}${key}.`);
    }
  }
  const lowerJson = new Map(Object.entries(json).map(([k, v]) => [k.toLowerCase(), v]));
  const out: StoredRow = {};
  for (const field of fields) {
    out[field.name] = convertField(
      field,
      lowerJson.get(field.name.toLowerCase()),
      `${prefix}${field.name}`,
      ignoreUnknown,
    );
  }
  return out;
}

/** Converts one insertAll row's `json` against the table schema; throws CellError naming the bad field. */
export function convertRow(fields: readonly FieldSchema[], json: unknown, ignoreUnknown: boolean): StoredRow {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CellError('', 'Row must be a JSON object.');
  }
  return convertRecord(fields, json as Record<string, unknown>, '', ignoreUnknown);
}

export interface CellFormat {
  /** Timestamps as int64 microseconds (formatOptions.useInt64Timestamp) instead of float seconds. */
  int64Timestamp: boolean;
}

export interface TableCell {
  v: unknown;
}

function encodeValue(field: FieldSchema, value: StoredValue, format: CellFormat): unknown {
  if (value === null) return null;
  if (field.mode === 'REPEATED' && Array.isArray(value)) {
    return value.map((item) => ({ v: encodeValue({ ...field, mode: 'NULLABLE' }, item, format) }));
  }
  if (field.type === 'RECORD') return encodeRow(field.fields ?? [], value as StoredRow, format);
  if (field.type === 'TIMESTAMP' && !format.int64Timestamp) {
    // Float seconds, as the API sends timestamps without formatOptions.useInt64Timestamp.
    return String(Number(BigInt(value as string)) / 1e6);
  }
  return value;
}

/** A stored row as the API sends it: `{ f: [{ v }] }` in schema order. */
export function encodeRow(fields: readonly FieldSchema[], row: StoredRow, format: CellFormat): { f: TableCell[] } {
  return { f: fields.map((field) => ({ v: encodeValue(field, row[field.name] ?? null, format) })) };
}

/** A stored row as plain JSON (for tests that look inside the fake). */
export function decodeRow(fields: readonly FieldSchema[], row: StoredRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) out[field.name] = decodeValue(field, row[field.name] ?? null);
  return out;
}

function decodeValue(field: FieldSchema, value: StoredValue): unknown {
  if (value === null) return null;
  if (field.mode === 'REPEATED' && Array.isArray(value)) {
    return value.map((item) => decodeValue({ ...field, mode: 'NULLABLE' }, item));
  }
  if (field.type === 'RECORD') return decodeRow(field.fields ?? [], value as StoredRow);
  if (field.type === 'JSON') return JSON.parse(value as string) as unknown;
  if (field.type === 'INTEGER') {
    const n = BigInt(value as string);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
  }
  if (field.type === 'FLOAT') return Number(value);
  if (field.type === 'BOOLEAN') return value === 'true';
  if (field.type === 'TIMESTAMP') {
    const micros = BigInt(value as string);
    const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
    const seconds = (micros - fraction) / 1_000_000n;
    const iso = new Date(Number(seconds) * 1000).toISOString();
    return `${iso.slice(0, 19)}.${fraction.toString().padStart(6, '0')}Z`;
  }
  return value;
}
