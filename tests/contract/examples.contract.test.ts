import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import {
  collectExamples,
  createExampleValidator,
  findMissingExamples,
  pointer,
} from '../support/spec-examples';

const document = loadOpenApiDocument() as unknown as Record<string, unknown>;
const examples = collectExamples(document);
const check = createExampleValidator(document);

describe('every documented example matches its schema', () => {
  it('when the bundled spec is walked, then examples of every kind are found', () => {
    const where = examples.map((example) => example.where);
    // Media-type `example` (request and response), named media-type `examples`, schema `example`,
    // schema `examples` and header schema `examples`: one of each proves every branch is walked.
    expect(where).toEqual(
      expect.arrayContaining([
        pointer('paths', '/v1/items', 'post', 'requestBody', 'content', 'application/json') + '/example',
        pointer('paths', '/v1/items', 'post', 'responses', '201', 'content', 'application/json') + '/example',
        pointer(
          'paths',
          '/v1/auth/token',
          'post',
          'requestBody',
          'content',
          'application/x-www-form-urlencoded',
          'examples',
          'password',
        ),
        pointer('components', 'schemas', 'Item') + '/example',
        pointer('components', 'schemas', 'Problem', 'properties', 'type') + '/examples/0',
        pointer('components', 'headers', 'ETag', 'schema') + '/examples/0',
      ]),
    );
    expect(examples.length).toBeGreaterThan(60);
  });

  it.each(examples.map((example) => [example.where, example] as const))('%s', (_where, example) => {
    expect(check(example)).toBeUndefined();
  });
});

describe('every parameter, header and response shows an example', () => {
  // Redoc, the console and `make mock` show these; without one a reader (or a mocked header) sees `string`.
  it('when the bundled spec is walked, then nothing lacks an example', () => {
    expect(findMissingExamples(document)).toEqual([]);
  });

  it('when a parameter, a header or a response body has no example, then each is reported', () => {
    const bare = { type: 'string' };
    expect(
      findMissingExamples({
        paths: {
          '/a/{id}': {
            parameters: [{ name: 'id', in: 'path', schema: bare }],
            get: {
              parameters: [
                { name: 'q', in: 'query', schema: bare, example: 'x' },
                { $ref: '#/components/parameters/Shown' },
              ],
              responses: {
                '200': {
                  headers: { 'X-A': { schema: bare }, 'X-B': { schema: { const: 'b' } } },
                  content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
                },
                '404': { content: { 'text/plain': { schema: bare } } },
              },
            },
          },
        },
        components: {
          schemas: { Thing: { type: 'object', example: {} } },
          parameters: { Shown: { name: 's', in: 'query', schema: { ...bare, examples: ['s'] } } },
          headers: { Bare: { schema: bare } },
        },
      }),
    ).toEqual([
      pointer('paths', '/a/{id}', 'parameters') + '/0',
      pointer('paths', '/a/{id}', 'get', 'responses', '200', 'headers', 'X-A'),
      pointer('paths', '/a/{id}', 'get', 'responses', '404', 'content', 'text/plain'),
      pointer('components', 'headers', 'Bare'),
    ]);
  });
});

describe('the example checker itself', () => {
  const tiny = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/things/{id}': {
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string', format: 'uuid' },
            example: 'nope',
          },
        ],
        post: {
          requestBody: {
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/Thing' },
                examples: { good: { value: { name: 'a' } }, bad: { $ref: '#/components/examples/Bad' } },
              },
            },
          },
          responses: {
            '200': { description: 'ok', headers: { 'X-N': { schema: { type: 'integer' }, example: 'x' } } },
          },
        },
      },
    },
    components: {
      schemas: {
        Thing: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', examples: [1] } },
        },
      },
      examples: { Bad: { value: { other: true } } },
    },
  };

  const check2 = createExampleValidator(tiny);

  it('when examples break their schemas, then each one is reported and the good one passes', () => {
    const found = collectExamples(tiny);
    const verdicts = Object.fromEntries(found.map((example) => [example.where, check2(example)]));
    expect(verdicts).toEqual({
      [pointer('paths', '/things/{id}', 'parameters') + '/0/example']: expect.stringContaining('format'),
      [pointer(
        'paths',
        '/things/{id}',
        'post',
        'requestBody',
        'content',
        'application/json',
        'examples',
        'good',
      )]: undefined,
      [pointer(
        'paths',
        '/things/{id}',
        'post',
        'requestBody',
        'content',
        'application/json',
        'examples',
        'bad',
      )]: expect.stringContaining('name'),
      [pointer('paths', '/things/{id}', 'post', 'responses', '200', 'headers', 'X-N') + '/example']:
        expect.stringContaining('integer'),
      [pointer('components', 'schemas', 'Thing', 'properties', 'name') + '/examples/0']:
        expect.stringContaining('string'),
    });
  });
});
