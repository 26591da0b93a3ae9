import { createHash } from 'node:crypto';
import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { countAuditEvents, createTestApp, type TestApp } from '../support/test-app';
import { expectCursorRefused, FORGED_CURSORS } from './forged-cursors';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function clientCredentialsGrant(t: TestApp, clientId: string, clientSecret: string) {
  return request(t.app)
    .post('/v1/auth/token')
    .type('form')
    .send({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
}

function asAdmin(t: TestApp, admin: TestUser) {
  return {
    create: (body: Record<string, unknown>) =>
      request(t.app).post('/v1/clients').auth(admin.accessToken, { type: 'bearer' }).send(body),
    list: (query: Record<string, string | number> = {}) =>
      request(t.app).get('/v1/clients').query(query).auth(admin.accessToken, { type: 'bearer' }),
    get: (id: string) => request(t.app).get(`/v1/clients/${id}`).auth(admin.accessToken, { type: 'bearer' }),
    // A client just created is at version 1, the ETag these send unless told otherwise; `null` sends none.
    delete: (id: string, ifMatch: string | null = '"1"') => {
      const req = request(t.app).delete(`/v1/clients/${id}`).auth(admin.accessToken, { type: 'bearer' });
      return ifMatch === null ? req : req.set('If-Match', ifMatch);
    },
    rotate: (id: string, ifMatch: string | null = '"1"') => {
      const req = request(t.app).post(`/v1/clients/${id}/secret`).auth(admin.accessToken, { type: 'bearer' });
      return ifMatch === null ? req : req.set('If-Match', ifMatch);
    },
  };
}

describe('creating partner clients', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when an admin creates a client, then 201 with Location, no-store and the secret, and only its SHA-256 hash is stored', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await asAdmin(t, admin).create({ name: 'Acme', scopes: ['items:read', 'items:write'] });

    expect(res.status).toBe(201);
    expectSchema('ClientWithSecret', res.body);
    expect(res.body).toMatchObject({ name: 'Acme', scopes: ['items:read', 'items:write'] });
    expect(res.body.client_secret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
    expect(res.headers.location).toBe(`/v1/clients/${res.body.client_id}`);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.etag).toBe('"1"');
    expect(res.body.version).toBe(1);
    const row = await t.database.db('oauth_clients').where({ id: res.body.client_id }).first();
    expect(row).toMatchObject({ name: 'Acme', scopes: ['items:read', 'items:write'], created_by: admin.id });
    expect(row.secret_hash).toBe(sha256Hex(res.body.client_secret));
    expect(JSON.stringify(row)).not.toContain(res.body.client_secret);
    expect(JSON.stringify(row)).not.toContain((res.body.client_secret as string).slice(3));
  });

  it('when the new client uses its secret, then it gets a token with its scopes', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const created = await asAdmin(t, admin)
      .create({ name: 'Reader', scopes: ['items:read'] })
      .expect(201);

    const res = await clientCredentialsGrant(t, created.body.client_id, created.body.client_secret).expect(
      200,
    );

    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'items:read' });
  });

  it.each([
    ['a user scope', ['profile']],
    ['an admin scope', ['users:read']],
    ['an unknown scope', ['items:delete']],
    ['a client scope next to a forbidden one', ['items:read', 'clients:write']],
  ])(
    'when the scopes include %s, then 400 pointing at it and no client is created',
    async (_label, scopes) => {
      const admin = await createUser(t, { role: 'admin' });
      const name = `Bad scopes ${scopes.join(',')}`;

      const res = await asAdmin(t, admin).create({ name, scopes });

      const problem = expectProblem(res, 400, 'validation-error');
      const bad = scopes.findIndex((scope) => !['items:read', 'items:write'].includes(scope));
      expect(problem.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ location: 'body', pointer: `/scopes/${bad}` })]),
      );
      expect(await t.database.db('oauth_clients').where({ name })).toHaveLength(0);
    },
  );

  it.each([
    ['no scopes', '/scopes', { name: 'Empty', scopes: [] }],
    ['duplicate scopes', '/scopes', { name: 'Twice', scopes: ['items:read', 'items:read'] }],
    ['no name', '/name', { scopes: ['items:read'] }],
    [
      'a secret of its own',
      '/client_secret',
      { name: 'Chosen', scopes: ['items:read'], client_secret: 'cs_mine' },
    ],
  ])('when the request has %s, then 400 pointing at %s', async (_label, pointer, body) => {
    const admin = await createUser(t, { role: 'admin' });
    const before = await t.database.db('oauth_clients').count<[{ count: string }]>('* as count');

    const res = await asAdmin(t, admin).create(body);

    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer)).toContain(pointer);
    const after = await t.database.db('oauth_clients').count<[{ count: string }]>('* as count');
    expect(after[0]!.count).toEqual(before[0]!.count);
  });
});

