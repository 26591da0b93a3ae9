import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { expectProblem } from '../support/contract';
import { createUser, passwordGrant, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

/** Inputs a spec-driven fuzzer found answered with 500, or accepted although the spec forbids them. */

const bearer = (user: TestUser) => ({ Authorization: `Bearer ${user.accessToken}` });
const NUL = '\u0000';

function expectFieldError(body: Record<string, unknown>, location: string, pointer: string): void {
  expect(body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ location, pointer })]));
}

describe('input the database cannot store or the spec forbids is refused with 400, never 500', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    user = await createUser(t);
  });
  afterAll(() => t.close());

  const countItems = async () => Number((await t.database.db('items').count({ n: '*' }))[0]!.n);

  it.each([
    ['name', { name: `a${NUL}b` }, '/name'],
    ['a tag', { name: 'ok', tags: [`t${NUL}`] }, '/tags/0'],
    ['a metadata value', { name: 'ok', metadata: { k: NUL } }, '/metadata/k'],
    ['the description', { name: 'ok', description: NUL }, '/description'],
  ])(
    'when an item %s holds a NUL character, then 400 naming it and nothing is stored',
    async (_, body, pointer) => {
      const before = await countItems();
      const res = await request(t.app).post('/v1/items').set(bearer(user)).send(body);
      expectFieldError(expectProblem(res, 400, 'validation-error'), 'body', pointer);
      expect(await countItems()).toBe(before);
    },
  );

  it.each([
    [
      'bytes that are not UTF-8',
      Buffer.from([...Buffer.from('{"name":"a'), 0xff, 0xfe, ...Buffer.from('b"}')]),
    ],
    ['an unpaired high surrogate escape', Buffer.from('{"name":"\\ud800x"}')],
    ['an unpaired low surrogate escape in a key', Buffer.from('{"name":"ok","metadata":{"\\udc00":1}}')],
  ])('when an item body holds %s, then 400 and nothing is stored', async (_, body) => {
    const before = await countItems();
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(user))
      .set('Content-Type', 'application/json')
      // The bytes as they are: supertest would serialise a Buffer as JSON.
      .serialize(() => body as unknown as string)
      .send(body);
    expectFieldError(expectProblem(res, 400, 'validation-error'), 'body', '');
    expect(await countItems()).toBe(before);
  });

  it('when a string holds a paired surrogate escape (an emoji), then it is stored as that character', async () => {
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(user))
      .set('Content-Type', 'application/json')
      .send('{"name":"smile \\ud83d\\ude00"}')
      .expect(201);
    expect(res.body.name).toBe('smile \u{1F600}');
  });

  it.each(['q', 'tag'])('when the %s filter holds a NUL character, then 400', async (name) => {
    const res = await request(t.app).get(`/v1/items?${name}=a%00b`).set(bearer(user));
    expectFieldError(expectProblem(res, 400, 'validation-error'), 'query', `/${name}`);
  });

  it('when a registration name or a client name holds a NUL character, then 400', async () => {
    const register = await request(t.app)
      .post('/v1/auth/register')
      .send({ email: `nul-${randomUUID()}@example.com`, password: 'violet-kettle-orbit-42', name: NUL });
    expectFieldError(expectProblem(register, 400, 'validation-error'), 'body', '/name');
    const admin = await createUser(t, { role: 'admin' });
    const client = await request(t.app)
      .post('/v1/clients')
      .set(bearer(admin))
      .send({ name: NUL, scopes: [] });
    expectFieldError(expectProblem(client, 400, 'validation-error'), 'body', '/name');
  });

  it('when the token endpoint gets a username with a NUL character, then an OAuth invalid_request, not 500', async () => {
    const res = await passwordGrant(t.app, `a${NUL}@example.com`, 'whatever-password');
    expect(expectProblem(res, 400, 'validation-error')).toMatchObject({ error: 'invalid_request' });
  });

  it('when created_after has an offset PostgreSQL refuses (+16:00), then it is read as the instant it names', async () => {
    const item = await request(t.app).post('/v1/items').set(bearer(user)).send({ name: 'dated' }).expect(201);
    const createdAt = Date.parse((item.body as { created_at: string }).created_at);
    // The same instant written with a +16:00 offset, one hour before the item was created.
    const local = new Date(createdAt - 3_600_000 + 16 * 3_600_000).toISOString().slice(0, 19);
    const res = await request(t.app)
      .get(`/v1/items?created_after=${encodeURIComponent(`${local}+16:00`)}`)
      .set(bearer(user))
      .expect(200);
    expect((res.body as { data: Array<{ id: string }> }).data.map((i) => i.id)).toContain(item.body.id);
  });

  it.each(['0000-01-01T00:00:00Z', '9999-12-31T23:59:59-23:59', '2016-12-31T23:59:60Z'])(
    'when created_before is %s (valid RFC 3339, outside what PostgreSQL stores), then 200',
    async (instant) => {
      await request(t.app)
        .get(`/v1/items?created_before=${encodeURIComponent(instant)}`)
        .set(bearer(user))
        .expect(200);
    },
  );

  it.each([
    'Infinity',
    '1e400',
    '-Infinity',
    '101',
    '0',
    '2.5',
    '0x10',
    '1e1',
    '%2010',
    '10%20',
    '+10',
    '0b11',
    '',
  ])('when limit is %s, then 400 and no query reads past the cap', async (limit) => {
    const res = await request(t.app).get(`/v1/items?limit=${limit}`).set(bearer(user));
    expectFieldError(expectProblem(res, 400, 'validation-error'), 'query', '/limit');
  });

  it.each([
    ['a corrupt gzip body', 'gzip', Buffer.from('this is not gzip')],
    ['deflate on a plain body', 'deflate', Buffer.from('{"name":"x"}')],
    ['br on a plain body', 'br', Buffer.from('{"name":"x"}')],
  ])('when the body is %s, then 400 and nothing is stored', async (_, encoding, body) => {
    const before = await countItems();
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(user))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', encoding)
      .serialize((raw: Buffer) => raw as unknown as string)
      .send(body);
    expectProblem(res, 400, 'validation-error');
    expect(await countItems()).toBe(before);
  });

  it('when the body is well-formed gzip, then it is decoded and stored', async () => {
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(user))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      // superagent would serialise a Buffer as JSON for a JSON content type; send the bytes as they are.
      .serialize((body: Buffer) => body as unknown as string)
      .send(gzipSync(JSON.stringify({ name: 'zipped' })))
      .expect(201);
    expect(await t.database.db('items').where({ id: res.body.id }).first()).toMatchObject({ name: 'zipped' });
  });

  it.each([
    ['a number', 12345],
    ['a boolean', false],
    ['an array', ['x']],
  ])('when a JSON string field holds %s, then 400 instead of a stored coercion', async (_, name) => {
    const before = await countItems();
    const res = await request(t.app).post('/v1/items').set(bearer(user)).send({ name });
    expectFieldError(expectProblem(res, 400, 'validation-error'), 'body', '/name');
    expect(await countItems()).toBe(before);
  });

  it('when a query value carries an unencoded colon (RFC 3986 allows it), then it is accepted', async () => {
    await request(t.app).get('/v1/items?created_after=2026-01-01T00:00:00Z').set(bearer(user)).expect(200);
  });

  it('when a query parameter has no name (?=false), then 400 like any unknown parameter', async () => {
    const res = await request(t.app).get('/v1/items?=false').set(bearer(user));
    expectFieldError(expectProblem(res, 400, 'validation-error'), 'query', '');
    expectProblem(await request(t.app).get('/v1/items?foo=1').set(bearer(user)), 400, 'validation-error');
  });

  it('when a path holds characters no path of the API has (a fuzzer sent a list or an object unencoded as client_id), then 400, not a 405 for a shorter path', async () => {
    const admin = await createUser(t, { role: 'admin' });
    for (const path of [
      `/v1/clients/[{'?%27%3A+None%7D%5D%2Fsecret=x`,
      `/v1/clients/%7B'?%27%3A+%27null%27%7D%2Fsecret=x`,
    ]) {
      const res = await request(t.app).post(path).set(bearer(admin));
      expectFieldError(expectProblem(res, 400, 'validation-error'), 'path', '');
    }
    await request(t.app).get('/v1/items/%7Bnot-a-uuid%7D').set(bearer(user)).expect(400);
  });

  it('when If-Match is not an entity tag, then 400 from the spec rather than a silent 412', async () => {
    const res = await request(t.app)
      .patch(`/v1/items/${randomUUID()}`)
      .set(bearer(user))
      .set('If-Match', 'not-an-etag')
      .set('Content-Type', 'application/merge-patch+json')
      .send({ name: 'x' });
    expectFieldError(expectProblem(res, 400, 'validation-error'), 'header', '/if-match');
  });
});

