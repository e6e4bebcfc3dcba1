/**
 * Which webhook endpoints exist: one per tenant and integration with a `webhooks` section, each with the verifier
 * it uses (the connector's own, or the generic HMAC-SHA256 scheme the config describes) and its limits.
 */
import type { HmacWebhookSettings, LoadedConfig } from '@integrations/config';
import type { WebhookVerifier } from '@integrations/core';
import { hmacSha256Verifier, signedPayloadTemplate } from '@integrations/core/webhooks';
import { tenantsOf } from '../setup.js';

export interface WebhookEndpoint {
  tenant: string;
  integration: string;
  /** The connector id. */
  provider: string;
  verifier: WebhookVerifier;
  secrets: readonly string[];
  /** Undefined: the verifier's own default. */
  toleranceMs: number | undefined;
  maxBodyBytes: number;
  forwardUrl: string | undefined;
}

export function hmacVerifier(provider: string, settings: HmacWebhookSettings): WebhookVerifier {
  return hmacSha256Verifier({
    provider,
    signatureHeader: settings.signatureHeader,
    timestampHeader: settings.timestampHeader,
    prefix: settings.prefix,
    encoding: settings.encoding,
    signedPayload: settings.signedPayload ? signedPayloadTemplate(settings.signedPayload) : undefined,
    idField: settings.idField,
    idHeader: settings.idHeader,
    typeField: settings.typeField,
    typeHeader: settings.typeHeader,
  });
}

export class WebhookEndpoints {
  private readonly byKey = new Map<string, WebhookEndpoint>();

  constructor(config: LoadedConfig) {
    const integrations = new Map(config.integrations.map((i) => [i.name, i]));
    const verifiers = new Map<string, WebhookVerifier>();
    for (const tenant of tenantsOf(config)) {
      for (const name of tenant.integrations) {
        const integration = integrations.get(name);
        const settings = integration?.webhooks;
        if (!integration || !settings || !integration.enabled) continue;
        let verifier = verifiers.get(name);
        if (!verifier) {
          verifier =
            settings.scheme === 'hmac-sha256' && settings.hmac
              ? hmacVerifier(integration.connector.id, settings.hmac)
              : integration.connector.webhooks;
          // The loader refuses a connector scheme without a verifier; nothing to serve otherwise.
          if (!verifier) continue;
          verifiers.set(name, verifier);
        }
        this.byKey.set(`${tenant.id}/${name}`, {
          tenant: tenant.id,
          integration: name,
          provider: integration.connector.id,
          verifier,
          secrets: settings.secrets,
          toleranceMs: settings.toleranceSeconds === undefined ? undefined : settings.toleranceSeconds * 1000,
          maxBodyBytes: settings.maxBodyBytes,
          forwardUrl: settings.forwardUrl ?? config.server.webhooks?.forwardUrl,
        });
      }
    }
  }

  get(tenant: string, integration: string): WebhookEndpoint | undefined {
    return this.byKey.get(`${tenant}/${integration}`);
  }

  all(): WebhookEndpoint[] {
    return [...this.byKey.values()];
  }

  /** The largest body any endpoint accepts: the parser's hard limit (each endpoint then applies its own). */
  maxBodyBytes(): number {
    return Math.max(0, ...this.all().map((e) => e.maxBodyBytes));
  }

  /** Where an integration's events are forwarded: its own URL, else the server's. */
  forwardUrlOf(integration: string): string | undefined {
    return this.all().find((e) => e.integration === integration)?.forwardUrl;
  }
}
