import bundled from '../../generated/openapi.json';
import { withCodeSamples, type CodeSample } from '../../scripts/docs/code-samples';
import { listOperations, type OpenApiDocument } from '../../src/internal/openapi-document';
import { codeSampleDiagnostics } from '../support/code-samples-typecheck';

const document = withCodeSamples(bundled) as unknown as OpenApiDocument;
const operations = listOperations(document);
const samplesOf = (operationId: string): Record<string, string> => {
  const entry = operations.find((each) => each.operationId === operationId)!;
  const samples = entry.operation['x-codeSamples'] as CodeSample[];
  return Object.fromEntries(samples.map((sample) => [sample.label, sample.source]));
};

describe('code samples generated from the spec', () => {
  it('when the reference is built, then every operation has a curl and a TypeScript SDK sample', () => {
    expect(operations.length).toBeGreaterThan(30);
    for (const { operationId, operation } of operations)
      expect([
        operationId,
        (operation['x-codeSamples'] as CodeSample[]).map((sample) => sample.lang),
      ]).toEqual([operationId, ['Shell', 'TypeScript']]);
  });

  it('when an operation takes a body and safety headers, then the samples carry the documented examples', () => {
    const create = samplesOf('createItem');
    expect(create.curl).toContain("curl -X POST 'https://api.partner-api.example/v1/items'");
    expect(create.curl).toContain('-H "Authorization: Bearer $ACCESS_TOKEN"');
    expect(create.curl).toContain("-H 'Idempotency-Key: 5f0c9a4e-2b7d-4c1a-9e3f-6a8b2d4c1e90'");
    expect(create.curl).toContain('"name": "Blue widget"');
    expect(create['TypeScript SDK']).toContain("'Idempotency-Key': '5f0c9a4e-2b7d-4c1a-9e3f-6a8b2d4c1e90'");

    const patch = samplesOf('updateItem');
    expect(patch.curl).toContain('/v1/items/7d1f0c2a-3b4e-4f5a-9c8d-1e2f3a4b5c6d');
    expect(patch.curl).toContain(`-H 'If-Match: "3"'`);
    expect(patch['TypeScript SDK']).toContain('...mergePatch,');

    const token = samplesOf('createToken');
    expect(token.curl).toContain("--data-urlencode 'grant_type=password'");
    expect(token.curl).not.toContain('Authorization');
    expect(token['TypeScript SDK']).toContain('...formEncoded,');
  });

  it('when an example holds a quote, then the curl sample still quotes it for the shell', () => {
    const spec = structuredClone(bundled) as unknown as { paths: Record<string, Record<string, unknown>> };
    const create = spec.paths['/v1/items']!.post as {
      requestBody: { content: Record<string, { example: unknown }> };
    };
    create.requestBody.content['application/json']!.example = { name: "O'Brien's widget" };
    const sample = (withCodeSamples(spec) as typeof spec).paths['/v1/items']!.post as Record<
      string,
      CodeSample[]
    >;
    expect(sample['x-codeSamples']![0]!.source).toContain(
      `--data '{\n  "name": "O'\\''Brien'\\''s widget"\n}'`,
    );
  });

  // globalSetup type-checks them on a thread of its own (seconds of compiler CPU); the test reads the answer.
  it('when the TypeScript samples are compiled against the SDK, then every one type-checks', async () => {
    expect(await codeSampleDiagnostics()).toEqual([]);
  });
});

describe("code samples of an older API version's reference", () => {
  it('when samples are written for an older version, then every operation has only curl, naming that version in Api-Version', () => {
    const older = listOperations(withCodeSamples(bundled, '2026-11-30') as unknown as OpenApiDocument);
    for (const { operation } of older) {
      const samples = operation['x-codeSamples'] as CodeSample[];
      expect(samples.map((sample) => sample.label)).toEqual(['curl']);
      expect(samples[0]!.source).toContain("-H 'Api-Version: 2026-11-30'");
    }
  });
});