describe('HTTP semantics the spec promises', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    user = await createUser(t);
  });
  afterAll(() => t.close());

  it.each(['/health/live', '/health/ready', '/openapi.json', '/v1/users/me'])(
    'when HEAD %s, then the GET status and headers without a body',
    async (path) => {
      const get = await request(t.app).get(path).set(bearer(user)).expect(200);
      const head = await request(t.app).head(path).set(bearer(user)).expect(200);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.text ?? '').toBe('');
    },
  );

  it('when HEAD has no token on a protected path, then the same 401 as GET', async () => {
    await request(t.app).head('/v1/users/me').expect(401);
  });

  it('when HEAD targets a path without GET, then 405 with Allow', async () => {
    const res = await request(t.app).head('/v1/auth/token').expect(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('when Accept rules out JSON, then 406 problem; when it allows it, then 200', async () => {
    const res = await request(t.app).get('/v1/users/me').set(bearer(user)).set('Accept', 'application/xml');
    expect(expectProblem(res, 406, 'not-acceptable').detail).toContain('application/json');
    await request(t.app)
      .get('/v1/users/me')
      .set(bearer(user))
      .set('Accept', 'application/*;q=0.5')
      .expect(200);
    await request(t.app).get('/openapi.yaml').set('Accept', 'application/json').expect(406);
  });
});
