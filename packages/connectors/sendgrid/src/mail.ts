import { IntegrationError } from '@integrations/core';
import type { MailDataRequired } from '@sendgrid/mail';

/** `ada@example.com`, `Ada Lovelace <ada@example.com>`, or `{ email, name }`. */
export type Recipient = string | { email: string; name?: string | undefined };

/** One envelope: its own recipients, subject and template data. */
export interface Personalization {
  to: Recipient | Recipient[];
  cc?: Recipient | Recipient[] | undefined;
  bcc?: Recipient | Recipient[] | undefined;
  subject?: string | undefined;
  /** Handlebars data for a dynamic template (`templateId` starting with `d-`). */
  dynamicTemplateData?: Record<string, unknown> | undefined;
  /** Substitution values: the SDK wraps each key in `{{ }}`, so `{ name: 'Ada' }` fills `{{name}}`. */
  substitutions?: Record<string, string> | undefined;
  /** Carried to the event webhook for each message of this envelope. */
  customArgs?: Record<string, string> | undefined;
  headers?: Record<string, string> | undefined;
  /** Unix seconds, at most 72 hours ahead. */
  sendAt?: number | undefined;
}

export interface MailAttachment {
  /** The file: bytes, or a string already base64-encoded. */
  content: string | Uint8Array;
  filename: string;
  /** MIME type, e.g. `application/pdf`. */
  type?: string | undefined;
  disposition?: 'attachment' | 'inline' | undefined;
  /** For inline images referenced as `cid:…` in the HTML. */
  contentId?: string | undefined;
}

export interface SendMailParams {
  /** Recipients of a single envelope. Give this or `personalizations`. */
  to?: Recipient | Recipient[] | undefined;
  cc?: Recipient | Recipient[] | undefined;
  bcc?: Recipient | Recipient[] | undefined;
  /** Default: the config's `defaultFrom`. */
  from?: Recipient | undefined;
  replyTo?: Recipient | undefined;
  /** Required unless a template or every personalization supplies one. */
  subject?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
  /** A dynamic (`d-…`) or legacy template. With one, `text` and `html` may be left out. */
  templateId?: string | undefined;
  /** Handlebars data for a dynamic template, applied to every personalization. */
  dynamicTemplateData?: Record<string, unknown> | undefined;
  /** Several envelopes in one request, each with its own recipients and data. */
  personalizations?: Personalization[] | undefined;
  attachments?: MailAttachment[] | undefined;
  categories?: string[] | undefined;
  /** Headers added to the mail itself. */
  headers?: Record<string, string> | undefined;
  /** Unix seconds, at most 72 hours ahead. */
  sendAt?: number | undefined;
  /** A batch id from `batches.create`, to pause or cancel the scheduled send later. */
  batchId?: string | undefined;
}

export interface SendMailResult {
  /** 202: SendGrid accepted the mail for delivery. */
  statusCode: number;
  /** SendGrid's `X-Message-Id`: the prefix of `sg_message_id` in the events for this mail. */
  messageId: string | undefined;
}

/** A mail checked and completed (the sender filled in): what `toMailData` hands the SDK. */
export interface CheckedMail extends SendMailParams {
  from: Recipient;
}

function invalid(code: string, message: string): IntegrationError {
  return new IntegrationError('invalid_request', `send: ${message}`, { provider: 'sendgrid', code, retryable: false });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function present(value: Recipient | Recipient[] | undefined): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== '';
}

/**
 * SendGrid would answer 400 to each of these; saying so before sending names the field and costs no request.
 * Address syntax and everything else are left to SendGrid (and the SDK's own checks).
 */
export function checkMail(params: SendMailParams, defaultFrom: string | undefined): CheckedMail {
  if (typeof params !== 'object' || params === null) throw invalid('invalid_mail', 'expected a mail object');
  const from = params.from ?? defaultFrom;
  if (from === undefined || from === '') {
    throw invalid('missing_from', '`from` is required (or set `defaultFrom` in the config)');
  }
  const personalizations = params.personalizations;
  const direct = present(params.to) || present(params.cc) || present(params.bcc);
  if (personalizations !== undefined) {
    if (direct) throw invalid('conflicting_recipients', 'give recipients in `to` or in `personalizations`, not both');
    if (!Array.isArray(personalizations) || personalizations.length === 0) {
      throw invalid('missing_to', '`personalizations` must hold at least one envelope');
    }
    personalizations.forEach((p, i) => {
      if (!present(p?.to)) throw invalid('missing_to', `\`personalizations[${i}].to\` is required`);
    });
  } else if (!present(params.to)) {
    throw invalid('missing_to', '`to` (or `personalizations`) is required');
  }
  const template = typeof params.templateId === 'string' && params.templateId !== '';
  if (!template && !params.text && !params.html) {
    throw invalid('missing_content', '`text` or `html` is required (or a `templateId`)');
  }
  const everySubject = personalizations?.every((p) => typeof p.subject === 'string' && p.subject !== '') ?? false;
  if (!template && !params.subject && !everySubject) {
    throw invalid(
      'missing_subject',
      '`subject` is required (or a `templateId`, or a subject in every personalization)',
    );
  }
  const dynamicData =
    params.dynamicTemplateData ?? personalizations?.find((p) => p.dynamicTemplateData)?.dynamicTemplateData;
  if (dynamicData !== undefined && !params.templateId?.startsWith('d-')) {
    throw invalid(
      'invalid_template',
      '`dynamicTemplateData` needs a dynamic template: a `templateId` starting with d-',
    );
  }
  params.attachments?.forEach((a, i) => {
    if (typeof a?.filename !== 'string' || a.filename === '') {
      throw invalid('invalid_attachment', `\`attachments[${i}].filename\` is required`);
    }
    if (typeof a.content === 'string') {
      const compact = a.content.replace(/\s+/g, '');
      if (compact === '' || compact.length % 4 !== 0 || !BASE64.test(compact)) {
        throw invalid(
          'invalid_attachment',
          `\`attachments[${i}].content\` must be base64 (or pass the bytes as a Buffer or Uint8Array)`,
        );
      }
    } else if (!(a.content instanceof Uint8Array) || a.content.byteLength === 0) {
      throw invalid('invalid_attachment', `\`attachments[${i}].content\` is required: bytes or a base64 string`);
    }
  });
  return { ...params, from };
}

/** Our params → the SDK's mail data. Bytes are base64-encoded here: the SDK mangles Buffers it has to clone. */
export function toMailData(mail: CheckedMail): MailDataRequired {
  const data: Record<string, unknown> = {
    from: mail.from,
    // The SDK prints template-data warnings to the console; a library must not.
    hideWarnings: true,
  };
  const copy = (key: keyof SendMailParams) => {
    if (mail[key] !== undefined) data[key] = mail[key];
  };
  for (const key of [
    'to',
    'cc',
    'bcc',
    'replyTo',
    'subject',
    'text',
    'html',
    'templateId',
    'dynamicTemplateData',
    'personalizations',
    'categories',
    'headers',
    'sendAt',
    'batchId',
  ] as const) {
    copy(key);
  }
  if (mail.attachments) {
    data.attachments = mail.attachments.map((a) => ({
      content:
        typeof a.content === 'string' ? a.content.replace(/\s+/g, '') : Buffer.from(a.content).toString('base64'),
      filename: a.filename,
      ...(a.type ? { type: a.type } : {}),
      ...(a.disposition ? { disposition: a.disposition } : {}),
      // The SDK passes attachments through without renaming their keys.
      ...(a.contentId ? { content_id: a.contentId } : {}),
    }));
  }
  return data as unknown as MailDataRequired;
}
