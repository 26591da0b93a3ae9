/**
 * `x-codeSamples` for every operation (curl, and the TypeScript SDK of `make sdk`), written from the
 * bundled spec when the reference is built: path parameters, headers and bodies come from the spec's
 * own examples, so a sample changes when the operation does and nobody maintains one by hand.
 */

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
  schema?: Json;
}

interface MediaType {
  example?: unknown;
  examples?: Record<string, { value?: unknown; $ref?: string }>;
  schema?: Json;
}

export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const FORM = 'application/x-www-form-urlencoded';
const MERGE_PATCH = 'application/merge-patch+json';

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function resolve<T>(document: Json, node: unknown): T {
  let current = node;
  while (isObject(current) && typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), document);
  }
  return current as T;
}

/** The documented example of a parameter or media type: `example`, the first `examples`, or the schema's. */
function exampleOf(document: Json, node: Parameter | MediaType): unknown {
  if ('example' in node) return node.example;
  const first = Object.values(node.examples ?? {})[0];
  if (first) return resolve<{ value?: unknown }>(document, first).value;
  const schema = resolve<Json | undefined>(document, node.schema);
  if (schema && 'example' in schema) return schema.example;
  if (Array.isArray(schema?.examples)) return schema.examples[0];
  return undefined;
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The parameters a sample shows: every required one, and on writes the headers that make them safe. */
function shownParameters(parameters: Parameter[], method: string): Parameter[] {
  return parameters.filter(
    (parameter) => parameter.required === true || (method !== 'get' && parameter.in === 'header'),
  );
}

interface Call {
  method: string;
  path: string;
  parameters: Array<Parameter & { value: unknown }>;
  body?: { mediaType: string; value: unknown };
  authenticated: boolean;
}

function describeCall(document: Json, path: string, method: string, operation: Json, pathItem: Json): Call {
  const parameters = [
    ...((pathItem.parameters as unknown[]) ?? []),
    ...((operation.parameters as unknown[]) ?? []),
  ]
    .map((parameter) => resolve<Parameter>(document, parameter))
    .filter((parameter) => parameter.in !== 'cookie');
  const shown = shownParameters(parameters, method).map((parameter) => ({
    ...parameter,
    value: exampleOf(document, parameter),
  }));
  const requestBody = resolve<{ content?: Record<string, MediaType> } | undefined>(
    document,
    operation.requestBody,
  );
  const [mediaType, media] = Object.entries(requestBody?.content ?? {})[0] ?? [];
  const security = (operation.security ?? document.security ?? []) as Array<Record<string, string[]>>;
  return {
    method,
    path,
    parameters: shown,
    ...(mediaType && media ? { body: { mediaType, value: exampleOf(document, media) } } : {}),
    authenticated: security.some((requirement) => Object.keys(requirement).length > 0),
  };
}

function pathWithValues(call: Call): string {
  return call.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const parameter = call.parameters.find((each) => each.in === 'path' && each.name === name);
    return encodeURIComponent(typeof parameter?.value === 'string' ? parameter.value : name);
  });
}

function curlSample(call: Call, baseUrl: string, apiVersion?: string): string {
  const query = new URLSearchParams();
  for (const parameter of call.parameters)
    if (parameter.in === 'query') query.set(parameter.name, String(parameter.value));
  const url = `${baseUrl}${pathWithValues(call)}${query.size ? `?${query.toString()}` : ''}`;
  const lines = [`curl ${call.method === 'get' ? '' : `-X ${call.method.toUpperCase()} `}${shellQuote(url)}`];
  if (call.authenticated) lines.push(`-H "Authorization: Bearer $ACCESS_TOKEN"`);
  if (apiVersion) lines.push(`-H ${shellQuote(`Api-Version: ${apiVersion}`)}`);
  for (const parameter of call.parameters)
    if (parameter.in === 'header')
      lines.push(`-H ${shellQuote(`${parameter.name}: ${String(parameter.value)}`)}`);
  if (call.body?.mediaType === FORM) {
    for (const [key, value] of Object.entries((call.body.value ?? {}) as Json))
      lines.push(`--data-urlencode ${shellQuote(`${key}=${String(value)}`)}`);
  } else if (call.body) {
    lines.push(`-H ${shellQuote(`Content-Type: ${call.body.mediaType}`)}`);
    // Pretty-printed: the reference's code panel is narrow, and a quoted shell string may span lines.
    lines.push(`--data ${shellQuote(JSON.stringify(call.body.value ?? {}, null, 2))}`);
  }
  return lines.join(' \\\n  ');
}