describe('reading partner clients', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when an admin fetches a client, then 200 without client_secret or secret_hash', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const created = await asAdmin(t, admin)
      .create({ name: 'Get me', scopes: ['items:read'] })
      .expect(201);

    const res = await asAdmin(t, admin).get(created.body.client_id).expect(200);

    expectSchema('Client', res.body);
    expect(res.body).toEqual({
      client_id: created.body.client_id,
      name: 'Get me',
      scopes: ['items:read'],
      token_endpoint_auth_method: 'client_secret_basic',
      api_version: LATEST_API_VERSION,
      version: 1,
      created_at: created.body.created_at,
    });
    expect(res.body).not.toHaveProperty('client_secret');
    expect(res.body).not.toHaveProperty('secret_hash');
    expect(res.text).not.toContain(created.body.client_secret);
    expect(res.text).not.toContain(sha256Hex(created.body.client_secret));
  });

  it('when the client does not exist, then 404', async () => {
    const admin = await createUser(t, { role: 'admin' });

    expectProblem(await asAdmin(t, admin).get(UNKNOWN_ID), 404, 'not-found');
  });

  it('when the client id is not a uuid, then 400 pointing at /client_id', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const problem = expectProblem(await asAdmin(t, admin).get('acme'), 400, 'validation-error');
    expect(problem.errors).toEqual([expect.objectContaining({ location: 'path', pointer: '/client_id' })]);
  });

  it('when an admin walks the list two at a time, then every client appears once, newest first, with no secrets', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const created: Array<{ client_id: string; client_secret: string }> = [];
    for (let i = 0; i < 5; i += 1) {
      created.push(
        (
          await asAdmin(t, admin)
            .create({ name: `Page ${i}`, scopes: ['items:read'] })
            .expect(201)
        ).body,
      );
    }

    const seen: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await asAdmin(t, admin)
        .list({ limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expectSchema('ClientPage', res.body);
      for (const secret of created.map((client) => client.client_secret)) {
        expect(res.text).not.toContain(secret);
        expect(res.text).not.toContain(sha256Hex(secret));
      }
      seen.push(...(res.body.data as Array<Record<string, unknown>>));
      cursor = res.body.next_cursor as string | null;
      if (cursor !== null) expect(res.body.data).toHaveLength(2);
      pages += 1;
      expect(pages).toBeLessThan(100);
    } while (cursor !== null);

    for (const client of seen) {
      expect(client).not.toHaveProperty('client_secret');
      expect(client).not.toHaveProperty('secret_hash');
    }
    const ids = seen.map((client) => client.client_id as string);
    expect(new Set(ids).size).toBe(ids.length);
    const expected = await t.database
      .db('oauth_clients')
      .select('id')
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
    expect(ids).toEqual(expected.map((row: { id: string }) => row.id));
    const mine = created.map((client) => client.client_id);
    expect(ids.filter((id) => mine.includes(id))).toEqual([...mine].reverse());
  });

  it.each(FORGED_CURSORS)('when the cursor %s, then 400 pointing at /cursor', async (_label, cursor) => {
    const admin = await createUser(t, { role: 'admin' });

    expectCursorRefused(await asAdmin(t, admin).list({ cursor }));
  });

  it.each([0, 101])('when limit is %s, then 400 pointing at /limit', async (limit) => {
    const admin = await createUser(t, { role: 'admin' });

    const problem = expectProblem(await asAdmin(t, admin).list({ limit }), 400, 'validation-error');
    expect(problem.errors).toEqual([expect.objectContaining({ location: 'query', pointer: '/limit' })]);
  });
});

