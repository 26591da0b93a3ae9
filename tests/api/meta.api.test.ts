import request from 'supertest';
import { parse } from 'yaml';
import bundled from '../../generated/openapi.json';
import { createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

type Flows = Record<string, { tokenUrl: string; refreshUrl?: string }>;

describe('the contract is served', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  /** The bundled spec as a deployment at `base` names itself. */
  function asServedAt(base: string): unknown {
    const expected = structuredClone(bundled) as Omit<typeof bundled, 'servers'> & { servers: unknown[] };
    expected.servers = [{ url: base, description: 'This deployment.', 'x-internal': false }];
    const flows = expected.components.securitySchemes.oauth2.flows as Flows;
    for (const flow of Object.values(flows)) {
      flow.tokenUrl = `${base}/v1/auth/token`;
      if (flow.refreshUrl) flow.refreshUrl = `${base}/v1/auth/token`;
    }
    return expected;
  }

  it('when /openapi.json and /openapi.yaml are fetched, then both are the bundled spec naming this deployment', async () => {
    const json = await request(t.app)
      .get('/openapi.json')
      .expect(200)
      .expect('Content-Type', /application\/json/);
    expect(JSON.parse(json.text)).toEqual(asServedAt(TEST_BASE_URL));
    const yaml = await request(t.app)
      .get('/openapi.yaml')
      .expect(200)
      .expect('Content-Type', /application\/yaml/);
    expect(parse(yaml.text)).toEqual(asServedAt(TEST_BASE_URL));
  });

  it('when the checked-in spec is read, then it keeps the placeholder host as its server variable', () => {
    expect(bundled.servers).toEqual([
      expect.objectContaining({
        url: '{baseUrl}',
        variables: { baseUrl: expect.objectContaining({ default: 'https://api.partner-api.example' }) },
      }),
    ]);
  });

  it('when /openapi-3.0.json is fetched, then it is the 3.0.3 rendition of every operation, naming this deployment', async () => {
    const res = await request(t.app)
      .get('/openapi-3.0.json')
      .expect(200)
      .expect('Content-Type', /application\/json/);
    const rendition = JSON.parse(res.text) as typeof bundled & { webhooks?: unknown };
    expect(rendition.openapi).toBe('3.0.3');
    expect(rendition.servers).toEqual([
      { url: TEST_BASE_URL, description: 'This deployment.', 'x-internal': false },
    ]);
    expect(rendition.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl).toBe(
      `${TEST_BASE_URL}/v1/auth/token`,
    );
    expect(Object.keys(rendition.paths)).toEqual(Object.keys(bundled.paths));
    expect(rendition.webhooks).toBeUndefined();
    // A 3.1 type array with null is 3.0's `nullable`.
    expect(JSON.stringify(rendition.components.schemas)).not.toContain('"null"');
  });
});
