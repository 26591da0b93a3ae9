import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { compareVersions, diffSpecs, toMarkdown, type Change } from '../../scripts/spec-diff';

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

  it('when a required field becomes optional and the object must still have one property, then nothing breaks', () => {
    const changes = diffAfter((spec) => {
      spec.components.schemas.CreateWidget.required = [];
      spec.components.schemas.CreateWidget.minProperties = 1;
    });
    expect(breaking(changes)).toEqual([]);
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
      'a request object must have more properties than it required',
      (spec) => (spec.components.schemas.CreateWidget.minProperties = 2),
      ['POST /widgets: request body (application/json): minProperties narrowed (1 -> 2)'],
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

  it('when a webhook payload field is removed or the event is no longer sent, then it is breaking; a new field is added', () => {
    const withWebhook = (spec: Json) => {
      spec.webhooks = {
        'widget.created': {
          post: {
            operationId: 'onWidgetCreated',
            requestBody: {
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Widget' } } },
            },
            responses: { '200': { description: 'received' } },
          },
        },
        'widget.deleted': { post: { operationId: 'onWidgetDeleted', responses: {} } },
      };
      return spec;
    };
    const head = withWebhook(baseSpec());
    delete head.components.schemas.Widget.properties.color;
    head.components.schemas.Widget.properties.note = { type: 'string' };
    delete head.webhooks['widget.deleted'];
    const changes = diffSpecs(withWebhook(baseSpec()), head);
    expect(breaking(changes)).toEqual(
      expect.arrayContaining([
        'webhook widget.created (POST): payload (application/json).color: response field removed',
        'webhook widget.deleted (POST): webhook no longer sent',
      ]),
    );
    expect(changes).toContainEqual({
      kind: 'added',
      operation: 'webhook widget.created (POST)',
      message: 'payload (application/json).note: response field',
    });
  });
});

describe('spec diff per API version', () => {
  const at = (version: string, change: (spec: Json) => void = () => undefined) => {
    const spec = baseSpec();
    spec.info['x-api-version'] = version;
    change(spec);
    return { version, spec };
  };
  const removeColor = (spec: Json) => delete spec.components.schemas.Widget.properties.color;
  const TODAY = '2026-12-07';
  const failures = (results: ReturnType<typeof compareVersions>) =>
    results.flatMap((result) => result.failures.map((failure) => `${result.version}: ${failure}`));

  it('when the latest changes breakingly without a new version step, then the gate fails on that version', () => {
    const results = compareVersions([at('2026-11-30')], [at('2026-11-30', removeColor)], TODAY);
    expect(failures(results)).toEqual([
      '2026-11-30: GET /widgets: response 200 (application/json)[].color: response field removed',
      '2026-11-30: POST /widgets: response 201 (application/json).color: response field removed',
    ]);
  });

  it('when the breaking change comes with a step that keeps the previous latest unchanged, then it passes', () => {
    const results = compareVersions(
      [at('2026-11-30')],
      [at('2026-12-07', removeColor), at('2026-11-30')],
      TODAY,
    );
    expect(failures(results)).toEqual([]);
    expect(results.map((result) => `${result.version} ${result.status}`)).toEqual([
      '2026-12-07 new',
      '2026-11-30 compared',
    ]);
  });

  it('when the step leaves the previous latest additively changed, then it passes', () => {
    const addNote = (spec: Json) => (spec.components.schemas.Widget.properties.note = { type: 'string' });
    const results = compareVersions(
      [at('2026-11-30')],
      [at('2026-12-07', removeColor), at('2026-11-30', addNote)],
      TODAY,
    );
    expect(failures(results)).toEqual([]);
  });

  it('when an older version changes non-additively, then the gate fails on that version', () => {
    const results = compareVersions(
      [at('2026-12-07'), at('2026-11-30')],
      [at('2026-12-07'), at('2026-11-30', removeColor)],
      TODAY,
    );
    expect(failures(results)).toEqual([
      '2026-11-30: GET /widgets: response 200 (application/json)[].color: response field removed',
      '2026-11-30: POST /widgets: response 201 (application/json).color: response field removed',
    ]);
  });

  it('when the base is from before versions, then its spec is compared with the oldest version at head', () => {
    const unversioned = { version: undefined, spec: baseSpec() };
    expect(
      failures(compareVersions([unversioned], [at('2026-12-07', removeColor), at('2026-11-30')], TODAY)),
    ).toEqual([]);
    expect(
      failures(compareVersions([unversioned], [at('2026-12-07'), at('2026-11-30', removeColor)], TODAY)),
    ).toHaveLength(2);
  });

  it('when the latest date moves on without a step for the previous one, then the gate fails until its sunset', () => {
    const bumpedOnly = compareVersions([at('2026-11-30')], [at('2026-12-07', removeColor)], TODAY);
    expect(failures(bumpedOnly)).toEqual([
      expect.stringMatching(
        /^2026-11-30: version 2026-11-30 is no longer supported but its sunset was never/,
      ),
    ]);
    const sunset = (date: string) => (spec: Json) => (spec.info['x-sunset'] = date);
    const base = [at('2026-12-07'), at('2026-11-30', sunset('2026-12-01'))];
    expect(failures(compareVersions(base, [at('2026-12-07')], TODAY))).toEqual([]);
    const early = [at('2026-12-07'), at('2026-11-30', sunset('2027-12-07'))];
    expect(failures(compareVersions(early, [at('2026-12-07')], TODAY))).toHaveLength(1);
  });
});