describe('rotating and deleting partner clients', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when an admin rotates a secret, then 200 no-store with a new secret, the old one gets 401 invalid_client and the new one works', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin, ['items:read']);

    const res = await asAdmin(t, admin).rotate(client.clientId).expect(200);

    expectSchema('ClientWithSecret', res.body);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ client_id: client.clientId, scopes: ['items:read'] });
    expect(res.body.client_secret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
    expect(res.body.client_secret).not.toBe(client.clientSecret);
    const row = await t.database.db('oauth_clients').where({ id: client.clientId }).first();
    expect(row.secret_hash).toBe(sha256Hex(res.body.client_secret));
    const old = await clientCredentialsGrant(t, client.clientId, client.clientSecret);
    expect(expectProblem(old, 401, 'unauthorized')).toMatchObject({ error: 'invalid_client' });
    expect(old.headers['www-authenticate']).toBe('Basic realm="partner-api"');
    await clientCredentialsGrant(t, client.clientId, res.body.client_secret).expect(200);
  });

  it('when the rotated client does not exist, then 404 and nothing is stored', async () => {
    const admin = await createUser(t, { role: 'admin' });

    expectProblem(await asAdmin(t, admin).rotate(UNKNOWN_ID), 404, 'not-found');
    expect(await t.database.db('oauth_clients').where({ id: UNKNOWN_ID })).toHaveLength(0);
  });

  it('when an admin deletes a client, then 204, its row and sessions are gone, it cannot get tokens and its token no longer authenticates', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    // Clients lack `profile`: an authenticated client gets 403 here, an unauthenticated one 401.
    const before = await request(t.app).get('/v1/users/me').auth(client.accessToken, { type: 'bearer' });
    expectProblem(before, 403, 'forbidden');
    expect(await t.database.db('auth_sessions').where({ client_id: client.clientId })).toHaveLength(1);

    const res = await asAdmin(t, admin).delete(client.clientId);

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await t.database.db('oauth_clients').where({ id: client.clientId })).toHaveLength(0);
    expect(await t.database.db('auth_sessions').where({ client_id: client.clientId })).toHaveLength(0);
    const grant = await clientCredentialsGrant(t, client.clientId, client.clientSecret);
    expect(expectProblem(grant, 401, 'unauthorized')).toMatchObject({ error: 'invalid_client' });
    const after = await request(t.app).get('/v1/users/me').auth(client.accessToken, { type: 'bearer' });
    expect(expectProblem(after, 401, 'unauthorized')).toMatchObject({ error: 'invalid_token' });
    expectProblem(await asAdmin(t, admin).get(client.clientId), 404, 'not-found');
  });

  it('when the deleted client does not exist, then 404', async () => {
    const admin = await createUser(t, { role: 'admin' });

    expectProblem(await asAdmin(t, admin).delete(UNKNOWN_ID), 404, 'not-found');
  });

  it('when the admin who created a client is deleted, then the client keeps working', async () => {
    const creator = await createUser(t, { role: 'admin' });
    const other = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, creator, ['items:read']);

    await request(t.app)
      .delete(`/v1/users/${creator.id}`)
      .auth(other.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .expect(204);

    const row = await t.database.db('oauth_clients').where({ id: client.clientId }).first();
    expect(row.created_by).toBeNull();
    await clientCredentialsGrant(t, client.clientId, client.clientSecret).expect(200);
    await asAdmin(t, other).get(client.clientId).expect(200);
  });
});

