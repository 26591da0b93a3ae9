import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import bundled from '../../generated/openapi.json';
import { PROBLEM_TYPES } from '../../src/utils/problem-types';
import { expectProblem } from '../support/contract';
import { createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
const directives = (policy: string): Map<string, string[]> =>
  new Map(
    policy.split(';').map((directive) => {
      const [name = '', ...values] = directive.trim().split(/\s+/);
      return [name, values];
    }),
  );

/** A portal laid out as `make docs` builds it, small enough to read. */
async function writePortal(dir: string, script: string): Promise<void> {
  await mkdir(join(dir, 'try'), { recursive: true });
  await writeFile(
    join(dir, 'index.html'),
    `<!DOCTYPE html><title>Partner API</title><script type="module">${script}</script>`,
  );
  await writeFile(join(dir, 'try/index.html'), '<!DOCTYPE html><title>Partner API console</title>');
  await writeFile(join(dir, 'try/console.js'), 'startConsole();');
  await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await mkdir(join(dir, 'versions/2026-11-30'), { recursive: true });
  await writeFile(
    join(dir, 'versions/2026-11-30/index.html'),
    '<!DOCTYPE html><title>Partner API 2026-11-30</title><script type="module">hydrate(0);</script>',
  );
  await mkdir(join(dir, 'changelog'), { recursive: true });
  await writeFile(
    join(dir, 'changelog/index.html'),
    '<!DOCTYPE html><title>Changelog</title><section id="2026-11-30"></section>',
  );
}

describe('the docs portal', () => {
  let dir: string;
  let t: TestApp;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portal-'));
    await writePortal(dir, 'hydrate(1);');
    t = await createTestApp({ env: { DOCS_HTML_PATH: join(dir, 'index.html') } });
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('when /docs is fetched, then its CSP allows its own inline script by hash and no eval or other script', async () => {
    const res = await request(t.app)
      .get('/docs')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    const policy = directives(res.headers['content-security-policy'] as string);
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.get('script-src')).toEqual([sha256('hydrate(1);')]);
    expect(policy.get('connect-src')).toEqual(["'self'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.has('worker-src')).toBe(false);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-eval|https?:/);
  });

  it('when /docs is served, then the placeholder host the reference was built with is this deployment, and the CSP hashes what is sent', async () => {
    const built = await mkdtemp(join(tmpdir(), 'portal-'));
    const script = "sample('curl https://api.partner-api.example/v1/items');";
    await writePortal(built, script);
    const app = await createTestApp({ env: { DOCS_HTML_PATH: join(built, 'index.html') } });
    try {
      const res = await request(app.app).get('/docs').expect(200);
      const served = `sample('curl ${TEST_BASE_URL}/v1/items');`;
      expect(res.text).toContain(served);
      expect(res.text).not.toContain('api.partner-api.example');
      expect(directives(res.headers['content-security-policy'] as string).get('script-src')).toEqual([
        sha256(served),
      ]);
    } finally {
      await app.close();
      await rm(built, { recursive: true, force: true });
    }
  });

  it('when the reference is rebuilt while the API runs, then /docs allows the new script instead', async () => {
    const rebuilt = await mkdtemp(join(tmpdir(), 'portal-'));
    await writePortal(rebuilt, 'hydrate(1);');
    const app = await createTestApp({ env: { DOCS_HTML_PATH: join(rebuilt, 'index.html') } });
    try {
      await request(app.app).get('/docs').expect(200);
      await writePortal(rebuilt, 'hydrate(2);');
      const later = new Date(Date.now() + 60_000);
      await utimes(join(rebuilt, 'index.html'), later, later);
      const res = await request(app.app).get('/docs').expect(200);
      expect(directives(res.headers['content-security-policy'] as string).get('script-src')).toEqual([
        sha256('hydrate(2);'),
      ]);
    } finally {
      await app.close();
      await rm(rebuilt, { recursive: true, force: true });
    }
  });

  it('when /docs/try is fetched, then the console may run scripts and call only this origin', async () => {
    const res = await request(t.app)
      .get('/docs/try')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    expect(res.text).toContain('Partner API console');
    const policy = directives(res.headers['content-security-policy'] as string);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('style-src')).toEqual(["'self'"]);
    expect(policy.get('connect-src')).toEqual(["'self'"]);
    expect(policy.get('form-action')).toEqual(["'none'"]);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when a console file is fetched, then it is served; a name outside the list is refused', async () => {
    await request(t.app)
      .get('/docs/try/console.js')
      .expect(200)
      .expect('Content-Type', /text\/javascript/)
      .expect('startConsole();');
    expectProblem(await request(t.app).get('/docs/try/..%2Findex.html'), 400, 'validation-error');
    expectProblem(await request(t.app).get('/docs/try/other.js'), 400, 'validation-error');
  });

  it('when /docs/changelog is fetched, then the page with an anchor per version is served, with no script allowed', async () => {
    const res = await request(t.app)
      .get('/docs/changelog')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    expect(res.text).toContain('id="2026-11-30"');
    const policy = directives(res.headers['content-security-policy'] as string);
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.has('script-src')).toBe(false);
  });

  it("when an older version's reference is fetched, then it is served with its own script's hash; an unknown one is 404", async () => {
    const res = await request(t.app)
      .get('/docs/versions/2026-11-30')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    expect(res.text).toContain('Partner API 2026-11-30');
    expect(directives(res.headers['content-security-policy'] as string).get('script-src')).toEqual([
      sha256('hydrate(0);'),
    ]);
    expectProblem(await request(t.app).get('/docs/versions/2020-01-01'), 404, 'not-found');
    expectProblem(await request(t.app).get('/docs/versions/..%2Findex.html'), 400, 'validation-error');
  });

  it('when /favicon.ico is fetched, then the portal icon is served', async () => {
    await request(t.app)
      .get('/favicon.ico')
      .expect(200)
      .expect('Content-Type', /image\/svg\+xml/);
  });

  it.each(Object.entries(PROBLEM_TYPES))(
    'when the problem type /problems/%s is followed, then it leads to its section of the reference',
    async (kind, { status, title }) => {
      const res = await request(t.app)
        .get(`/problems/${kind}`)
        .expect(200)
        .expect('Content-Type', /text\/html/);
      expect(res.text).toContain(`<meta http-equiv="refresh" content="0; url=/docs#section/errors/${kind}">`);
      expect(res.text).toContain(`<a href="/docs#section/errors/${kind}">`);
      expect(res.text).toContain(`${status} ${title}`);
    },
  );

  it('when a problem an API response carries is followed, then its type resolves', async () => {
    const problem = expectProblem(await request(t.app).get('/v1/items'), 401, 'unauthorized');
    const res = await request(t.app).get(String(problem.type)).expect(200);
    expect(res.text).toContain('/docs#section/errors/unauthorized');
  });

  it('when a problem type that does not exist is followed, then the answer is a validation problem', async () => {
    expectProblem(await request(t.app).get('/problems/no-such-kind'), 400, 'validation-error');
  });

  it('when the portal is not built, then its pages answer 503 saying how to build it', async () => {
    const missing = await createTestApp({ env: { DOCS_HTML_PATH: join(dir, 'missing/index.html') } });
    try {
      for (const path of [
        '/docs',
        '/docs/try',
        '/docs/try/console.js',
        '/docs/changelog',
        '/docs/versions/2026-11-30',
        '/favicon.ico',
      ]) {
        const problem = expectProblem(await request(missing.app).get(path), 503, 'service-unavailable');
        expect(problem.detail).toContain('make docs');
      }
    } finally {
      await missing.close();
    }
  });

  describe('the SDK served from the API', () => {
    const digestOfServedSpec = createHash('sha256').update(JSON.stringify(bundled)).digest('hex');
    const writeSdk = async (portal: string, specSha256: string) => {
      await mkdir(join(portal, 'sdk'), { recursive: true });
      await writeFile(join(portal, 'sdk/typescript.tgz'), Buffer.from([0x1f, 0x8b, 8, 0]));
      await writeFile(
        join(portal, 'sdk/typescript.json'),
        JSON.stringify({ version: '0', spec_sha256: specSha256 }),
      );
    };

    it('when the SDK was packed from the served document, then /sdk/typescript.tgz serves it as a gzipped package', async () => {
      await writeSdk(dir, digestOfServedSpec);
      const res = await request(t.app)
        .get('/sdk/typescript.tgz')
        .expect(200)
        .expect('Content-Type', 'application/gzip');
      expect(Buffer.from(res.body as Buffer).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    });

    it('when the SDK was packed from another document, or not at all, then 503 says to run make sdk', async () => {
      const portal = await mkdtemp(join(tmpdir(), 'portal-'));
      await writePortal(portal, 'hydrate(1);');
      const app = await createTestApp({ env: { DOCS_HTML_PATH: join(portal, 'index.html') } });
      try {
        let problem = expectProblem(
          await request(app.app).get('/sdk/typescript.tgz'),
          503,
          'service-unavailable',
        );
        expect(problem.detail).toContain('make sdk');
        await writeSdk(portal, 'f'.repeat(64));
        problem = expectProblem(
          await request(app.app).get('/sdk/typescript.tgz'),
          503,
          'service-unavailable',
        );
        expect(problem.detail).toContain('make sdk');
      } finally {
        await app.close();
        await rm(portal, { recursive: true, force: true });
      }
    });
  });
});
