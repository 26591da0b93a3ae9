import request from 'supertest';
import { parse } from 'yaml';
import bundled from '../../generated/openapi.json';
import { createTestApp } from '../support/test-app';

describe('the contract is served', () => {
  it('when /openapi.json and /openapi.yaml are fetched, then both are the bundled spec', async () => {
    const t = await createTestApp();
    try {
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
    } finally {
      await t.close();
    }
  });
});
