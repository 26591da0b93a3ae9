import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { loadOpenApiDocument } from '../../src/internal/openapi-document';

const document = loadOpenApiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...document, $id: 'openapi.json' });

/** Asserts a body matches a component schema of the bundled spec, e.g. `expectSchema('Problem', body)`. */
export function expectSchema(schemaName: string, body: unknown): void {
  const validate = ajv.getSchema(`openapi.json#/components/schemas/${schemaName}`);
  if (!validate) throw new Error(`No schema ${schemaName} in the spec`);
  if (!validate(body)) {
    throw new Error(
      `Body does not match ${schemaName}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
  }
}

/** Asserts an RFC 9457 problem response of the given status and kind that conforms to the spec's Problem schema. */
export function expectProblem(res: Response, status: number, kind: string): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expectSchema('Problem', body);
  expect(body).toMatchObject({ type: `/problems/${kind}`, status });
  expect(body.request_id).toBe(res.headers['x-request-id']);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
  return body;
}

/**
 * Asserts a response header matches its schema among the spec's header components, e.g.
 * `expectHeader(res, 'ETag')`; the response validator reads bodies only, so headers are checked here.
 */
export function expectHeader(res: Response, name: string): void {
  const value: unknown = res.headers[name.toLowerCase()];
  expect([name, typeof value]).toEqual([name, 'string']);
  const validate = ajv.getSchema(`openapi.json#/components/headers/${name}/schema`);
  if (!validate) throw new Error(`No header ${name} in the spec`);
  if (!validate(value)) {
    throw new Error(
      `${name}: ${JSON.stringify(value)} does not match the spec: ${ajv.errorsText(validate.errors)}`,
    );
  }
}
