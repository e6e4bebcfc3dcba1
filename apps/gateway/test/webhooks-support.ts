/**
 * What the webhook tests share: the machine's PostgreSQL (a schema of their own per run, dropped afterwards),
 * signatures made with the providers' own SDK helpers, and an HTTP receiver for forwarded events.
 */
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import postgres from 'postgres';
import Stripe from 'stripe';
import twilio from 'twilio';
import type { WebhookEvent } from '../src/index.js';

export const DATABASE_URL = process.env.WEBHOOKS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * True when PostgreSQL answers. Under CI a missing database fails the test file; locally the file is skipped,
 * loudly.
 */
export async function requirePostgres(): Promise<boolean> {
  const sql = postgres(DATABASE_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    const message =
      `PostgreSQL is not reachable at ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')} (${reason}): the webhook tests ` +
      'store events in it (trust auth, database "test"; set WEBHOOKS_DATABASE_URL to use another)';
    if (process.env.CI) throw new Error(message);
    console.warn(`SKIPPED: ${message}`);
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** A schema name of this run's own, so parallel files and other users of the database never meet. */
export function testSchema(name: string): string {
  return `gw_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Direct SQL on the test database, for what the gateway does not expose and for cleanup. */
export function database() {
  const sql = postgres(DATABASE_URL, { max: 2, onnotice: () => {} });
  return {
    sql,
    async rows(schema: string, where = 'true'): Promise<Record<string, unknown>[]> {
      return sql.unsafe(`SELECT * FROM "${schema}".webhook_events WHERE ${where} ORDER BY received_at`);
    },
    async drop(schema: string): Promise<void> {
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
    end: () => sql.end({ timeout: 5 }),
  };
}

// --- Stripe: the SDK's own test header (t=<timestamp>,v1=<HMAC-SHA256 of "t.payload">) ---

let sequence = 0;
export function stripeEvent(type = 'payment_intent.succeeded', extra: Record<string, unknown> = {}) {
  sequence++;
  const id = `evt_test_${process.pid}_${Date.now().toString(36)}_${sequence}`;
  return {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object: { id: `pi_${sequence}`, object: 'payment_intent', amount: 2000, currency: 'eur', ...extra } },
  };
}

export function stripeSignature(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

// --- Twilio: the SDK's own getExpectedTwilioSignature (HMAC-SHA1 of the URL and the sorted parameters) ---

export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

export function twilioStatusCallback(status = 'delivered'): Record<string, string> {
  sequence++;
  return {
    AccountSid: 'AC0123456789abcdef0123456789abcdef',
    ApiVersion: '2010-04-01',
    From: '+15005550006',
    To: '+15005550009',
    MessageSid: `SM${String(sequence).padStart(32, '0')}`,
    SmsSid: `SM${String(sequence).padStart(32, '0')}`,
    MessageStatus: status,
    SmsStatus: status,
  };
}

// --- SendGrid: an ECDSA P-256 key pair; SendGrid signs "<timestamp><payload>" with SHA-256, base64 DER ---

export interface SendGridKeys {
  /** Base64 DER (SPKI), as SendGrid's settings page shows the verification key. */
  publicKey: string;
  privateKey: KeyObject;
}

export function sendgridKeys(): SendGridKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), privateKey };
}

export function sendgridSignature(keys: SendGridKeys, timestamp: string, payload: string): string {
  return createSign('sha256')
    .update(timestamp + payload)
    .sign(keys.privateKey)
    .toString('base64');
}

export function sendgridEvents(count = 2) {
  const at = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => {
    sequence++;
    return {
      email: `user${i}@example.com`,
      timestamp: at,
      event: i % 2 === 0 ? 'delivered' : 'open',
      sg_event_id: `sg_event_${process.pid}_${sequence}`,
      sg_message_id: `msg_${sequence}.filter0001`,
    };
  });
}

// --- A receiver for forwarded events ---

export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface Receiver {
  readonly url: string;
  mode: ReceiverMode;
  /** Events answered 2xx, in order. */
  readonly delivered: WebhookEvent[];
  /** Every POST seen (answered or not), with its attempt header. */
  readonly seen: { eventId: string; attempt: string | undefined }[];
  /** Answers 500 to the next `times` deliveries of this event id. */
  failFor(eventId: string, times: number): void;
  close(): Promise<void>;
}

export async function startReceiver(path = '/events'): Promise<Receiver> {
  const state = { mode: 'ok' as ReceiverMode };
  const delivered: WebhookEvent[] = [];
  const seen: Receiver['seen'] = [];
  const failures = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const event = JSON.parse(body) as WebhookEvent;
      const attempt = req.headers['x-integrations-attempt'];
      seen.push({ eventId: event.eventId, attempt: typeof attempt === 'string' ? attempt : undefined });
      if (req.url !== path) {
        res.writeHead(404).end();
        return;
      }
      if (state.mode === 'hang') return;
      const failuresLeft = failures.get(event.eventId) ?? 0;
      if (failuresLeft > 0) failures.set(event.eventId, failuresLeft - 1);
      if (state.mode === 'fail' || failuresLeft > 0) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"downstream broken"}');
        return;
      }
      delivered.push(event);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: ReceiverMode) {
      state.mode = mode;
    },
    delivered,
    seen,
    failFor: (eventId, times) => {
      failures.set(eventId, times);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns a value (readiness, not timing: the bound is only a safety net). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, tries = 300) {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** A TCP relay in front of PostgreSQL that can be cut (connections reset, new ones refused) and restored. */
export interface TcpRelay {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return {
    port,
    cut: stop,
    restore: () => listen(port),
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
