import { stringify } from 'yaml';
import type { OpenApiDocument } from '../internal/openapi-document';
import type { HandlerMap } from './handler-map';

export function createMetaHandlers(deps: {
  document: OpenApiDocument;
}): Pick<HandlerMap, 'getOpenApiJson' | 'getOpenApiYaml'> {
  // Encoded once: the document does not change while the process runs.
  const json = JSON.stringify(deps.document);
  const yaml = stringify(deps.document, { aliasDuplicateObjects: false });
  return {
    getOpenApiJson: () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, encoded: json }),
    getOpenApiYaml: () => ({ status: 200, headers: { 'Content-Type': 'application/yaml' }, encoded: yaml }),
  };
}
