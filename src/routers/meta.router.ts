import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { OpenApiDocument } from '../internal/openapi-document';
import { ServiceUnavailableError } from '../utils/errors';
import type { HandlerMap } from './handler-map';

// Redoc renders with inline scripts and a blob: web worker; only this page gets a CSP that allows them.
const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; worker-src blob:; connect-src 'self'; frame-ancestors 'none'";

export function createMetaHandlers(deps: {
  document: OpenApiDocument;
  docsHtmlPath: string;
}): Pick<HandlerMap, 'getOpenApiJson' | 'getOpenApiYaml' | 'getApiDocs'> {
  const json = JSON.stringify(deps.document);
  const yaml = stringify(deps.document, { aliasDuplicateObjects: false });
  const docsPath = resolve(deps.docsHtmlPath);
  return {
    getOpenApiJson: (_req, res) => {
      res.type('application/json').end(json);
    },
    getOpenApiYaml: (_req, res) => {
      res.type('application/yaml').end(yaml);
    },
    getApiDocs: async (_req, res) => {
      try {
        await access(docsPath);
      } catch {
        throw new ServiceUnavailableError('The API reference has not been built; run `make docs`.');
      }
      res.setHeader('Content-Security-Policy', DOCS_CONTENT_SECURITY_POLICY);
      res.sendFile(docsPath);
    },
  };
}
