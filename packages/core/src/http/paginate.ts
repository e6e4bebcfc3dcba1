import { IntegrationError } from '../errors.js';
import type { HttpClient, HttpResponse, Query, RequestOptions } from './client.js';

/** The next page is asked for with a cursor the previous page returned. */
export interface CursorStrategy<Page, Item = unknown> {
  type: 'cursor';
  cursorParam: string;
  /** The cursor for the next page; null, undefined or '' when this was the last page. */
  getCursor(page: Page, response: HttpResponse<Page>): string | number | null | undefined;
  /** Where the cursor goes: a query parameter (default) or a field of the JSON body (search endpoints). */
  cursorIn?: 'query' | 'json' | undefined;
  getItems?(page: Page): readonly Item[];
}

/** Each page links to the next (`next` field, or a Link header read from `response.headers`). */
export interface NextUrlStrategy<Page, Item = unknown> {
  type: 'nextUrl';
  /** Absolute, or relative to the page's URL; null, undefined or '' when this was the last page. */
  getNextUrl(page: Page, response: HttpResponse<Page>): string | null | undefined;
  getItems?(page: Page): readonly Item[];
}

/** Pages are addressed by offset and limit. */
export interface OffsetStrategy<Page, Item = unknown> {
  type: 'offset';
  limitParam: string;
  offsetParam: string;
  /** Page size. Without `getTotal`, a shorter page ends the walk, so keep it within the provider's maximum. */
  limit: number;
  /** First offset. Default 0. */
  start?: number | undefined;
  getItems(page: Page): readonly Item[];
  /** The collection's size, when the provider reports it; the walk ends once the offset reaches it. */
  getTotal?(page: Page): number | null | undefined;
}

export type PaginationStrategy<Page, Item = unknown> =
  | CursorStrategy<Page, Item>
  | NextUrlStrategy<Page, Item>
  | OffsetStrategy<Page, Item>;

export interface PaginateOptions<Page, Item = unknown> {
  path: string;
  method?: string | undefined;
  query?: Query | undefined;
  json?: Record<string, unknown> | undefined;
  headers?: HeadersInit | undefined;
  signal?: AbortSignal | undefined;
  /** Stops a runaway walk. Default 1000; exceeding it throws rather than silently truncating. */
  maxPages?: number | undefined;
  strategy: PaginationStrategy<Page, Item>;
}

const DEFAULT_MAX_PAGES = 1000;

function shorten(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

function itemsOf<Page, Item>(getItems: (page: Page) => readonly Item[], page: Page, where: string): readonly Item[] {
  const items = getItems(page);
  if (!Array.isArray(items))
    throw new IntegrationError('internal', `pagination of ${where}: getItems did not return an array`);
  return items;
}

/**
 * Walks every page of a collection, yielding each parsed page. Guards against loops: a cursor or next URL seen
 * twice, or more than `maxPages` pages, throws an `internal` IntegrationError naming the walk.
 */
export async function* paginate<Page, Item = unknown>(
  client: HttpClient,
  options: PaginateOptions<Page, Item>,
): AsyncGenerator<Page, void, undefined> {
  const { strategy, path, query, json, headers, signal } = options;
  const method = (options.method ?? 'GET').toUpperCase();
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const { provider } = client;
  const where = `${method} ${path.split('?')[0]}`;
  const fail = (kind: 'internal' | 'invalid_request', message: string) =>
    new IntegrationError(kind, `${provider} pagination of ${where}: ${message}`, { provider });

  if (!Number.isInteger(maxPages) || maxPages < 1) throw fail('invalid_request', 'maxPages must be a positive integer');
  if (strategy.type === 'offset' && (!Number.isInteger(strategy.limit) || strategy.limit < 1)) {
    throw fail('invalid_request', 'offset strategy limit must be a positive integer');
  }
  if (!['cursor', 'nextUrl', 'offset'].includes(strategy.type)) {
    throw fail('invalid_request', `unknown strategy type ${JSON.stringify((strategy as { type: unknown }).type)}`);
  }

  const base: RequestOptions = { method, path, query, json, headers, signal };
  let request: RequestOptions = base;
  let offset = strategy.type === 'offset' ? (strategy.start ?? 0) : 0;
  const seen = new Set<string>();

  for (let pages = 1; ; pages++) {
    if (strategy.type === 'offset') {
      request = { ...base, query: { ...query, [strategy.limitParam]: strategy.limit, [strategy.offsetParam]: offset } };
    }
    const response = await client.send<Page>(request);
    const page = response.data;
    yield page;

    let next: RequestOptions;
    if (strategy.type === 'cursor') {
      const cursor = strategy.getCursor(page, response);
      if (cursor === null || cursor === undefined || cursor === '') return;
      const key = String(cursor);
      if (seen.has(key)) throw fail('internal', `loop detected, cursor "${shorten(key)}" came back twice`);
      seen.add(key);
      next =
        strategy.cursorIn === 'json'
          ? { ...base, json: { ...json, [strategy.cursorParam]: cursor } }
          : { ...base, query: { ...query, [strategy.cursorParam]: cursor } };
    } else if (strategy.type === 'nextUrl') {
      seen.add(response.url.href);
      const link = strategy.getNextUrl(page, response);
      if (link === null || link === undefined || link === '') return;
      let url: URL;
      try {
        url = new URL(link, response.url);
      } catch {
        throw fail('internal', 'the next URL is not a valid URL');
      }
      // The client would refuse too; this names the walk and keeps the full URL (it may be signed) out of the message.
      if (url.origin !== client.baseUrl.origin) {
        throw fail(
          'invalid_request',
          `next URL points to ${url.origin}, not ${client.baseUrl.origin}; not following it`,
        );
      }
      if (seen.has(url.href)) throw fail('internal', `loop detected, next URL ${url.pathname} came back twice`);
      next = { method, path: url.href, json, headers, signal };
    } else {
      const items = itemsOf(strategy.getItems, page, where);
      if (items.length === 0) return;
      offset += items.length;
      const total = strategy.getTotal?.(page);
      if (typeof total === 'number' ? offset >= total : items.length < strategy.limit) return;
      next = base;
    }
    if (pages >= maxPages) {
      throw fail(
        'internal',
        `more than maxPages (${maxPages}) pages, stopping; raise maxPages if the collection is that large`,
      );
    }
    request = next;
  }
}

/** Like `paginate`, yielding the items of each page (`strategy.getItems`). */
export async function* paginateItems<Page, Item>(
  client: HttpClient,
  options: PaginateOptions<Page, Item>,
): AsyncGenerator<Item, void, undefined> {
  const { getItems } = options.strategy;
  if (!getItems) {
    throw new IntegrationError('invalid_request', `${client.provider} paginateItems needs strategy.getItems`, {
      provider: client.provider,
    });
  }
  const where = `${(options.method ?? 'GET').toUpperCase()} ${options.path.split('?')[0]}`;
  for await (const page of paginate(client, options)) yield* itemsOf(getItems, page, where);
}
