import bundledDocument from '../../generated/openapi.json';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface SecurityRequirement {
  [scheme: string]: string[];
}

interface OperationObject {
  operationId?: string;
  security?: SecurityRequirement[];
  deprecated?: boolean;
  [key: string]: unknown;
}

export interface ParameterObject {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie';
  schema?: { type?: string | string[]; [key: string]: unknown };
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>> & Record<string, unknown>>;
  security?: SecurityRequirement[];
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface OperationEntry {
  operationId: string;
  method: HttpMethod;
  /** The OpenAPI path template, e.g. `/v1/items/{item_id}`. */
  path: string;
  operation: OperationObject;
}

/** A fresh copy of the bundled spec (generated/openapi.json); consumers such as the validator mutate it. */
export function loadOpenApiDocument(): OpenApiDocument {
  return structuredClone(bundledDocument) as unknown as OpenApiDocument;
}

export function listOperations(document: OpenApiDocument): OperationEntry[] {
  const entries: OperationEntry[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      if (!operation.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      entries.push({ operationId: operation.operationId, method, path, operation });
    }
  }
  return entries;
}

/** An operation's parameters, its path item's included, with component `$ref`s resolved. */
export function declaredParameters(document: OpenApiDocument, entry: OperationEntry): ParameterObject[] {
  const pathItem = document.paths[entry.path] as { parameters?: unknown[] };
  const parameters = [
    ...(pathItem.parameters ?? []),
    ...((entry.operation.parameters as unknown[] | undefined) ?? []),
  ];
  const components = (document.components?.parameters ?? {}) as Record<string, ParameterObject>;
  return parameters.flatMap((parameter) => {
    const ref = (parameter as { $ref?: string }).$ref;
    const resolved = ref
      ? components[ref.replace('#/components/parameters/', '')]
      : (parameter as ParameterObject);
    return resolved ? [resolved] : [];
  });
}

/** Whether the operation declares a header parameter of this name (directly or through a component $ref). */
export function declaresHeader(document: OpenApiDocument, entry: OperationEntry, name: string): boolean {
  return declaredParameters(document, entry).some(
    (parameter) => parameter.in === 'header' && parameter.name.toLowerCase() === name.toLowerCase(),
  );
}

/** `/v1/items/{item_id}` -> `/v1/items/:item_id` */
export function toExpressPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}
