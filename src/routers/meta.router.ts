import type { OpenApiDocument } from '../internal/openapi-document';
import type { HandlerMap } from '../dependencies/handler-map';
import { UnsupportedApiVersionError } from '../utils/errors';
import type { ApiVersions } from '../versions/api-versions';

export function createMetaHandlers(deps: {
  /** The latest version's document as served. */
  document: OpenApiDocument;
  versions: ApiVersions;
  /** An older version's document as served (naming this deployment); as bundled when absent. */
  forDeployment?: (document: OpenApiDocument) => OpenApiDocument;
}): Pick<HandlerMap, 'getOpenApiJson' | 'getOpenApiYaml'> {
  const { versions, forDeployment = (document) => document } = deps;
  // The latest is serialised now: the validator mutates the document it is given once it has loaded it.
  // An older version's text is made for its first reader; ready does not wait for it.
  const json = new Map<string, string>([[versions.latest, JSON.stringify(deps.document)]]);
  // The YAML form (~40 ms of start-up, plus loading the yaml package) is made for its first reader, from
  // the JSON text.
  const yaml = new Map<string, Promise<string>>();

  const jsonOf = (requested: string | undefined): string => {
    const version = requested ?? versions.latest;
    if (!versions.get(version)) throw new UnsupportedApiVersionError(version, versions.supported);
    let text = json.get(version);
    if (text === undefined) {
      text = JSON.stringify(forDeployment(versions.documentOf(version)));
      json.set(version, text);
    }
    return text;
  };
  const yamlOf = (requested: string | undefined): Promise<string> => {
    const text = jsonOf(requested);
    const version = requested ?? versions.latest;
    let pending = yaml.get(version);
    if (!pending) {
      pending = import('yaml').then(({ stringify }) =>
        stringify(JSON.parse(text), { aliasDuplicateObjects: false }),
      );
      yaml.set(version, pending);
    }
    return pending;
  };

  return {
    getOpenApiJson: (req) => ({
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      encoded: jsonOf(req.query.version),
    }),
    getOpenApiYaml: async (req) => ({
      status: 200,
      headers: { 'Content-Type': 'application/yaml' },
      encoded: await yamlOf(req.query.version),
    }),
  };
}
