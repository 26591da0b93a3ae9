import rendition30 from '../../generated/openapi-3.0.json';
import type { HandlerMap } from '../dependencies/handler-map';
import { forDeployment } from '../internal/deployment-document';
import type { OpenApiDocument } from '../internal/openapi-document';

/**
 * The contract in other shapes than the 3.1 source, for tools that need them: the OpenAPI 3.0.3 rendition
 * `npm run generate` writes (scripts/openapi-3.0/convert.ts), naming this deployment as /openapi.json does.
 */
export function createOpenApiRenditionHandlers(deps: {
  publicBaseUrl: string;
}): Pick<HandlerMap, 'getOpenApi30Json'> {
  const json = JSON.stringify(forDeployment(rendition30 as unknown as OpenApiDocument, deps.publicBaseUrl));
  return {
    getOpenApi30Json: () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, encoded: json }),
  };
}
