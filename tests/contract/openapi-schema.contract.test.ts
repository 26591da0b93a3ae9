import { readdirSync, readFileSync } from 'node:fs';
import { OpenAPISchemaValidator } from 'express-openapi-validator/dist/framework/openapi.schema.validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types';
import { LATEST_API_VERSION, OLDER_API_VERSION_BUNDLES } from '../../generated/api-versions';
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

describe("every older API version's bundle", () => {
  const latest = loadOpenApiDocument().info;
  const listed = latest['x-api-versions'] as string[];
  const older = listed.slice(1);
  const onDisk = readdirSync('generated')
    .map((file) => /^openapi\.(\d{4}-\d{2}-\d{2})\.json$/.exec(file)?.[1])
    .filter((version) => version !== undefined)
    .sort()
    .reverse();

  it('when info.x-api-versions is read, then it lists the latest first, then exactly the bundles in generated/, newest first', () => {
    expect(listed[0]).toBe(latest['x-api-version']);
    expect(listed[0]).toBe(LATEST_API_VERSION);
    expect(older).toEqual(onDisk);
    expect(OLDER_API_VERSION_BUNDLES.map(([version]) => version)).toEqual(older);
    expect([...listed].sort().reverse()).toEqual(listed);
  });

  it.each(onDisk)(
    'when generated/openapi.%s.json is checked as the validator would at start, then it has no errors and names its version',
    (version) => {
      const bundle = JSON.parse(readFileSync(`generated/openapi.${version}.json`, 'utf8')) as {
        openapi: string;
        info: Record<string, unknown>;
      };
      expect(bundle.openapi).toMatch(/^3\.1\./);
      expect(bundle.info['x-api-version']).toBe(version);
      expect(bundle.info['x-api-versions']).toBeUndefined();
      expect(check(bundle)).toEqual([]);
    },
  );
});
