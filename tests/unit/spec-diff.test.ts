import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { allowsBreaking, diffSpecs, toMarkdown, type Change } from '../../scripts/spec-diff';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   the fixtures are plain JSON, edited freely to produce each kind of change. */
type Json = Record<string, any>;

/** A small bundled spec in the shape `make generate` writes: components referenced by internal $refs. */
function baseSpec(): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'T', version: '1.2.0' },
    paths: {
      '/widgets': {
        get: {
          operationId: 'listWidgets',
          security: [{ bearerAuth: ['widgets:read'] }],
          parameters: [
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', maximum: 100 } },
            { $ref: '#/components/parameters/Cursor' },
          ],
          responses: {
            '200': {
              description: 'ok',
              headers: { ETag: { schema: { type: 'string' } } },
              content: {
                'application/json': {
                  schema: { type: 'array', items: { $ref: '#/components/schemas/Widget' } },
                },
              },
            },
            '400': { $ref: '#/components/responses/Problem' },
          },
        },
        post: {
          operationId: 'createWidget',
          security: [{ bearerAuth: ['widgets:write'] }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateWidget' } } },
          },
          responses: {
            '201': {
              description: 'created',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Widget' } } },
            },
          },
        },
      },
      '/widgets/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        delete: { operationId: 'deleteWidget', security: [], responses: { '204': { description: 'gone' } } },
      },
    },
    components: {
      parameters: { Cursor: { name: 'cursor', in: 'query', schema: { type: 'string', maxLength: 512 } } },
      schemas: {
        Widget: {
          type: 'object',
          required: ['id', 'name', 'color'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            color: { type: 'string', enum: ['red', 'blue'] },
            size: { type: ['integer', 'null'] },
          },
        },
        CreateWidget: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 100 },
            color: { type: 'string', enum: ['red', 'blue'] },
            legacy: { type: 'string' },
          },
        },
      },
      responses: {
        Problem: {
          description: 'problem',
          content: { 'application/problem+json': { schema: { type: 'object' } } },
        },
      },
    },
  };
}

function diffAfter(change: (spec: Json) => void): Change[] {
  const head = baseSpec();
  change(head);
  return diffSpecs(baseSpec(), head);
}
const breaking = (changes: Change[]) =>
  changes.filter((c) => c.kind === 'breaking').map((c) => `${c.operation}: ${c.message}`);

