import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** One example the spec documents, with the JSON pointer of the schema it must satisfy. */
export interface DocumentedExample {
  /** JSON pointer of the example value itself, for messages. */
  where: string;
  /** JSON pointer of the schema the value must match. */
  schemaPointer: string;
  value: unknown;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const pointer = (...segments: string[]): string =>
  segments.map((segment) => '/' + segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('');

/** Keywords whose value is one subschema, a list of subschemas, or a map of name -> subschema. */
const SUBSCHEMA = [
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs'];

function resolve(document: Json, value: unknown): unknown {
  if (!isObject(value) || typeof value.$ref !== 'string') return value;
  if (!value.$ref.startsWith('#/')) throw new Error(`External $ref ${value.$ref} in a bundled document`);
  let node: unknown = document;
  for (const raw of value.$ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
  }
  if (node === undefined) throw new Error(`Unresolvable $ref ${value.$ref}`);
  return node;
}

/**
 * Every documented example of a bundled OpenAPI 3.1 document: schema `example`/`examples` (anywhere in
 * a schema), media-type `example`/`examples` (request bodies, responses), and parameter and header
 * `example`/`examples`. Objects that are `$ref`s are visited where they are defined, once.
 */
export function collectExamples(document: Json): DocumentedExample[] {
  const found: DocumentedExample[] = [];

  const schema = (node: unknown, at: string): void => {
    if (!isObject(node)) return;
    if ('example' in node) found.push({ where: `${at}/example`, schemaPointer: at, value: node.example });
    if (Array.isArray(node.examples))
      node.examples.forEach((value, i) =>
        found.push({ where: `${at}/examples/${i}`, schemaPointer: at, value }),
      );
    for (const key of SUBSCHEMA) if (key in node) schema(node[key], at + pointer(key));
    for (const key of SUBSCHEMA_LISTS)
      if (Array.isArray(node[key]))
        (node[key] as unknown[]).forEach((sub, i) => schema(sub, `${at}${pointer(key)}/${i}`));
    for (const key of SUBSCHEMA_MAPS)
      if (isObject(node[key]))
        for (const [name, sub] of Object.entries(node[key])) schema(sub, at + pointer(key, name));
  };

  // A media type, parameter or header: `example` or named `examples` next to a `schema`.
  const withSchema = (node: unknown, at: string): void => {
    if (!isObject(node) || '$ref' in node) return;
    if (isObject(node.schema)) {
      const schemaAt = at + pointer('schema');
      if ('example' in node)
        found.push({ where: `${at}/example`, schemaPointer: schemaAt, value: node.example });
      if (isObject(node.examples))
        for (const [name, entry] of Object.entries(node.examples)) {
          const example = resolve(document, entry) as Json;
          if ('value' in example)
            found.push({
              where: at + pointer('examples', name),
              schemaPointer: schemaAt,
              value: example.value,
            });
        }
      schema(node.schema, schemaAt);
    }
    content(node.content, at + pointer('content'));
  };
  const content = (node: unknown, at: string): void => {
    if (isObject(node))
      for (const [type, media] of Object.entries(node)) withSchema(media, at + pointer(type));
  };
  const headers = (node: unknown, at: string): void => {
    if (isObject(node))
      for (const [name, header] of Object.entries(node)) withSchema(header, at + pointer(name));
  };
  const parameters = (node: unknown, at: string): void => {
    if (Array.isArray(node)) node.forEach((parameter, i) => withSchema(parameter, `${at}/${i}`));
  };
  const response = (node: unknown, at: string): void => {
    if (!isObject(node) || '$ref' in node) return;
    headers(node.headers, at + pointer('headers'));
    content(node.content, at + pointer('content'));
  };
  const requestBody = (node: unknown, at: string): void => {
    if (isObject(node) && !('$ref' in node)) content(node.content, at + pointer('content'));
  };

  for (const [path, item] of Object.entries((document.paths ?? {}) as Json)) {
    if (!isObject(item)) continue;
    const itemAt = pointer('paths', path);
    parameters(item.parameters, itemAt + pointer('parameters'));
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation) || method === 'parameters') continue;
      const at = itemAt + pointer(method);
      parameters(operation.parameters, at + pointer('parameters'));
      requestBody(operation.requestBody, at + pointer('requestBody'));
      if (isObject(operation.responses))
        for (const [status, res] of Object.entries(operation.responses))
          response(res, at + pointer('responses', status));
    }
  }
  const components = (document.components ?? {}) as Json;
  const each = (kind: string, visit: (node: unknown, at: string) => void) => {
    if (isObject(components[kind]))
      for (const [name, node] of Object.entries(components[kind]))
        visit(node, pointer('components', kind, name));
  };
  each('schemas', schema);
  each('parameters', withSchema);
  each('headers', withSchema);
  each('responses', response);
  each('requestBodies', requestBody);
  return found;
}

/** Validates examples against their schemas within the document (ajv, JSON Schema 2020-12 + formats). */
export function createExampleValidator(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: 'openapi.json' });
  return (example: DocumentedExample): string | undefined => {
    const fragment = example.schemaPointer.split('/').map(encodeURIComponent).join('/');
    const validate = ajv.getSchema(`openapi.json#${fragment}`);
    if (!validate) return `no schema at ${example.schemaPointer}`;
    return validate(example.value) ? undefined : ajv.errorsText(validate.errors);
  };
}

/**
 * The JSON pointers of every parameter, header and response body of a bundled document that shows no
 * example: none of its own (`example`/`examples`) and none on its schema (after `$ref`). A `const`
 * schema is its own example.
 */
export function findMissingExamples(document: Json): string[] {
  const missing: string[] = [];
  const hasOwn = (node: Json): boolean =>
    'example' in node || (isObject(node.examples) && Object.keys(node.examples).length > 0);
  const schemaHas = (node: unknown): boolean => {
    const schema = resolve(document, node);
    return (
      isObject(schema) &&
      ('example' in schema ||
        'const' in schema ||
        (Array.isArray(schema.examples) && schema.examples.length > 0))
    );
  };
  const check = (node: unknown, at: string): void => {
    if (!isObject(node) || '$ref' in node) return; // checked where it is defined
    if (!hasOwn(node) && !schemaHas(node.schema)) missing.push(at);
  };
  const response = (node: unknown, at: string): void => {
    if (!isObject(node) || '$ref' in node) return;
    for (const [name, header] of Object.entries((node.headers ?? {}) as Json))
      check(header, at + pointer('headers', name));
    for (const [type, media] of Object.entries((node.content ?? {}) as Json))
      check(media, at + pointer('content', type));
  };
  const parameters = (node: unknown, at: string): void => {
    if (Array.isArray(node)) node.forEach((parameter, i) => check(parameter, `${at}/${i}`));
  };

  for (const [path, item] of Object.entries((document.paths ?? {}) as Json)) {
    if (!isObject(item)) continue;
    parameters(item.parameters, pointer('paths', path, 'parameters'));
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation) || method === 'parameters') continue;
      parameters(operation.parameters, pointer('paths', path, method, 'parameters'));
      for (const [status, res] of Object.entries((operation.responses ?? {}) as Json))
        response(res, pointer('paths', path, method, 'responses', status));
    }
  }
  const components = (document.components ?? {}) as Json;
  for (const [kind, visit] of [
    ['parameters', check],
    ['headers', check],
    ['responses', response],
  ] as const)
    for (const [name, node] of Object.entries((components[kind] ?? {}) as Json))
      visit(node, pointer('components', kind, name));
  return missing;
}
