import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** Validators for the JSON Schemas inside one OpenAPI 3.1 document, addressed by their JSON pointer. */
export interface DocumentSchemas {
  /** The schema at `tokens` (unescaped pointer tokens), compiled on first use; `$ref`s resolve in the document. */
  validatorAt(tokens: readonly string[]): ValidateFunction;
}

const DOCUMENT_ID = 'urn:partner-api:openapi';

/**
 * The document is registered whole under one id and each schema compiled when it is first asked for, so
 * start-up pays nothing. A snapshot is taken now: later changes to the caller's document (the request
 * validator mutates the one it is given) must not reach schemas compiled later.
 */
export function createDocumentSchemas(document: Record<string, unknown>): DocumentSchemas {
  const snapshot = structuredClone(document);
  let ajv: Ajv2020 | undefined;
  const compiled = new Map<string, ValidateFunction>();
  return {
    validatorAt: (tokens) => {
      const ref = `${DOCUMENT_ID}#/${tokens.map(escapePointerToken).join('/')}`;
      let validate = compiled.get(ref);
      if (!validate) {
        ajv ??= createAjv(snapshot);
        validate = ajv.compile({ $ref: ref });
        compiled.set(ref, validate);
      }
      return validate;
    },
  };
}

function createAjv(document: Record<string, unknown>): Ajv2020 {
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

/** `/data/0/name must NOT have fewer than 1 characters` */
export function describeSchemaError(error: ErrorObject): string {
  return `${error.instancePath || '/'} ${error.message ?? error.keyword}`;
}
