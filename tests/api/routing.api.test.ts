import type { Express } from 'express';
import * as pathToRegexpModule from 'path-to-regexp';
import request from 'supertest';
import { listOperations, loadOpenApiDocument, toExpressPath } from '../../src/internal/openapi-document';
import { createTestApp, type TestApp } from '../support/test-app';

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[]; routes?: ReadonlyMap<string, { stack: RouterLayer[] }> };
}

function routedOperations(app: Express): string[] {
  const routes: string[] = [];
  const walk = (stack: RouterLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) routes.push(`${method} ${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      } else if (layer.handle?.routes) {
        for (const route of layer.handle.routes.values()) walk(route.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
  return routes.sort();
}

describe('every operation in the spec is routed, and nothing else', () => {
  const operations = listOperations(loadOpenApiDocument());
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when the app is built, then its routes are exactly the spec operations', () => {
    const expected = operations.map(({ method, path }) => `${method} ${toExpressPath(path)}`).sort();
    expect(routedOperations(t.app)).toEqual(expected);
  });

  it.each(operations.map((op) => [op.operationId, op] as const))(
    'when %s is called, then it answers a status its operation documents',
    async (_id, { method, path, operation }) => {
      const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      const res = await request(t.app)[method](url);
      const documented = Object.keys(operation.responses as Record<string, unknown>);
      expect(documented).toContain(String(res.status));
    },
  );
});

describe('the validator compiles its route matchers once (patches/express-openapi-validator)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when the same routes are requested again, then no path pattern is compiled again', async () => {
    // The patched lookup calls pathToRegexp through the module object, so a spy sees every compile.
    const pathToRegexp = jest.spyOn(pathToRegexpModule, 'pathToRegexp');
    try {
      const paths = ['/health/live', '/v1/items/00000000-0000-4000-8000-000000000000', '/v1/users/me'];
      for (const path of paths) await request(t.app).get(path);
      const firstRound = pathToRegexp.mock.calls.length;
      for (const path of paths) await request(t.app).get(path);
      expect(firstRound).toBeGreaterThan(0);
      expect(pathToRegexp.mock.calls.length).toBe(firstRound);
    } finally {
      pathToRegexp.mockRestore();
    }
  });
});
