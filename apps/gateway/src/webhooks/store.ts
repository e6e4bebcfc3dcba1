/**
 * The durable event store: one PostgreSQL table. An event is inserted (and the commit flushed to disk) before the
 * provider gets its 2xx; a unique constraint on (tenant, integration, event id) makes a redelivery a no-op; the
 * delivery worker claims due rows with FOR UPDATE SKIP LOCKED, so any number of gateway replicas share one table
 * without delivering an event twice at once; dead letters are rows in the `dead` state, listed and replayed in SQL.
 */
import { randomUUID } from 'node:crypto';
import type { ServerWebhookSettings } from '@integrations/config';
import postgres from 'postgres';

export type EventStatus = 'pending' | 'delivered' | 'dead';

/** A verified event as the route stores it. */
export interface NewWebhookEvent {
  tenant: string;
  integration: string;
  provider: string;
  /** The provider's event id: the dedupe key within (tenant, integration). */
  eventId: string;
  type: string;
  occurredAt?: string | undefined;
  payload: unknown;
}

/** An event as stored. */
export interface StoredWebhookEvent {
  /** The gateway's id for the event (a UUID): what dead-letter replay takes. */
  id: string;
  tenant: string;
  integration: string;
  provider: string;
  eventId: string;
  type: string;
  occurredAt: string | null;
  receivedAt: string;
  payload: unknown;
  status: EventStatus;
  /** Delivery attempts started, including one in progress. */
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  deliveredAt: string | null;
  deadAt: string | null;
  /** How often the event was replayed from the dead letters. */
  replays: number;
}

export interface DeadLetterQuery {
  tenant?: string | undefined;
  integration?: string | undefined;
  limit?: number | undefined;
}

/** Raised when the store cannot be reached or prepared. The message names the server, never its password. */
export class WebhookStoreError extends Error {
  override readonly name = 'WebhookStoreError';
}

type Settings = ServerWebhookSettings['store'];

interface Row {
  id: string;
  tenant: string;
  integration: string;
  provider: string;
  event_id: string;
  event_type: string;
  occurred_at: Date | null;
  received_at: Date;
  payload: unknown;
  status: EventStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  delivered_at: Date | null;
  dead_at: Date | null;
  replays: number;
}

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

function toEvent(row: Row): StoredWebhookEvent {
  return {
    id: row.id,
    tenant: row.tenant,
    integration: row.integration,
    provider: row.provider,
    eventId: row.event_id,
    type: row.event_type,
    occurredAt: iso(row.occurred_at),
    receivedAt: row.received_at.toISOString(),
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at.toISOString(),
    lastError: row.last_error,
    deliveredAt: iso(row.delivered_at),
    deadAt: iso(row.dead_at),
    replays: row.replays,
  };
}

