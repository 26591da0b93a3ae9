import {
  loadOpenApiDocument,
  listOperations,
  type OpenApiDocument,
} from '../../src/internal/openapi-document';
import { loadApiVersions } from '../../src/versions/api-versions';
import { VERSION_CHANGES } from '../../src/versions/changes';

type Json = Record<string, unknown>;
const versions = loadApiVersions();
const documentOf = (name: string): OpenApiDocument =>
  name === versions.latest ? loadOpenApiDocument() : versions.documentOf(name);

/** A schema with its `$ref`s inlined and what does not constrain (descriptions, examples) left out. */
function shapeOf(document: OpenApiDocument, node: unknown, seen: string[] = []): unknown {
  if (Array.isArray(node)) return node.map((entry) => shapeOf(document, entry, seen));
  if (!node || typeof node !== 'object') return node;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') {
    if (seen.includes(ref)) return { $ref: ref };
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>(
        (at, token) => (at as Json | undefined)?.[token.replace(/~1/g, '/').replace(/~0/g, '~')],
        document,
      );
    return shapeOf(document, target, [...seen, ref]);
  }
  const shaped: Json = {};
  for (const key of Object.keys(node).sort())
    if (!['description', 'example', 'examples', 'summary'].includes(key))
      shaped[key] = shapeOf(document, (node as Json)[key], seen);
  return shaped;
}

const jsonSchemaAt = (document: OpenApiDocument, container: unknown): unknown =>
  shapeOf(
    document,
    (container as { content?: Record<string, { schema?: unknown }> } | undefined)?.content?.[
      'application/json'
    ]?.schema,
  );

describe('every version step is complete in code', () => {
  it('when the versions are loaded, then each step up from an older version has exactly one change in code, named by the version it introduced', () => {
    expect(VERSION_CHANGES.map((change) => change.version)).toEqual(
      [...versions.supported].reverse().slice(1),
    );
  });

  const steps = versions.supported
    .slice(1)
    .map((older, index) => [versions.supported[index]!, older] as const);

  it.each(steps)(
    'when %s differs from %s in an operation or webhook, then its change moves that request up or that answer down',
    (newer, older) => {
      const change = VERSION_CHANGES.find((candidate) => candidate.version === newer)!;
      const newDocument = documentOf(newer);
      const oldDocument = documentOf(older);
      const missing: string[] = [];
      const oldOperations = new Map(listOperations(oldDocument).map((entry) => [entry.operationId, entry]));
      for (const entry of listOperations(newDocument)) {
        const before = oldOperations.get(entry.operationId);
        if (!before) continue;
        const id = entry.operationId as keyof NonNullable<typeof change.requestUp>;
        const body = (operation: Json) => operation.requestBody;
        if (
          JSON.stringify(jsonSchemaAt(newDocument, shapeOf(newDocument, body(entry.operation)))) !==
            JSON.stringify(jsonSchemaAt(oldDocument, shapeOf(oldDocument, body(before.operation)))) &&
          !change.requestUp?.[id]
        )
          missing.push(`requestUp.${entry.operationId}`);
        const responses = (entry.operation.responses ?? {}) as Json;
        const oldResponses = (before.operation.responses ?? {}) as Json;
        for (const status of Object.keys(responses).filter((code) => code.startsWith('2'))) {
          const now = JSON.stringify(jsonSchemaAt(newDocument, shapeOf(newDocument, responses[status])));
          const then = JSON.stringify(jsonSchemaAt(oldDocument, shapeOf(oldDocument, oldResponses[status])));
          if (now !== then && !change.responseDown?.[id])
            missing.push(`responseDown.${entry.operationId} (${status})`);
        }
      }
      for (const [type, webhook] of Object.entries((newDocument.webhooks ?? {}) as Json)) {
        const post = (pathItem: unknown) =>
          (pathItem as { post?: { requestBody?: unknown } }).post?.requestBody;
        const now = JSON.stringify(jsonSchemaAt(newDocument, shapeOf(newDocument, post(webhook))));
        const then = JSON.stringify(
          jsonSchemaAt(
            oldDocument,
            shapeOf(oldDocument, post((oldDocument.webhooks as Json | undefined)?.[type])),
          ),
        );
        if (now !== then && !change.webhookDown?.[type as keyof NonNullable<typeof change.webhookDown>])
          missing.push(`webhookDown.${type}`);
      }
      expect(missing).toEqual([]);
    },
  );
});
