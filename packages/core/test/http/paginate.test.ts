import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { bearer, createHttpClient, paginate, paginateItems } from '../../src/http/index.js';
import { sendJson, startServer, type TestServer } from './server.js';

let server: TestServer;
let other: TestServer;
beforeAll(async () => {
  [server, other] = await Promise.all([startServer(), startServer()]);
});
afterAll(() => Promise.all([server.close(), other.close()]));
beforeEach(() => {
  server.reset();
  other.reset();
});

async function failure(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(IntegrationError.isInstance(error), `expected an IntegrationError, got ${String(error)}`).toBe(true);
  return error as IntegrationError;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

const ITEMS = Array.from({ length: 23 }, (_, i) => ({ id: i }));
type Item = { id: number };

const client = () => createHttpClient({ baseUrl: `${server.origin}/api`, provider: 'acme', auth: bearer('pg-token') });
const paths = () => server.requests.map((r) => r.url);

describe('cursor', () => {
  interface Page {
    data: Item[];
    next_cursor: string | null;
  }

  it('follows the cursor in the query until it runs out', async () => {
    server.handle((req, res) => {
      const url = new URL(req.url, server.origin);
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const limit = Number(url.searchParams.get('limit'));
      const next = start + limit < ITEMS.length ? String(start + limit) : null;
      sendJson(res, 200, { data: ITEMS.slice(start, start + limit), next_cursor: next });
    });
    const options = {
      path: '/items',
      query: { limit: 10 },
      strategy: {
        type: 'cursor',
        cursorParam: 'cursor',
        getCursor: (p: Page) => p.next_cursor,
        getItems: (p: Page) => p.data,
      },
    } as const;
    const pages = await collect(paginate(client(), options));
    expect(pages.map((p) => p.data.length)).toEqual([10, 10, 3]);
    expect(paths()).toEqual(['/api/items?limit=10', '/api/items?limit=10&cursor=10', '/api/items?limit=10&cursor=20']);
    server.reset();
    expect(await collect(paginateItems(client(), options))).toEqual(ITEMS);
  });

  it('puts the cursor in the JSON body for search endpoints', async () => {
    server.handle((req, res) => {
      const body = JSON.parse(req.body) as { query: string; start_cursor?: string };
      const start = Number(body.start_cursor ?? 0);
      sendJson(res, 200, {
        results: ITEMS.slice(start, start + 20),
        next: start + 20 < 23 ? String(start + 20) : null,
      });
    });
    type Search = { results: Item[]; next: string | null };
    const items = await collect(
      paginateItems(client(), {
        path: '/search',
        method: 'POST',
        json: { query: 'x' },
        strategy: {
          type: 'cursor',
          cursorParam: 'start_cursor',
          cursorIn: 'json',
          getCursor: (p: Search) => p.next,
          getItems: (p: Search) => p.results,
        },
      }),
    );
    expect(items).toEqual(ITEMS);
    expect(server.requests.map((r) => [r.method, r.body])).toEqual([
      ['POST', '{"query":"x"}'],
      ['POST', '{"query":"x","start_cursor":"20"}'],
    ]);
  });

  it('throws when a cursor comes back twice', async () => {
    server.handle((_req, res) => sendJson(res, 200, { data: [], next_cursor: 'same' }));
    const error = await failure(
      collect(
        paginate(client(), {
          path: '/items',
          strategy: { type: 'cursor', cursorParam: 'cursor', getCursor: (p: Page) => p.next_cursor },
        }),
      ),
    );
    expect(error.kind).toBe('internal');
    expect(error.message).toBe('acme pagination of GET /items: loop detected, cursor "same" came back twice');
    expect(server.requests).toHaveLength(2);
  });

  it('throws past maxPages rather than truncating silently', async () => {
    let n = 0;
    server.handle((_req, res) => sendJson(res, 200, { data: [], next_cursor: `c${++n}` }));
    const error = await failure(
      collect(
        paginate(client(), {
          path: '/endless',
          maxPages: 5,
          strategy: { type: 'cursor', cursorParam: 'cursor', getCursor: (p: Page) => p.next_cursor },
        }),
      ),
    );
    expect(error.kind).toBe('internal');
    expect(error.message).toContain('more than maxPages (5)');
    expect(server.requests).toHaveLength(5);
  });
});

describe('nextUrl', () => {
  interface Page {
    items: Item[];
    next?: string;
  }

  it('follows absolute and relative next links', async () => {
    server.handle((req, res) => {
      const page = Number(new URL(req.url, server.origin).searchParams.get('page') ?? 1);
      const links: Record<number, string> = {
        1: `${server.origin}/api/items?page=2&size=10`, // absolute
        2: '/api/items?page=3&size=10', // path-absolute
      };
      const next = links[page];
      sendJson(res, 200, { items: ITEMS.slice((page - 1) * 10, page * 10), ...(next ? { next } : {}) });
    });
    const items = await collect(
      paginateItems(client(), {
        path: '/items',
        query: { size: 10 },
        strategy: { type: 'nextUrl', getNextUrl: (p: Page) => p.next, getItems: (p: Page) => p.items },
      }),
    );
    expect(items).toEqual(ITEMS);
    expect(paths()).toEqual(['/api/items?size=10', '/api/items?page=2&size=10', '/api/items?page=3&size=10']);
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer pg-token')).toBe(true);
  });

  it('can read the next link from a Link header', async () => {
    server.handle((req, res) => {
      const page = Number(new URL(req.url, server.origin).searchParams.get('page') ?? 1);
      const link = page < 3 ? { link: `<?page=${page + 1}>; rel="next", <?page=1>; rel="first"` } : undefined;
      sendJson(res, 200, ITEMS.slice((page - 1) * 10, page * 10), link);
    });
    const items = await collect(
      paginateItems<Item[], Item>(client(), {
        path: '/repos',
        strategy: {
          type: 'nextUrl',
          getNextUrl: (_page, response) => /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1],
          getItems: (page) => page,
        },
      }),
    );
    expect(items).toEqual(ITEMS);
    expect(paths()).toEqual(['/api/repos', '/api/repos?page=2', '/api/repos?page=3']);
  });

  it('refuses a next URL on another origin, so the token never leaves', async () => {
    server.handle((_req, res) =>
      sendJson(res, 200, { items: [], next: `${other.origin}/api/items?page=2&sig=s3cr3t` }),
    );
    other.handle((_req, res) => sendJson(res, 200, { items: [] }));
    const iterator = paginate(client(), {
      path: '/items',
      strategy: { type: 'nextUrl', getNextUrl: (p: Page) => p.next },
    });
    expect((await iterator.next()).done).toBe(false);
    const error = await failure(iterator.next());
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain(`next URL points to ${other.origin}`);
    expect(error.message).not.toContain('s3cr3t');
    expect(other.requests).toHaveLength(0);
  });

  it('throws when a next link points back to a page already read', async () => {
    server.handle((req, res) =>
      sendJson(res, 200, { items: [], next: req.url.includes('page=2') ? '/api/items' : '/api/items?page=2' }),
    );
    const error = await failure(
      collect(paginate(client(), { path: '/items', strategy: { type: 'nextUrl', getNextUrl: (p: Page) => p.next } })),
    );
    expect(error.kind).toBe('internal');
    expect(error.message).toContain('loop detected, next URL /api/items came back twice');
    expect(server.requests).toHaveLength(2);
  });
});

