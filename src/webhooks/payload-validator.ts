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
 * One validator per webhook in the document (`webhooks[type].post.requestBody.content
 * ['application/json'].schema`): the webhook's key is the event type. Refs such as
 * `#/components/schemas/Item` resolve inside the document, which is registered whole under one id.
 * Each schema is compiled when its type is first delivered (~80 ms for all of them, kept off start-up);
 * tests/contract/webhooks.contract.test.ts compiles every webhook of the bundled spec, so one that cannot
 * compile fails CI. A webhook without a JSON body is refused here, at once.
 */
export function createWebhookPayloadValidator(document: WebhooksDocument): WebhookPayloadValidator {
  const schemaRefs = new Map<string, string>();
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
    schemaRefs.set(type, `${DOCUMENT_ID}#/${pointer}`);
  }

  // Taken now: later changes to the caller's document must not reach schemas compiled later.
  const snapshot = structuredClone(document);
  let ajv: Ajv2020 | undefined;
  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (type: string, ref: string): ValidateFunction => {
    let validate = compiled.get(type);
    if (!validate) {
      ajv ??= createAjv(snapshot);
      validate = ajv.compile({ $ref: ref });
      compiled.set(type, validate);
    }
    return validate;
  };

  return (eventType, payload) => {
    const ref = schemaRefs.get(eventType);
    if (!ref) return { valid: false, errors: [`The spec declares no webhook ${eventType}.`] };
    const validate = validatorFor(eventType, ref);
    if (validate(payload)) return { valid: true };
    return { valid: false, errors: (validate.errors ?? []).map(describe) };
  };
}

function createAjv(document: WebhooksDocument): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    // OpenAPI keywords (example, discriminator, x-*) are not JSON Schema; everything else stays strict.
    strictSchema: false,
    strictTypes: false,
    strictTuples: true,
    validateFormats: true,
  });
  addFormats(ajv, { mode: 'full' });
  ajv.addSchema(document, DOCUMENT_ID);
  return ajv;
}

function escapePointerToken(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function describe(error: ErrorObject): string {
  return `${error.instancePath || '/'} ${error.message ?? error.keyword}`;
}
