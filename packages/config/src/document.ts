import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/** Where a key sits in the file: its line and column, and its path as written (inside an environment section or not). */
export interface Location {
  line: number;
  column: number;
  /** Dotted path in the file itself, e.g. `environments.production.integrations.stripe_main.config`. */
  filePath: string;
}

export type Path = readonly (string | number)[];

export const joinPath = (path: Path): string => path.map(String).join('.');

/** A parsed YAML file plus a map from every key path to where it was written. */
export interface ParsedDocument {
  value: unknown;
  locations: Map<string, Location>;
  syntaxErrors: { line: number; column: number; message: string }[];
}

export function parseYaml(text: string): ParsedDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locations = new Map<string, Location>();
  const syntaxErrors = doc.errors.map((error) => {
    const pos = lineCounter.linePos(error.pos[0]);
    return { line: pos.line, column: pos.col, message: error.message.split('\n')[0] ?? error.message };
  });

  const record = (path: Path, offset: number | undefined) => {
    if (offset === undefined) return;
    const pos = lineCounter.linePos(offset);
    locations.set(joinPath(path), { line: pos.line, column: pos.col, filePath: joinPath(path) });
  };
  const walk = (node: Node | null | undefined, path: Path) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childPath = [...path, key];
        record(childPath, (pair.key as Node | null)?.range?.[0]);
        walk(pair.value as Node | null, childPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const childPath = [...path, index];
        record(childPath, (item as Node | null)?.range?.[0]);
        walk(item as Node | null, childPath);
      });
    }
  };
  record([], doc.contents?.range?.[0] ?? 0);
  walk(doc.contents as Node | null, []);
  return { value: doc.toJS(), locations, syntaxErrors };
}

/**
 * Locations for the merged view of one environment: keys written under `environments.<env>` take the place of
 * the same keys at the top level, so an error in a merged value points at the line that set it.
 */
export function mergedLocations(locations: Map<string, Location>, environment: string): Map<string, Location> {
  const prefix = `environments.${environment}.`;
  const merged = new Map<string, Location>();
  for (const [path, location] of locations) {
    if (!path.startsWith('environments.') && path !== 'environments') merged.set(path, location);
  }
  for (const [path, location] of locations) {
    if (path.startsWith(prefix)) merged.set(path.slice(prefix.length), location);
  }
  return merged;
}

/** The location of `path`, or of its nearest ancestor that was written (a missing key points at its parent). */
export function locate(locations: Map<string, Location>, path: Path): Location | undefined {
  for (let end = path.length; end >= 0; end--) {
    const found = locations.get(joinPath(path.slice(0, end)));
    if (found) return found;
  }
  return undefined;
}
