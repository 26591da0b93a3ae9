import type { OpenApiDocument } from '../internal/openapi-document';
import type { HandlerMap } from '../dependencies/handler-map';

export function createMetaHandlers(deps: {
  document: OpenApiDocument;
}): Pick<HandlerMap, 'getOpenApiJson' | 'getOpenApiYaml'> {
  // Serialised now: the validator mutates the document it is given once it has loaded it.
  const json = JSON.stringify(deps.document);
  // The YAML form (~40 ms of start-up, plus loading the yaml package) is made for its first reader, from
  // the JSON snapshot; ready does not wait for it.
  let yaml: Promise<string> | undefined;
  const toYaml = async () => {
    const { stringify } = await import('yaml');
    return stringify(JSON.parse(json), { aliasDuplicateObjects: false });
  };
  return {
    getOpenApiJson: () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, encoded: json }),
    getOpenApiYaml: async () => {
      yaml ??= toYaml();
      return { status: 200, headers: { 'Content-Type': 'application/yaml' }, encoded: await yaml };
    },
  };
}