/** `postgres://user:secret@db:5432/app` → `postgres://db:5432/app`, for messages. */
export function describeUrl(url: string): string {
  if (!URL.canParse(url)) return 'postgres (unparseable URL)';
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PostgresWebhookStore {
  private constructor(
    private readonly sql: postgres.Sql,
    private readonly table: string,
    readonly schema: string,
  ) {}

  /** Connects and creates the schema, table and indexes if they are missing (safe from several replicas at once). */
  static async open(settings: Settings, options: { applicationName?: string } = {}): Promise<PostgresWebhookStore> {
    const sql = postgres(settings.url, {
      max: settings.maxConnections,
      connect_timeout: 10,
      idle_timeout: 60,
      onnotice: () => {},
      connection: {
        application_name: options.applicationName ?? 'integrations-gateway',
        // The 2xx promises the event survives a crash: never acknowledge a commit that is not on disk yet.
        synchronous_commit: 'on',
      },
    });
    const schema = settings.schema;
    const table = `"${schema}".webhook_events`;
    try {
      await sql.begin(async (tx) => {
        // CREATE ... IF NOT EXISTS races with itself across replicas: serialise it on an advisory lock.
        await tx`SELECT pg_advisory_xact_lock(hashtext(${`integrations-webhooks:${schema}`}))`;
        await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await tx.unsafe(`
          CREATE TABLE IF NOT EXISTS ${table} (
            id uuid PRIMARY KEY,
            tenant text NOT NULL,
            integration text NOT NULL,
            provider text NOT NULL,
            event_id text NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz,
            received_at timestamptz NOT NULL DEFAULT now(),
            payload json NOT NULL,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error text,
            delivered_at timestamptz,
            dead_at timestamptz,
            replays integer NOT NULL DEFAULT 0,
            CONSTRAINT webhook_events_dedupe UNIQUE (tenant, integration, event_id)
          )`);
        await tx.unsafe(
          `CREATE INDEX IF NOT EXISTS webhook_events_due ON ${table} (next_attempt_at) WHERE status = 'pending'`,
        );
        await tx.unsafe(`CREATE INDEX IF NOT EXISTS webhook_events_dead ON ${table} (dead_at) WHERE status = 'dead'`);
      });
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      const reason = (error as { code?: string; message?: string }).code ?? (error as Error).message;
      throw new WebhookStoreError(
        `webhook store ${describeUrl(settings.url)} (schema "${schema}") cannot be used: ${reason}`,
      );
    }
    return new PostgresWebhookStore(sql, table, schema);
  }

  /**
   * Stores a verified event; resolves once the commit is durable. A second event with the same (tenant,
   * integration, event id) is not stored again: `duplicate` is true and `id` is the first one's.
   */
  async insert(event: NewWebhookEvent): Promise<{ id: string; duplicate: boolean }> {
    const id = randomUUID();
    const inserted = await this.sql.unsafe<{ id: string }[]>(
      `INSERT INTO ${this.table} (id, tenant, integration, provider, event_id, event_type, occurred_at, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json)
       ON CONFLICT ON CONSTRAINT webhook_events_dedupe DO NOTHING
       RETURNING id`,
      [
        id,
        event.tenant,
        event.integration,
        event.provider,
        event.eventId,
        event.type,
        event.occurredAt ?? null,
        JSON.stringify(event.payload ?? null),
      ],
    );
    if (inserted.length > 0) return { id, duplicate: false };
    const [first] = await this.sql.unsafe<{ id: string }[]>(
      `SELECT id FROM ${this.table} WHERE tenant = $1 AND integration = $2 AND event_id = $3`,
      [event.tenant, event.integration, event.eventId],
    );
    return { id: first?.id ?? id, duplicate: true };
  }

  /**
   * Takes up to `limit` due events for delivery: counts the attempt and moves the next attempt `leaseMs` ahead, so
   * an event whose worker died is picked up again once the lease runs out. `integrations` limits the claim to
   * events of those integrations (when only they have a handler).
   */
  async claim(limit: number, leaseMs: number, integrations?: readonly string[]): Promise<StoredWebhookEvent[]> {
    if (limit <= 0 || integrations?.length === 0) return [];
    const filter = integrations ? 'AND integration = ANY($3::text[])' : '';
    const rows = await this.sql.unsafe<Row[]>(
      `UPDATE ${this.table} AS e
       SET attempts = e.attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond'
       WHERE e.id IN (
         SELECT id FROM ${this.table}
         WHERE status = 'pending' AND next_attempt_at <= now() ${filter}
         ORDER BY next_attempt_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED)
       RETURNING e.*`,
      integrations ? [limit, leaseMs, integrations as string[]] : [limit, leaseMs],
    );
    return rows.map(toEvent).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  }

  async markDelivered(id: string): Promise<void> {
    await this.sql.unsafe(
      `UPDATE ${this.table} SET status = 'delivered', delivered_at = now(), last_error = NULL
       WHERE id = $1 AND status = 'pending'`,
      [id],
    );
  }

  /**
   * Records a failed attempt: the next one after `delayMs`, or the dead letters once `maxAttempts` were made. Only
   * the worker holding the latest claim (`attempt`) may do this; a stale worker's result is ignored.
   */
  async markFailed(
    id: string,
    attempt: number,
    error: string,
    delayMs: number,
    maxAttempts: number,
  ): Promise<'retry' | 'dead' | 'stale'> {
    const rows = await this.sql.unsafe<{ status: EventStatus }[]>(
      `UPDATE ${this.table}
       SET last_error = $3,
           status = CASE WHEN attempts >= $5 THEN 'dead' ELSE 'pending' END,
           dead_at = CASE WHEN attempts >= $5 THEN now() ELSE NULL END,
           next_attempt_at = now() + $4 * interval '1 millisecond'
       WHERE id = $1 AND attempts = $2 AND status = 'pending'
       RETURNING status`,
      [id, attempt, error.slice(0, 2000), delayMs, maxAttempts],
    );
    const [row] = rows;
    if (!row) return 'stale';
    return row.status === 'dead' ? 'dead' : 'retry';
  }

  async get(id: string): Promise<StoredWebhookEvent | undefined> {
    if (!UUID.test(id)) return undefined;
    const [row] = await this.sql.unsafe<Row[]>(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return row ? toEvent(row) : undefined;
  }

  /** Events by status, oldest first (for tests and tools). */
  async list(status: EventStatus, limit = 1000): Promise<StoredWebhookEvent[]> {
    const rows = await this.sql.unsafe<Row[]>(
      `SELECT * FROM ${this.table} WHERE status = $1 ORDER BY received_at, id LIMIT $2`,
      [status, limit],
    );
    return rows.map(toEvent);
  }

  /** Dead letters, newest first, with the total that match. */
  async deadLetters(query: DeadLetterQuery = {}): Promise<{ total: number; items: StoredWebhookEvent[] }> {
    const where = [`status = 'dead'`];
    const params: unknown[] = [];
    if (query.tenant !== undefined) {
      params.push(query.tenant);
      where.push(`tenant = $${params.length}`);
    }
    if (query.integration !== undefined) {
      params.push(query.integration);
      where.push(`integration = $${params.length}`);
    }
    const condition = where.join(' AND ');
    const [count] = await this.sql.unsafe<{ total: string }[]>(
      `SELECT count(*) AS total FROM ${this.table} WHERE ${condition}`,
      params as postgres.ParameterOrJSON<never>[],
    );
    params.push(Math.min(Math.max(query.limit ?? 50, 1), 500));
    const rows = await this.sql.unsafe<Row[]>(
      `SELECT * FROM ${this.table} WHERE ${condition} ORDER BY dead_at DESC, id LIMIT $${params.length}`,
      params as postgres.ParameterOrJSON<never>[],
    );
    return { total: Number(count?.total ?? 0), items: rows.map(toEvent) };
  }

  /**
   * Puts a dead letter back in the queue with a fresh set of attempts. False when there is no dead letter with
   * this id (within `tenant`, when given).
   */
  async replay(id: string, tenant?: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await this.sql.unsafe(
      `UPDATE ${this.table}
       SET status = 'pending', attempts = 0, next_attempt_at = now(), dead_at = NULL, replays = replays + 1
       WHERE id = $1 AND status = 'dead' AND ($2::text IS NULL OR tenant = $2)
       RETURNING id`,
      [id, tenant ?? null],
    );
    return rows.length > 0;
  }

  /** Forgets delivered events older than `days` (their ids stop deduplicating). Returns how many. */
  async prune(days: number): Promise<number> {
    const rows = await this.sql.unsafe(
      `DELETE FROM ${this.table} WHERE status = 'delivered' AND received_at < now() - $1 * interval '1 day' RETURNING id`,
      [days],
    );
    return rows.length;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
