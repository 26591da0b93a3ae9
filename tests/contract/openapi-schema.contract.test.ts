import { OpenAPISchemaValidator } from 'express-openapi-validator/dist/framework/openapi.schema.validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types';
import { loadOpenApiDocument } from '../../src/internal/openapi-document';

// The API skips this check at start for the bundled spec (compiling the OpenAPI schema costs ~100 ms of
// every start); it is the validator's own check, run here once instead.
const check = (document: unknown) =>
  new OpenAPISchemaValidator({ version: '3.1.0', validateApiSpec: true }).validate(
    document as OpenAPIV3.DocumentV3_1,
  ).errors;

describe('the bundled spec against the OpenAPI 3.1 schema', () => {
  it('when generated/openapi.json is checked as the validator would at start, then it has no errors', () => {
    expect(loadOpenApiDocument().openapi).toMatch(/^3\.1\./);
    expect(check(loadOpenApiDocument())).toEqual([]);
  });

  it('when an operation breaks the OpenAPI schema, then the same check reports it', () => {
    const document = loadOpenApiDocument();
    const firstPath = Object.values(document.paths)[0]!;
    Object.assign(firstPath, { get: { responses: 'none' } });
    expect(check(document)).not.toEqual([]);
  });
});
