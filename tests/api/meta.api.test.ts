import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import bundled from '../../generated/openapi.json';
import { expectProblem } from '../support/contract';
import { createTestApp } from '../support/test-app';

describe('the contract is served', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'docs-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

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

  it('when the docs are built, then /docs serves them with a CSP that lets Redoc run', async () => {
    const html = join(dir, 'index.html');
    await writeFile(html, '<!DOCTYPE html><title>Partner API</title>');
    const t = await createTestApp({ env: { DOCS_HTML_PATH: html } });
    try {
      const res = await request(t.app)
        .get('/docs')
        .expect(200)
        .expect('Content-Type', /text\/html/);
      expect(res.text).toContain('Partner API');
      expect(res.headers['content-security-policy']).toContain('worker-src blob:');
    } finally {
      await t.close();
    }
  });

  it('when the docs are not built, then /docs answers 503 problem saying how to build them', async () => {
    const t = await createTestApp({ env: { DOCS_HTML_PATH: join(dir, 'missing.html') } });
    try {
      const problem = expectProblem(await request(t.app).get('/docs'), 503, 'service-unavailable');
      expect(problem.detail).toContain('make docs');
    } finally {
      await t.close();
    }
  });
});
