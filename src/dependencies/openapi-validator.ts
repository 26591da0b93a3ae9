import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiDocument } from '../internal/openapi-document';
import type { SecurityHandlers } from './authenticator';
import { refuseNonFiniteNumbers } from './http-semantics';

/** The one validator mount: requests, responses and security, all from the bundled spec; one gap closed. */
export function createOpenApiValidator(deps: {
  document: OpenApiDocument;
  /**
   * Check the document against the OpenAPI 3.1 schema before serving (compiling that schema takes
   * ~100 ms of CPU). The bundled spec is checked once by its contract test instead of by every process.
   */
  validateSpec: boolean;
  validateResponses: boolean;
  securityHandlers: SecurityHandlers;
}): RequestHandler[] {
  const validator = OpenApiValidator.middleware({
    apiSpec: deps.document as unknown as string,
    validateApiSpec: deps.validateSpec,
    validateRequests: {
      allowUnknownQueryParameters: false,
      // Query, path and header strings are always coerced; this governs bodies, where JSON has real types.
      coerceTypes: false,
      removeAdditional: false,
      allErrors: true,
    },
    validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
    validateSecurity: { handlers: deps.securityHandlers },
    validateFormats: true,
    ajvFormats: { mode: 'full' },
    ignoreUndocumented: false,
    $refParser: { mode: 'bundle' },
  }) as RequestHandler[];
  return [...validator, refuseNonFiniteNumbers];
}
