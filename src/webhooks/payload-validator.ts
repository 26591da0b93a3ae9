import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export type PayloadValidation = { valid: true } | { valid: false; errors: string[] };

/** Checks an event's envelope against the spec's `webhooks` entry named by its type. */
export type WebhookPayloadValidator = (eventType: string, payload: unknown) => PayloadValidation;

/** The part of an OpenAPI 3.1 document the validator reads; the rest is only a target for `$ref`s. */
export interface WebhooksDocument {
  webhooks?: Record<string, unknown>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

const DOCUMENT_ID = 'urn:partner-api:openapi';

/**
 * One compiled validator per webhook in the document (`webhooks[type].post.requestBody.content
 * ['application/json'].schema`): the webhook's key is the event type. Refs such as
 * `#/components/schemas/Item` resolve inside the document, which is registered whole under one id.
 * Compiled once at start, so a schema the validator cannot compile stops the process there.
 */
export function createWebhookPayloadValidator(document: WebhooksDocument): WebhookPayloadValidator {
  const ajv = new Ajv2020({
    allErrors: true,
    // OpenAPI keywords (example, discriminator, x-*) are not JSON Schema; everything else stays strict.
    strictSchema: false,
    strictTypes: false,
    strictTuples: true,
    validateFormats: true,
  });
  addFormats(ajv, { mode: 'full' });
  ajv.addSchema(structuredClone(document), DOCUMENT_ID);

  const validators = new Map<string, ValidateFunction>();
  for (const [type, webhook] of Object.entries(document.webhooks ?? {})) {
    const pathItem = webhook as {
      post?: { requestBody?: { content?: Record<string, { schema?: unknown }> } };
    };
    if (pathItem.post?.requestBody?.content?.['application/json']?.schema === undefined) {
      throw new Error(`The webhook ${type} declares no application/json request body schema.`);
    }
    const pointer = ['webhooks', type, 'post', 'requestBody', 'content', 'application/json', 'schema']
      .map(escapePointerToken)
      .join('/');
    validators.set(type, ajv.compile({ $ref: `${DOCUMENT_ID}#/${pointer}` }));
  }

  return (eventType, payload) => {
    const validate = validators.get(eventType);
    if (!validate) return { valid: false, errors: [`The spec declares no webhook ${eventType}.`] };
    if (validate(payload)) return { valid: true };
    return { valid: false, errors: (validate.errors ?? []).map(describe) };
  };
}

function escapePointerToken(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function describe(error: ErrorObject): string {
  return `${error.instancePath || '/'} ${error.message ?? error.keyword}`;
}
