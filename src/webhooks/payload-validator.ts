import { createDocumentSchemas, describeSchemaError } from '../utils/document-schemas';

export type PayloadValidation = { valid: true } | { valid: false; errors: string[] };

/** Checks an event's envelope against the spec's `webhooks` entry named by its type. */
export type WebhookPayloadValidator = (
  eventType: string,
  payload: unknown,
  apiVersion?: string,
) => PayloadValidation;

/** The part of an OpenAPI 3.1 document the validator reads; the rest is only a target for `$ref`s. */
export interface WebhooksDocument {
  webhooks?: Record<string, unknown>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * One validator per webhook in the document (`webhooks[type].post.requestBody.content
 * ['application/json'].schema`): the webhook's key is the event type. Refs such as
 * `#/components/schemas/Item` resolve inside the document. Each schema is compiled when its type is first
 * delivered (~80 ms for all of them, kept off start-up); tests/contract/webhooks.contract.test.ts compiles
 * every webhook of the bundled spec, so one that cannot compile fails CI. A webhook without a JSON body is
 * refused here, at once.
 */
export function createWebhookPayloadValidator(document: WebhooksDocument): WebhookPayloadValidator {
  const declared = new Set<string>();
  for (const [type, webhook] of Object.entries(document.webhooks ?? {})) {
    const pathItem = webhook as {
      post?: { requestBody?: { content?: Record<string, { schema?: unknown }> } };
    };
    if (pathItem.post?.requestBody?.content?.['application/json']?.schema === undefined) {
      throw new Error(`The webhook ${type} declares no application/json request body schema.`);
    }
    declared.add(type);
  }
  const schemas = createDocumentSchemas(document);

  return (eventType, payload) => {
    if (!declared.has(eventType))
      return { valid: false, errors: [`The spec declares no webhook ${eventType}.`] };
    const validate = schemas.validatorAt([
      'webhooks',
      eventType,
      'post',
      'requestBody',
      'content',
      'application/json',
      'schema',
    ]);
    if (validate(payload)) return { valid: true };
    return { valid: false, errors: (validate.errors ?? []).map(describeSchemaError) };
  };
}

/** Each payload checked against the `webhooks` of the API version it was rendered at (the latest when unnamed). */
export function createVersionedPayloadValidator(versions: {
  latest: string;
  documentOf(version: string): WebhooksDocument;
}): WebhookPayloadValidator {
  const validators = new Map<string, WebhookPayloadValidator>();
  return (eventType, payload, apiVersion = versions.latest) => {
    let validate = validators.get(apiVersion);
    if (!validate) {
      validate = createWebhookPayloadValidator(versions.documentOf(apiVersion));
      validators.set(apiVersion, validate);
    }
    return validate(eventType, payload);
  };
}
