/**
 * The GoogleSQL subset the fake runs:
 *
 *   SELECT * | col [, col ...] FROM `[project.]dataset.table` [WHERE col = @param|literal [AND ...]] [LIMIT n]
 *
 * Anything else is answered with BigQuery's 400 invalidQuery, naming what this fake does not support.
 */
import { invalidQuery } from './errors.js';
import { convertScalar, type FieldSchema } from './values.js';

export interface TableName {
  projectId: string | undefined;
  datasetId: string | undefined;
  tableId: string;
}

export type Operand = { kind: 'param'; name: string } | { kind: 'literal'; type: string; value: string | null };

export interface Condition {
  column: string;
  operand: Operand;
}

export interface SelectStatement {
  columns: string[] | '*';
  table: TableName;
  where: Condition[];
  limit: number | undefined;
}

const SUBSET =
  'this BigQuery fake runs only: SELECT * | col, ... FROM `dataset.table` [WHERE col = @param [AND ...]] [LIMIT n]';

type Token = { type: 'word' | 'quoted' | 'string' | 'number' | 'param' | 'symbol'; text: string; at: number };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '`') {
      const end = sql.indexOf('`', i + 1);
      if (end === -1) throw invalidQuery(`Syntax error: Unclosed identifier literal at [1:${start + 1}]`);
      tokens.push({ type: 'quoted', text: sql.slice(i + 1, end), at: start });
      i = end + 1;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < sql.length && sql[j] !== c) {
        if (sql[j] === '\\' && j + 1 < sql.length) j++;
        text += sql[j];
        j++;
      }
      if (j >= sql.length) throw invalidQuery(`Syntax error: Unclosed string literal at [1:${start + 1}]`);
      tokens.push({ type: 'string', text, at: start });
      i = j + 1;
    } else if (c === '@') {
      const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i));
      if (!m) throw invalidQuery(`Syntax error: Unexpected "@" at [1:${start + 1}]`);
      tokens.push({ type: 'param', text: m[1] as string, at: start });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(sql.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'number', text: m[0], at: start });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)*/.exec(sql.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'word', text: m[0], at: start });
      i += m[0].length;
    } else {
      tokens.push({ type: 'symbol', text: c, at: start });
      i++;
    }
  }
  return tokens;
}

function parseTableName(text: string, at: number): TableName {
  const parts = text.split('.');
  if (parts.some((p) => p === '') || parts.length > 3) {
    throw invalidQuery(`Syntax error: Invalid table name \`${text}\` at [1:${at + 1}]`);
  }
  if (parts.length === 3) return { projectId: parts[0], datasetId: parts[1], tableId: parts[2] as string };
  if (parts.length === 2) return { projectId: undefined, datasetId: parts[0], tableId: parts[1] as string };
  return { projectId: undefined, datasetId: undefined, tableId: parts[0] as string };
}