/** A TypeScript literal in Prettier's layout, continuing at `indent` spaces. */
function literal(value: unknown, indent: number): string {
  const pad = ' '.repeat(indent + 2);
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) {
    const items = value.map((item) => literal(item, indent + 2));
    const inline = `[${items.join(', ')}]`;
    return inline.length <= 60 && !inline.includes('\n')
      ? inline
      : `[\n${items.map((item) => `${pad}${item},`).join('\n')}\n${' '.repeat(indent)}]`;
  }
  if (isObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => {
      const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : literal(key, 0);
      return `${pad}${name}: ${literal(item, indent + 2)},`;
    });
    return entries.length ? `{\n${entries.join('\n')}\n${' '.repeat(indent)}}` : '{}';
  }
  return String(value);
}

function sdkSample(call: Call, baseUrl: string): string {
  const helper =
    call.body?.mediaType === FORM
      ? 'formEncoded'
      : call.body?.mediaType === MERGE_PATCH
        ? 'mergePatch'
        : undefined;
  const imports = ['createPartnerApiClient', ...(helper ? [helper] : [])].join(', ');
  const params: Record<string, Record<string, unknown>> = {};
  for (const parameter of call.parameters) (params[parameter.in] ??= {})[parameter.name] = parameter.value;
  const options = [
    ...(Object.keys(params).length ? [`  params: ${literal(params, 2)},`] : []),
    ...(call.body ? [`  body: ${literal(call.body.value ?? {}, 2)},`] : []),
    ...(helper ? [`  ...${helper},`] : []),
  ];
  const client = [
    'const api = createPartnerApiClient({',
    `  baseUrl: '${baseUrl}',`,
    ...(call.authenticated ? ['  accessToken: () => process.env.ACCESS_TOKEN,'] : []),
    '});',
  ];
  const request = options.length
    ? [`const { data, error } = await api.${call.method.toUpperCase()}('${call.path}', {`, ...options, '});']
    : [`const { data, error } = await api.${call.method.toUpperCase()}('${call.path}');`];
  return [`import { ${imports} } from '@partner-api/sdk';`, '', ...client, ...request].join('\n');
}

/** The production host, as the spec names it in the OAuth 2.0 token URL; samples call it. */
export function productionBaseUrl(document: Json): string {
  const schemes = (isObject(document.components) ? document.components.securitySchemes : undefined) as
    Record<string, { flows?: Record<string, { tokenUrl?: string }> }> | undefined;
  for (const scheme of Object.values(schemes ?? {}))
    for (const flow of Object.values(scheme.flows ?? {}))
      if (flow.tokenUrl && /^https?:\/\//.test(flow.tokenUrl)) return new URL(flow.tokenUrl).origin;
  throw new Error('No absolute OAuth 2.0 tokenUrl in the spec to take the production host from');
}

/**
 * A copy of the bundled document with `x-codeSamples` on every operation. For an older API version
 * (`apiVersion`), curl names it in `Api-Version` and there is no SDK sample: the SDK's types are the latest's.
 */
export function withCodeSamples(document: Json, apiVersion?: string): Json {
  const copy = structuredClone(document);
  const baseUrl = productionBaseUrl(copy);
  for (const [path, item] of Object.entries((copy.paths ?? {}) as Record<string, Json>)) {
    const pathItem = resolve<Json>(copy, item);
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation)) continue;
      const call = describeCall(copy, path, method, operation, pathItem);
      const samples: CodeSample[] = [
        { lang: 'Shell', label: 'curl', source: curlSample(call, baseUrl, apiVersion) },
        ...(apiVersion
          ? []
          : [{ lang: 'TypeScript', label: 'TypeScript SDK', source: sdkSample(call, baseUrl) }]),
      ];
      operation['x-codeSamples'] = samples;
    }
  }
  return copy;
}
