import { RATE_LIMIT_POLICIES } from '../../src/dependencies/rate-limit-policies';
import { DEFAULTED_QUERY_PARAMETERS } from '../../src/models/operation-query';
import { declaresHeader, listOperations, loadOpenApiDocument } from '../../src/internal/openapi-document';

interface Response {
  $ref?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: { $ref?: string } }>;
}
interface OAuthScheme {
  flows: Record<string, { scopes: Record<string, string> }>;
}

const document = loadOpenApiDocument();
const operations = listOperations(document);
const components = document.components as {
  responses: Record<string, Response>;
  securitySchemes: Record<string, unknown> & { oauth2: OAuthScheme };
};

/** The property names of everything a request body may hold, `$ref`s followed. */
function bodyPropertyNames(node: unknown, seen = new Set<string>()): string[] {
  if (Array.isArray(node)) return node.flatMap((child) => bodyPropertyNames(child, seen));
  if (!node || typeof node !== 'object') return [];
  const { $ref, properties } = node as { $ref?: string; properties?: Record<string, unknown> };
  if ($ref) {
    if (seen.has($ref)) return [];
    seen.add($ref);
    const target = $ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((parent, key) => (parent as Record<string, unknown>)[key], document);
    return bodyPropertyNames(target, seen);
  }
  return [
    ...Object.keys(properties ?? {}),
    ...Object.values(node).flatMap((child) => bodyPropertyNames(child, seen)),
  ];
}

const deref = (response: Response): Response => {
  if (!response.$ref) return response;
  const target = components.responses[response.$ref.replace('#/components/responses/', '')];
  if (!target) throw new Error(`Unresolvable ${response.$ref}`);
  return target;
};
const responsesOf = (operation: Record<string, unknown>): Record<string, Response> =>
  Object.fromEntries(
    Object.entries(operation.responses as Record<string, Response>).map(([status, res]) => [
      status,
      deref(res),
    ]),
  );
const isProblem = (response: Response): boolean =>
  response.content?.['application/problem+json']?.schema?.$ref === '#/components/schemas/Problem';
const headerNames = (response: Response | undefined): string[] => Object.keys(response?.headers ?? {});

/** Whether a 200 answers with a versioned resource: its JSON schema has a `version` property. */
const isVersioned = (response: Response | undefined): boolean => {
  const ref = response?.content?.['application/json']?.schema?.$ref;
  if (!ref) return false;
  const schemas = document.components?.schemas as Record<string, { properties?: Record<string, unknown> }>;
  return 'version' in (schemas[ref.replace('#/components/schemas/', '')]?.properties ?? {});
};

const table = operations.map((entry) => [entry.operationId, entry] as const);
const answersVersioned = table.filter(([, entry]) => isVersioned(responsesOf(entry.operation)['200']));
/** The paths whose GET reads a versioned resource: every change under them is conditional. */
const versionedPaths = new Set(
  answersVersioned.filter(([, entry]) => entry.method === 'get').map(([, entry]) => entry.path),
);
const conditionalWrites = table.filter(
  ([, entry]) => versionedPaths.has(entry.path) && ['patch', 'delete'].includes(entry.method),
);
/** The operations whose `x-rate-limits` put them behind limiters (express-rate-limit, draft-8 RateLimit headers). */
const rateLimited = table.filter(([, entry]) => entry.operation['x-rate-limits'] !== undefined);