describe('spec diff', () => {
  it('when nothing changed, then there are no changes, also for the real spec against itself', () => {
    expect(diffAfter(() => undefined)).toEqual([]);
    const real = loadOpenApiDocument() as unknown as Json;
    expect(diffSpecs(real, loadOpenApiDocument() as unknown as Json)).toEqual([]);
  });

  it('when a response field is removed, then it is breaking', () => {
    const changes = diffAfter((spec) => delete spec.components.schemas.Widget.properties.color);
    expect(breaking(changes)).toEqual([
      'GET /widgets: response 200 (application/json)[].color: response field removed',
      'POST /widgets: response 201 (application/json).color: response field removed',
    ]);
  });

  it('when a new required parameter is added, then it is breaking', () => {
    const changes = diffAfter((spec) =>
      spec.paths['/widgets'].get.parameters.push({
        name: 'owner',
        in: 'query',
        required: true,
        schema: { type: 'string' },
      }),
    );
    expect(breaking(changes)).toEqual(['GET /widgets: new required query parameter owner']);
  });

  it('when an optional request field and a response field are added, then nothing breaks and both are listed as added', () => {
    const changes = diffAfter((spec) => {
      spec.components.schemas.CreateWidget.properties.note = { type: 'string', maxLength: 200 };
      spec.components.schemas.Widget.properties.note = { type: 'string' };
    });
    expect(breaking(changes)).toEqual([]);
    expect(changes).toEqual(
      expect.arrayContaining([
        {
          kind: 'added',
          operation: 'POST /widgets',
          message: 'request body (application/json).note: optional request field',
        },
        {
          kind: 'added',
          operation: 'GET /widgets',
          message: 'response 200 (application/json)[].note: response field',
        },
      ]),
    );
  });

  it.each<[string, (spec: Json) => void, string[]]>([
    [
      'an operation is removed',
      (spec) => delete spec.paths['/widgets/{id}'].delete,
      ['DELETE /widgets/{id}: operation removed'],
    ],
    [
      'a new required request field is added',
      (spec) => {
        const schema = spec.components.schemas.CreateWidget;
        schema.properties.weight = { type: 'number' };
        schema.required.push('weight');
      },
      ['POST /widgets: request body (application/json).weight: new required request field'],
    ],
    [
      'an optional request field becomes required',
      (spec) => spec.components.schemas.CreateWidget.required.push('color'),
      ['POST /widgets: request body (application/json).color: request field is now required'],
    ],
    [
      'a request enum is narrowed',
      (spec) => (spec.components.schemas.CreateWidget.properties.color.enum = ['red']),
      ['POST /widgets: request body (application/json).color: enum narrowed ("blue" refused)'],
    ],
    [
      'a request type is narrowed',
      (spec) => (spec.paths['/widgets'].get.parameters[0].schema.type = 'string'),
      ['GET /widgets: query parameter limit: type narrowed (integer refused)'],
    ],
    [
      'a request bound is tightened',
      (spec) => (spec.components.schemas.CreateWidget.properties.name.maxLength = 50),
      ['POST /widgets: request body (application/json).name: maxLength narrowed (100 -> 50)'],
    ],
    [
      'a response type changes',
      (spec) => (spec.components.schemas.Widget.properties.id.type = 'integer'),
      [
        'GET /widgets: response 200 (application/json)[].id: type changed (may now be integer)',
        'POST /widgets: response 201 (application/json).id: type changed (may now be integer)',
      ],
    ],
    [
      'a response field becomes optional',
      (spec) => (spec.components.schemas.Widget.required = ['id', 'name']),
      [
        'GET /widgets: response 200 (application/json)[].color: response field may now be absent',
        'POST /widgets: response 201 (application/json).color: response field may now be absent',
      ],
    ],
    [
      'the security changes',
      (spec) => (spec.paths['/widgets'].get.security = [{ bearerAuth: ['widgets:admin'] }]),
      ['GET /widgets: security changed: bearerAuth[widgets:read] is no longer accepted'],
    ],
    [
      'a public operation starts requiring credentials',
      (spec) => (spec.paths['/widgets/{id}'].delete.security = [{ bearerAuth: [] }]),
      ['DELETE /widgets/{id}: security changed: anonymous access is no longer accepted'],
    ],
    [
      'a parameter changes location',
      (spec) => (spec.components.parameters.Cursor.in = 'header'),
      ['GET /widgets: parameter cursor moved from query to header'],
    ],
    [
      'an optional parameter becomes required',
      (spec) => (spec.components.parameters.Cursor.required = true),
      ['GET /widgets: query parameter cursor is now required'],
    ],
    [
      'a request field is removed while unknown fields are refused',
      (spec) => delete spec.components.schemas.CreateWidget.properties.legacy,
      ['POST /widgets: request body (application/json).legacy: request field removed (now refused)'],
    ],
    [
      'a success response and a response header are removed',
      (spec) => {
        delete spec.paths['/widgets'].get.responses['200'].headers.ETag;
        delete spec.paths['/widgets'].post.responses['201'];
      },
      ['GET /widgets: response 200 header ETag removed', 'POST /widgets: response 201 removed'],
    ],
  ])('when %s, then it is breaking', (_name, change, expected) => {
    expect(breaking(diffAfter(change))).toEqual(expected);
  });

  it('when compatible changes are made, then they are added, changed or deprecated, never breaking', () => {
    const changes = diffAfter((spec) => {
      spec.info.version = '1.3.0';
      spec.paths['/widgets'].get.deprecated = true;
      spec.paths['/widgets'].get.parameters[0].schema.maximum = 500;
      spec.paths['/widgets'].get.security.push({});
      spec.components.schemas.CreateWidget.properties.color.enum.push('green');
      spec.paths['/gadgets'] = {
        get: { operationId: 'listGadgets', security: [], responses: { '200': { description: 'ok' } } },
      };
    });
    expect(breaking(changes)).toEqual([]);
    expect(changes.map((c) => c.kind).sort()).toEqual([
      'added',
      'changed',
      'changed',
      'changed',
      'changed',
      'deprecated',
    ]);
  });

  describe('changes a working client cannot notice', () => {
    /** The fixture with two schemes that both take `Authorization: Bearer`, listed side by side. */
    const withTwoBearerSchemes = (spec: Json) => {
      spec.components.securitySchemes = {
        bearerAuth: { type: 'http', scheme: 'bearer' },
        oauth2: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: '/token', scopes: {} } } },
        apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      };
      spec.paths['/widgets'].get.security = [{ oauth2: ['widgets:read'] }, { bearerAuth: ['widgets:read'] }];
      spec.paths['/widgets'].get.responses['428'] = { $ref: '#/components/responses/Problem' };
      spec.paths['/widgets'].get.parameters.push({
        name: 'If-Match',
        in: 'header',
        schema: { type: 'string' },
      });
    };
    const diffFrom = (change: (spec: Json) => void) => {
      const base = baseSpec();
      withTwoBearerSchemes(base);
      const head = baseSpec();
      withTwoBearerSchemes(head);
      change(head);
      return diffSpecs(base, head);
    };

    it('when the oauth2 alternative is dropped beside an http bearer one with the same scopes, then it is a change, not a break', () => {
      const changes = diffFrom(
        (spec) => (spec.paths['/widgets'].get.security = [{ bearerAuth: ['widgets:read'] }]),
      );
      expect(changes).toEqual([
        {
          kind: 'changed',
          operation: 'GET /widgets',
          message:
            'security: oauth2[widgets:read] is no longer listed; another alternative takes the same credentials (header Authorization Bearer [widgets:read])',
        },
      ]);
    });

    it('when the remaining bearer alternative asks for other scopes or another credential, then dropping one is still breaking', () => {
      expect(
        breaking(
          diffFrom((spec) => (spec.paths['/widgets'].get.security = [{ bearerAuth: ['widgets:admin'] }])),
        ),
      ).toEqual([
        'GET /widgets: security changed: oauth2[widgets:read] is no longer accepted',
        'GET /widgets: security changed: bearerAuth[widgets:read] is no longer accepted',
      ]);
      expect(
        breaking(
          diffFrom((spec) => (spec.paths['/widgets'].get.security = [{ apiKeyAuth: ['widgets:read'] }])),
        ),
      ).toEqual([
        'GET /widgets: security changed: oauth2[widgets:read] is no longer accepted',
        'GET /widgets: security changed: bearerAuth[widgets:read] is no longer accepted',
      ]);
    });

    it('when If-Match becomes required where the operation already answered 428, then it is a change; elsewhere it breaks', () => {
      const markRequired = (spec: Json) => (spec.paths['/widgets'].get.parameters[2].required = true);
      expect(diffFrom(markRequired)).toEqual([
        {
          kind: 'changed',
          operation: 'GET /widgets',
          message: 'header parameter If-Match is now marked required (already answered 428 without it)',
        },
      ]);
      expect(
        breaking(
          diffFrom((spec) => {
            markRequired(spec);
            delete spec.paths['/widgets'].get.responses['428'];
          }),
        ),
      ).toEqual(['GET /widgets: header parameter If-Match is now required']);
      expect(
        breaking(
          diffFrom((spec) => {
            markRequired(spec);
            spec.paths['/widgets'].get.parameters[2].name = 'If-None-Match';
          }),
        ).length,
      ).toBeGreaterThan(0);
    });
  });

  it('when changes are rendered, then the changelog has Added, Changed, Deprecated and Breaking sections', () => {
    const markdown = toMarkdown(
      [
        { kind: 'breaking', operation: 'GET /a', message: 'operation removed' },
        { kind: 'added', operation: 'GET /b', message: 'operation added' },
        { kind: 'deprecated', operation: 'GET /c', message: 'operation deprecated' },
        { kind: 'changed', message: 'API version "1" -> "2"' },
      ],
      'API changes',
    );
    expect(markdown).toBe(
      [
        '# API changes',
        '',
        '## Added',
        '',
        '- `GET /b`: operation added',
        '',
        '## Changed',
        '',
        '- API version "1" -> "2"',
        '',
        '## Deprecated',
        '',
        '- `GET /c`: operation deprecated',
        '',
        '## Breaking',
        '',
        '- `GET /a`: operation removed',
        '',
      ].join('\n'),
    );
    expect(toMarkdown([], 'None')).toContain('No changes to the API contract.');
  });

  it.each([
    ['1.2.0', '2.0.0', true],
    ['1.2.0', '1.3.0', false],
    ['0.1.0', '0.2.0', true],
    ['0.1.0', '0.1.1', false],
    ['2.0.0', '1.9.0', false],
  ])('when the version goes from %s to %s, then breaking changes allowed: %s', (from, to, allowed) => {
    expect(allowsBreaking(from, to)).toBe(allowed);
  });
});