describe('offset', () => {
  interface Page {
    results: Item[];
    total?: number;
  }

  function serve(withTotal: boolean) {
    server.handle((req, res) => {
      const url = new URL(req.url, server.origin);
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      sendJson(res, 200, {
        results: ITEMS.slice(offset, offset + limit),
        ...(withTotal ? { total: ITEMS.length } : {}),
      });
    });
  }

  it('stops at the reported total', async () => {
    serve(true);
    const items = await collect(
      paginateItems(client(), {
        path: '/list',
        strategy: {
          type: 'offset',
          limitParam: 'limit',
          offsetParam: 'offset',
          limit: 10,
          getItems: (p: Page) => p.results,
          getTotal: (p: Page) => p.total,
        },
      }),
    );
    expect(items).toEqual(ITEMS);
    expect(paths()).toEqual([
      '/api/list?limit=10&offset=0',
      '/api/list?limit=10&offset=10',
      '/api/list?limit=10&offset=20',
    ]);
  });

  it('without a total, stops at a short or empty page', async () => {
    serve(false);
    const strategy = {
      type: 'offset',
      limitParam: 'limit',
      offsetParam: 'offset',
      getItems: (p: Page) => p.results,
    } as const;
    expect(await collect(paginateItems(client(), { path: '/list', strategy: { ...strategy, limit: 10 } }))).toEqual(
      ITEMS,
    );
    expect(server.requests).toHaveLength(3);
    server.reset();
    expect(
      await collect(paginateItems(client(), { path: '/list', strategy: { ...strategy, limit: 23, start: 0 } })),
    ).toEqual(ITEMS);
    expect(paths()).toEqual(['/api/list?limit=23&offset=0', '/api/list?limit=23&offset=23']);
  });

  it('rejects a bad limit', async () => {
    const error = await failure(
      collect(
        paginate(client(), {
          path: '/list',
          strategy: { type: 'offset', limitParam: 'l', offsetParam: 'o', limit: 0, getItems: () => [] },
        }),
      ),
    );
    expect(error.kind).toBe('invalid_request');
    expect(server.requests).toHaveLength(0);
  });
});