export function parseSelect(sql: string): SelectStatement {
  const tokens = tokenize(sql.trim().replace(/;\s*$/, ''));
  let pos = 0;
  const peek = () => tokens[pos];
  const unexpected = (what: string): never => {
    const t = peek();
    const found = t ? `"${t.text}" at [1:${t.at + 1}]` : 'end of input';
    throw invalidQuery(`Syntax error: Expected ${what} but got ${found}; ${SUBSET}`);
  };
  const keyword = (word: string) => {
    const t = peek();
    if (t?.type === 'word' && t.text.toUpperCase() === word) {
      pos++;
      return true;
    }
    return false;
  };
  const expectKeyword = (word: string) => {
    if (!keyword(word)) unexpected(`keyword ${word}`);
  };

  expectKeyword('SELECT');
  let columns: string[] | '*';
  if (peek()?.type === 'symbol' && peek()?.text === '*') {
    pos++;
    columns = '*';
  } else {
    columns = [];
    do {
      const t = peek();
      if (t?.type !== 'word' && t?.type !== 'quoted') unexpected('a column name');
      columns.push((t as Token).text);
      pos++;
    } while (peek()?.type === 'symbol' && peek()?.text === ',' && ++pos);
  }
  expectKeyword('FROM');
  const tableToken = peek();
  if (tableToken?.type !== 'quoted' && tableToken?.type !== 'word') return unexpected('a table name');
  pos++;
  const table = parseTableName(tableToken.text, tableToken.at);

  const where: Condition[] = [];
  if (keyword('WHERE')) {
    do {
      const col = peek();
      if (col?.type !== 'word' && col?.type !== 'quoted') unexpected('a column name');
      pos++;
      if (!(peek()?.type === 'symbol' && peek()?.text === '=')) unexpected('"="');
      pos++;
      const value = peek();
      let operand: Operand;
      if (value?.type === 'param') operand = { kind: 'param', name: value.text };
      else if (value?.type === 'string') operand = { kind: 'literal', type: 'STRING', value: value.text };
      else if (value?.type === 'number') {
        operand = { kind: 'literal', type: /[.eE]/.test(value.text) ? 'FLOAT64' : 'INT64', value: value.text };
      } else if (value?.type === 'word' && /^(true|false)$/i.test(value.text)) {
        operand = { kind: 'literal', type: 'BOOL', value: value.text.toLowerCase() };
      } else if (value?.type === 'word' && /^null$/i.test(value.text)) {
        operand = { kind: 'literal', type: 'NULL', value: null };
      } else return unexpected('a query parameter or a literal');
      pos++;
      where.push({ column: (col as Token).text, operand });
    } while (keyword('AND'));
  }

  let limit: number | undefined;
  if (keyword('LIMIT')) {
    const n = peek();
    if (n?.type !== 'number' || !/^\d+$/.test(n.text)) return unexpected('an integer LIMIT');
    limit = Number(n.text);
    pos++;
  }
  if (pos < tokens.length) unexpected('end of statement');
  return { columns, table, where, limit };
}

/** A named query parameter as the API carries it (QueryParameter). */
export interface QueryParameter {
  name?: string;
  parameterType?: { type?: string };
  parameterValue?: { value?: string | number | boolean | null };
}

/** Types that compare with one another in `=`. */
function comparisonGroup(type: string): string {
  if (['INT64', 'INTEGER', 'FLOAT64', 'FLOAT', 'NUMERIC', 'BIGNUMERIC'].includes(type)) return 'number';
  if (type === 'BOOL' || type === 'BOOLEAN') return 'bool';
  return type;
}

/** The value a condition compares with, in the column's canonical form; null never matches. */
export function resolveOperand(
  condition: Condition,
  field: FieldSchema,
  params: ReadonlyMap<string, QueryParameter>,
): string | null {
  let type: string;
  let value: string | null;
  if (condition.operand.kind === 'param') {
    const param = params.get(condition.operand.name.toLowerCase());
    if (!param) throw invalidQuery(`Query parameter '${condition.operand.name}' not found`);
    type = String(param.parameterType?.type ?? 'STRING').toUpperCase();
    // The Node SDK sends BOOL and numeric values as JSON booleans and numbers; BigQuery accepts both forms.
    const raw: unknown = param.parameterValue?.value;
    value = raw === undefined || raw === null ? null : String(raw);
  } else {
    type = condition.operand.type;
    value = condition.operand.value;
  }
  if (value === null) return null;
  if (field.type === 'RECORD' || field.mode === 'REPEATED') {
    throw invalidQuery(
      `Equality is not defined for arguments of type ${field.mode === 'REPEATED' ? 'ARRAY' : 'STRUCT'}`,
    );
  }
  if (comparisonGroup(type) !== comparisonGroup(field.type)) {
    throw invalidQuery(
      `No matching signature for operator = for argument types: ${field.type}, ${type}. Supported signature: ANY = ANY`,
    );
  }
  if (comparisonGroup(type) === 'number') return String(Number(value));
  const converted = convertScalar(field.type, value);
  if ('error' in converted) throw invalidQuery(`Could not cast literal "${value}" to type ${field.type}`);
  return converted.value;
}