describe('every operation follows the conventions', () => {
  it('when the spec is listed, then every operation is checked, the rate-limited ones included', () => {
    expect(operations.length).toBeGreaterThan(20);
    expect(rateLimited.length).toBe(operations.length - 2);
  });

  // Probes are the orchestrator's, many a minute from one address per node; refusing one restarts a pod.
  const UNCOUNTED = ['getLiveness', 'getReadiness'];

  it.each(table)('%s spends the caller budget at one cost, unless it is a health probe', (id, entry) => {
    const policies = (entry.operation['x-rate-limits'] as string[] | undefined) ?? [];
    const callerPolicies = policies.filter((policy) => policy.startsWith('caller-'));
    expect(callerPolicies).toHaveLength(UNCOUNTED.includes(id) ? 0 : 1);
    if (entry.method === 'get' && callerPolicies.length === 1) {
      const lists = JSON.stringify(entry.operation.parameters ?? []).includes('Limit');
      expect(callerPolicies[0]).toBe(lists ? 'caller-list' : 'caller-read');
    }
    if (entry.method !== 'get' && callerPolicies.length === 1) expect(callerPolicies[0]).toBe('caller-write');
  });

  it.each(table)(
    '%s is rate limited by the address if its request carries a password or secret',
    (_id, entry) => {
      const carriesSecret = bodyPropertyNames(entry.operation.requestBody).some((name) =>
        /password|secret/.test(name),
      );
      const policies = (entry.operation['x-rate-limits'] as string[] | undefined) ?? [];
      for (const policy of policies) expect(RATE_LIMIT_POLICIES).toContain(policy);
      if (carriesSecret) expect(policies).toContain('auth-ip');
    },
  );

  it.each(table)('%s documents a 4xx and a 500, all of them problem documents', (_id, entry) => {
    const responses = responsesOf(entry.operation);
    const errors = Object.keys(responses).filter((status) => /^[45]/.test(status));
    expect(errors.some((status) => /^4\d\d$/.test(status))).toBe(true);
    expect(errors).toContain('500');
    for (const status of errors) expect([status, isProblem(responses[status]!)]).toEqual([status, true]);
  });

  it.each(table)('%s declares its security explicitly, with defined schemes and scopes', (_id, entry) => {
    const security = entry.operation.security;
    expect(Array.isArray(security)).toBe(true);
    const schemes = components.securitySchemes;
    const oauthScopes = new Set(
      Object.values(schemes.oauth2.flows).flatMap((flow) => Object.keys(flow.scopes)),
    );
    for (const requirement of security ?? [])
      for (const [name, scopes] of Object.entries(requirement)) {
        expect(Object.keys(schemes)).toContain(name);
        // bearerAuth lists the same scopes as oauth2 (OAS 3.1 allows role names on other schemes).
        for (const scope of scopes)
          expect([name, scope, oauthScopes.has(scope)]).toEqual([name, scope, true]);
      }
  });

  it.each(table.filter(([, entry]) => entry.method === 'patch'))(
    '%s takes a JSON merge patch, as application/merge-patch+json and as application/json alike',
    (_id, entry) => {
      const content = (entry.operation.requestBody as { content: Record<string, { schema: unknown }> })
        .content;
      expect(Object.keys(content).sort()).toEqual(['application/json', 'application/merge-patch+json']);
      expect(content['application/json']!.schema).toEqual(content['application/merge-patch+json']!.schema);
    },
  );

  it('when query parameters declare a default, then they are exactly the ones handlers are typed to receive filled in', () => {
    const parameters = components as unknown as {
      parameters: Record<string, { in: string; name: string; schema?: { default?: unknown } }>;
    };
    const defaulted = new Set<string>();
    for (const { operation } of operations)
      for (const declared of (operation.parameters as Array<{ $ref?: string }> | undefined) ?? []) {
        const parameter = declared.$ref
          ? parameters.parameters[declared.$ref.replace('#/components/parameters/', '')]!
          : (declared as { in: string; name: string; schema?: { default?: unknown } });
        if (parameter.in === 'query' && parameter.schema?.default !== undefined)
          defaulted.add(parameter.name);
      }
    expect([...defaulted].sort()).toEqual([...DEFAULTED_QUERY_PARAMETERS].sort());
  });

  it('when the spec is listed, then items, users and clients are among the versioned resources', () => {
    expect([...versionedPaths].sort()).toEqual(
      expect.arrayContaining([
        '/v1/items/{item_id}',
        '/v1/users/me',
        '/v1/users/{user_id}',
        '/v1/clients/{client_id}',
      ]),
    );
    expect(conditionalWrites.map(([id]) => id)).toEqual(
      expect.arrayContaining([
        'updateItem',
        'deleteItem',
        'updateCurrentUser',
        'updateUser',
        'deleteUser',
        'deleteClient',
      ]),
    );
  });

  it.each(answersVersioned)('%s answers its versioned resource with an ETag', (_id, entry) => {
    expect(headerNames(responsesOf(entry.operation)['200'])).toContain('ETag');
  });

  it.each(answersVersioned.filter(([, entry]) => entry.method === 'get'))(
    '%s honours If-None-Match with a 304 that carries the ETag',
    (_id, entry) => {
      expect(declaresHeader(document, entry, 'If-None-Match')).toBe(true);
      expect(headerNames(responsesOf(entry.operation)['304'])).toContain('ETag');
    },
  );

  it.each(conditionalWrites)(
    '%s changes a versioned resource, so it takes If-Match and documents 412 and 428',
    (_id, entry) => {
      expect(declaresHeader(document, entry, 'If-Match')).toBe(true);
      const responses = responsesOf(entry.operation);
      expect(responses['412'] && isProblem(responses['412'])).toBe(true);
      expect(responses['428'] && isProblem(responses['428'])).toBe(true);
    },
  );

  it('when a client secret is rotated, then the rotation is conditional like any other change of the client', () => {
    const [, rotate] = table.find(([id]) => id === 'rotateClientSecret')!;
    expect(declaresHeader(document, rotate, 'If-Match')).toBe(true);
    expect(Object.keys(responsesOf(rotate.operation))).toEqual(expect.arrayContaining(['412', '428']));
    const [, create] = table.find(([id]) => id === 'createClient')!;
    expect(headerNames(responsesOf(create.operation)['201'])).toContain('ETag');
  });

  it.each(table.filter(([, entry]) => entry.method === 'post'))(
    '%s takes an Idempotency-Key, documents its 409 and 422, and marks a replayed success',
    (_id, entry) => {
      expect(declaresHeader(document, entry, 'Idempotency-Key')).toBe(true);
      const responses = responsesOf(entry.operation);
      expect(responses['409'] && isProblem(responses['409'])).toBe(true);
      expect(responses['422'] && isProblem(responses['422'])).toBe(true);
      const successes = Object.keys(responses).filter((status) => /^2\d\d$/.test(status));
      expect(successes.length).toBeGreaterThan(0);
      for (const status of successes)
        expect([status, headerNames(responses[status])]).toEqual([
          status,
          expect.arrayContaining(['Idempotent-Replayed']),
        ]);
    },
  );

  it.each(rateLimited)(
    '%s documents 429 with Retry-After and RateLimit headers, and RateLimit on success',
    (_id, entry) => {
      const responses = responsesOf(entry.operation);
      const tooMany = responses['429'];
      expect(tooMany && isProblem(tooMany)).toBe(true);
      expect(headerNames(tooMany)).toEqual(
        expect.arrayContaining(['Retry-After', 'RateLimit', 'RateLimit-Policy']),
      );
      const success = Object.entries(responses).filter(([status]) => status.startsWith('2'));
      expect(success.length).toBeGreaterThan(0);
      for (const [status, response] of success)
        expect([status, headerNames(response)]).toEqual([
          status,
          expect.arrayContaining(['RateLimit', 'RateLimit-Policy']),
        ]);
    },
  );
});