describe('walks in general', () => {
  type Page = { data: Item[]; next_cursor: string | null };
  const strategy = {
    type: 'cursor',
    cursorParam: 'cursor',
    getCursor: (p: Page) => p.next_cursor,
    getItems: (p: Page) => p.data,
  } as const;

  function serveCursor() {
    server.handle((req, res) => {
      const start = Number(new URL(req.url, server.origin).searchParams.get('cursor') ?? 0);
      sendJson(res, 200, {
        data: ITEMS.slice(start, start + 5),
        next_cursor: start + 5 < 23 ? String(start + 5) : null,
      });
    });
  }

  it('stops fetching when the consumer stops', async () => {
    serveCursor();
    const seen: Item[] = [];
    for await (const item of paginateItems(client(), { path: '/items', strategy })) {
      seen.push(item);
      if (seen.length === 7) break;
    }
    expect(seen).toEqual(ITEMS.slice(0, 7));
    expect(server.requests).toHaveLength(2);
  });

  it('respects the signal between pages', async () => {
    serveCursor();
    const controller = new AbortController();
    const iterator = paginate(client(), { path: '/items', strategy, signal: controller.signal });
    await iterator.next();
    controller.abort();
    const error = await failure(iterator.next());
    expect(error.kind).toBe('cancelled');
    expect(server.requests).toHaveLength(1);
  });

  it('surfaces a failing page as its mapped error', async () => {
    server.handle((req, res) =>
      req.url.includes('cursor')
        ? sendJson(res, 503, { message: 'try later' }, { 'retry-after': '1' })
        : sendJson(res, 200, { data: [], next_cursor: 'c2' }),
    );
    const error = await failure(collect(paginate(client(), { path: '/items', strategy })));
    expect(error.kind).toBe('unavailable');
    expect(error.retryAfterMs).toBe(1000);
  });

  it('needs getItems to yield items', async () => {
    const error = await failure(
      collect(
        paginateItems(client(), {
          path: '/items',
          strategy: { type: 'cursor', cursorParam: 'c', getCursor: () => null },
        }),
      ),
    );
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain('getItems');
  });
});
