import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiDocument } from '../internal/openapi-document';
import type { SecurityHandlers } from './authenticator';

/** The one validator mount: requests, responses and security, all from the bundled spec. */
export function createOpenApiValidator(deps: {
  document: OpenApiDocument;
  validateResponses: boolean;
  securityHandlers: SecurityHandlers;
}): RequestHandler[] {
  return OpenApiValidator.middleware({
    apiSpec: deps.document as unknown as string,
    validateRequests: {
      allowUnknownQueryParameters: false,
      coerceTypes: true,
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
}
