import request from 'supertest';
import { parse } from 'yaml';
import bundled from '../../generated/openapi.json';
import { createTestApp, type TestApp } from '../support/test-app';

describe('the contract is served', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('when /openapi.json and /openapi.yaml are fetched, then both are the bundled spec', async () => {
    const json = await request(t.app)
      .get('/openapi.json')
      .expect(200)
      .expect('Content-Type', /application\/json/);
    expect(JSON.parse(json.text)).toEqual(bundled);
    const yaml = await request(t.app)
      .get('/openapi.yaml')
      .expect(200)
      .expect('Content-Type', /application\/yaml/);
    expect(parse(yaml.text)).toEqual(bundled);
  });
});
