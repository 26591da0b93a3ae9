import { stringify } from 'yaml';
import type { OpenApiDocument } from '../internal/openapi-document';
import type { HandlerMap } from './handler-map';

export function createMetaHandlers(deps: {
  document: OpenApiDocument;
}): Pick<HandlerMap, 'getOpenApiJson' | 'getOpenApiYaml'> {
  const json = JSON.stringify(deps.document);
  const yaml = stringify(deps.document, { aliasDuplicateObjects: false });
  return {
    getOpenApiJson: (_req, res) => {
      res.type('application/json').end(json);
    },
    getOpenApiYaml: (_req, res) => {
      res.type('application/yaml').end(yaml);
    },
  };
}
