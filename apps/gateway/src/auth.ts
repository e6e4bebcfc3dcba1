/**
 * Who is calling: the admin (every tenant) or one tenant. Keys are compared as SHA-256 digests with
 * timingSafeEqual against every configured key, so neither the key nor its position leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Principal = { readonly kind: 'admin' } | { readonly kind: 'tenant'; readonly tenant: string };

/** What a request may see: one tenant, or every tenant (`tenant` undefined, admin only). */
export interface Scope {
  readonly principal: Principal;
  readonly tenant: string | undefined;
}

interface Entry {
  digest: Buffer;
  principal: Principal;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

export class KeyRing {
  private readonly entries: Entry[] = [];
  private readonly tenants: ReadonlySet<string>;

  constructor(adminKey: string | undefined, tenants: readonly { id: string; apiKeys: readonly string[] }[]) {
    if (adminKey) this.entries.push({ digest: digest(adminKey), principal: { kind: 'admin' } });
    for (const tenant of tenants) {
      for (const key of tenant.apiKeys) {
        this.entries.push({ digest: digest(key), principal: { kind: 'tenant', tenant: tenant.id } });
      }
    }
    this.tenants = new Set(tenants.map((t) => t.id));
  }

  /** The principal a key belongs to, or undefined. Visits every entry whatever matches. */
  identify(key: string | undefined): Principal | undefined {
    if (key === undefined || key === '') return undefined;
    const candidate = digest(key);
    let found: Principal | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(candidate, entry.digest) && found === undefined) found = entry.principal;
    }
    return found;
  }

  /**
   * The scope for a principal asking for `requested` (the X-Tenant-Id header). Undefined means "not found":
   * a tenant asking for another tenant and the admin asking for a tenant that does not exist get the same
   * answer, so a caller cannot learn which tenants exist.
   */
  scope(principal: Principal, requested: string | undefined): Scope | undefined {
    if (principal.kind === 'tenant') {
      return requested === undefined || requested === principal.tenant
        ? { principal, tenant: principal.tenant }
        : undefined;
    }
    if (requested === undefined) return { principal, tenant: undefined };
    return this.tenants.has(requested) ? { principal, tenant: requested } : undefined;
  }
}

/** The API key a request carries: `Authorization: Bearer <key>`, else `X-Api-Key`. */
export function presentedKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() || undefined : undefined;
}

/** The tenant a request asks for; an empty header counts as none. */
export function requestedTenant(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const value = headers['x-tenant-id'];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