describe('ETags and conditional requests on partner clients', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const rowOf = (id: string) => t.database.db('oauth_clients').where({ id }).first();
  const auditCount = (id: string, action: string) => countAuditEvents(t, id, action);

  it('when an admin reads a client, then the ETag is its version, and If-None-Match with it answers 304 without a body', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);

    const res = await asAdmin(t, admin).get(client.clientId).expect(200);

    expect(res.headers.etag).toBe('"1"');
    expect(res.body.version).toBe(1);
    const cached = await asAdmin(t, admin).get(client.clientId).set('If-None-Match', '"1"').expect(304);
    expect(cached.text).toBe('');
    expect(cached.headers.etag).toBe('"1"');
    await asAdmin(t, admin).get(client.clientId).set('If-None-Match', '"2"').expect(200);
  });

  it('when a secret is rotated without If-Match or with a stale ETag, then 428 or 412 and the secret still works', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const before = await rowOf(client.clientId);

    expectProblem(await asAdmin(t, admin).rotate(client.clientId, null), 428, 'precondition-required');
    expectProblem(await asAdmin(t, admin).rotate(client.clientId, '"2"'), 412, 'precondition-failed');

    expect(await rowOf(client.clientId)).toEqual(before);
    expect(await auditCount(client.clientId, 'client.secret_rotated')).toBe(0);
    await clientCredentialsGrant(t, client.clientId, client.clientSecret).expect(200);
  });

  it('when a secret is rotated with the current ETag, then the version and ETag advance and the old ETag is stale', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);

    const res = await asAdmin(t, admin).rotate(client.clientId, '"1"').expect(200);

    expect(res.headers.etag).toBe('"2"');
    expect(res.body.version).toBe(2);
    expect(await rowOf(client.clientId)).toMatchObject({ version: 2 });
    expectProblem(await asAdmin(t, admin).delete(client.clientId, '"1"'), 412, 'precondition-failed');
    await asAdmin(t, admin)
      .delete(client.clientId, res.headers.etag as string)
      .expect(204);
  });

  it('when two admins rotate a secret at once with the same ETag, then one 200 and one 412, and only the secret handed out works', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);

    const results = await Promise.all([
      asAdmin(t, admin).rotate(client.clientId, '"1"'),
      asAdmin(t, admin).rotate(client.clientId, '"1"'),
    ]);

    expect(results.map((res) => res.status).sort()).toEqual([200, 412]);
    const winner = results.find((res) => res.status === 200)!;
    const row = await rowOf(client.clientId);
    expect(row.version).toBe(2);
    expect(row.secret_hash).toBe(sha256Hex(winner.body.client_secret));
    expect(await auditCount(client.clientId, 'client.secret_rotated')).toBe(1);
    await clientCredentialsGrant(t, client.clientId, winner.body.client_secret).expect(200);
  });

  it('when a client is deleted without If-Match or with a stale ETag, then 428 or 412 and it keeps working', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);

    expectProblem(await asAdmin(t, admin).delete(client.clientId, null), 428, 'precondition-required');
    expectProblem(await asAdmin(t, admin).delete(client.clientId, '"3"'), 412, 'precondition-failed');

    expect(await rowOf(client.clientId)).toMatchObject({ version: 1 });
    expect(await auditCount(client.clientId, 'client.deleted')).toBe(0);
    await clientCredentialsGrant(t, client.clientId, client.clientSecret).expect(200);
  });

  it('when two admins delete a client at once with the same ETag, then one 204 and one 412 or 404, and one audit row', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);

    const results = await Promise.all([
      asAdmin(t, admin).delete(client.clientId, '"1"'),
      asAdmin(t, admin).delete(client.clientId, '"1"'),
    ]);

    // The loser waits on the row lock and then finds the row gone: not found, not a precondition.
    expect(results.map((res) => res.status).sort()).toEqual([204, 404]);
    expect(await rowOf(client.clientId)).toBeUndefined();
    expect(await auditCount(client.clientId, 'client.deleted')).toBe(1);
  });
});
