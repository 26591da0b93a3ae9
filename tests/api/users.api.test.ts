import jwt from 'jsonwebtoken';
import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createUser, PASSWORD, passwordGrant, type TestUser } from '../support/identity';
import { countAuditEvents, createTestApp, type TestApp } from '../support/test-app';
import { expectCursorRefused, FORGED_CURSORS } from './forged-cursors';

const NEW_PASSWORD = 'amber-lantern-quietly-77';

function sessionIdOf(accessToken: string): string {
  return (jwt.decode(accessToken) as { sid: string }).sid;
}

function refresh(t: TestApp, refreshToken: string) {
  return request(t.app)
    .post('/v1/auth/token')
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: refreshToken });
}

function getMe(t: TestApp, accessToken: string) {
  return request(t.app).get('/v1/users/me').auth(accessToken, { type: 'bearer' });
}

/** A second sign-in of the same user: a separate session with its own tokens. */
async function signInAgain(t: TestApp, user: TestUser, password = user.password) {
  const res = await passwordGrant(t.app, user.email, password).expect(200);
  return res.body as { access_token: string; refresh_token: string };
}

describe('the current user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when a user fetches /v1/users/me, then 200 with their own account', async () => {
    const user = await createUser(t);
    const res = await getMe(t, user.accessToken).expect(200);
    expectSchema('User', res.body);
    expect(res.body).toMatchObject({
      id: user.id,
      email: user.email,
      name: 'Test User',
      role: 'user',
      status: 'active',
    });
  });

  it('when a user fetches /v1/users/me, then one query loads session and account together, and a rename shows at once', async () => {
    const user = await createUser(t);
    const queries: string[] = [];
    const record = (query: { sql: string }) => queries.push(query.sql);
    t.database.db.on('query', record);
    try {
      await getMe(t, user.accessToken).expect(200);
      expect(queries).toHaveLength(1);
      await t.database.db('users').where({ id: user.id }).update({ name: 'Renamed Elsewhere' });

      const res = await getMe(t, user.accessToken).expect(200);

      expect(res.body).toMatchObject({ id: user.id, name: 'Renamed Elsewhere' });
    } finally {
      t.database.db.off('query', record);
    }
  });

  it('when a user renames themselves, then 200 with the new name, and the row has it with a later updated_at', async () => {
    const user = await createUser(t);
    const before = await t.database.db('users').where({ id: user.id }).first();

    const res = await request(t.app)
      .patch('/v1/users/me')
      .auth(user.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ name: 'Grace Hopper' })
      .expect(200);

    expectSchema('User', res.body);
    expect(res.body).toMatchObject({ id: user.id, email: user.email, name: 'Grace Hopper', role: 'user' });
    const after = await t.database.db('users').where({ id: user.id }).first();
    expect(after.name).toBe('Grace Hopper');
    expect((after.updated_at as Date).getTime()).toBeGreaterThan((before.updated_at as Date).getTime());
    expect(after.created_at).toEqual(before.created_at);
    expect(res.body.updated_at).toBe((after.updated_at as Date).toISOString());
  });

  it('when the change is sent as a JSON merge patch, then it applies like plain JSON', async () => {
    const user = await createUser(t);
    const res = await request(t.app)
      .patch('/v1/users/me')
      .auth(user.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ name: 'Merge Patched' }))
      .expect(200);
    expect(res.body).toMatchObject({ id: user.id, name: 'Merge Patched' });
    expect((await t.database.db('users').where({ id: user.id }).first()).name).toBe('Merge Patched');
  });

  it('when the new name is empty, then 400 pointing at /name and the row is unchanged', async () => {
    const user = await createUser(t);

    const res = await request(t.app)
      .patch('/v1/users/me')
      .auth(user.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ name: '' });

    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer)).toEqual(['/name']);
    expect((await t.database.db('users').where({ id: user.id }).first()).name).toBe('Test User');
  });
});

describe('changing the password', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const changePassword = (user: TestUser, body: Record<string, string>) =>
    request(t.app).post('/v1/users/me/password').auth(user.accessToken, { type: 'bearer' }).send(body);

  it('when the current password is right, then 204, the old password stops working and the new one works', async () => {
    const user = await createUser(t);
    const hashBefore = (await t.database.db('users').where({ id: user.id }).first()).password_hash;

    const res = await changePassword(user, { current_password: PASSWORD, new_password: NEW_PASSWORD });

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const hashAfter = (await t.database.db('users').where({ id: user.id }).first()).password_hash;
    expect(hashAfter).not.toBe(hashBefore);
    expect(hashAfter).toMatch(/^\$argon2id\$/);
    const old = await passwordGrant(t.app, user.email, PASSWORD);
    expect(expectProblem(old, 400, 'oauth-error')).toMatchObject({ error: 'invalid_grant' });
    await passwordGrant(t.app, user.email, NEW_PASSWORD).expect(200);
  });

  it('when the password changes, then every other session ends and the caller’s session stays signed in', async () => {
    const user = await createUser(t);
    const other = await signInAgain(t, user);
    const callerSession = sessionIdOf(user.accessToken);
    const otherSession = sessionIdOf(other.access_token);
    await getMe(t, other.access_token).expect(200);

    await changePassword(user, { current_password: PASSWORD, new_password: NEW_PASSWORD }).expect(204);

    const otherAccess = await getMe(t, other.access_token);
    expect(expectProblem(otherAccess, 401, 'unauthorized')).toMatchObject({ error: 'invalid_token' });
    const otherRefresh = await refresh(t, other.refresh_token);
    expect(expectProblem(otherRefresh, 400, 'oauth-error')).toMatchObject({ error: 'invalid_grant' });
    await getMe(t, user.accessToken).expect(200);
    await refresh(t, user.refreshToken).expect(200);
    const sessions = await t.database.db('auth_sessions').where({ user_id: user.id });
    const revokedAt = (id: string) =>
      (sessions.find((s: { id: string }) => s.id === id) as { revoked_at: Date | null }).revoked_at;
    expect(revokedAt(otherSession)).not.toBeNull();
    expect(revokedAt(callerSession)).toBeNull();
  });

  it('when the current password is wrong, then 400 pointing at /current_password and nothing changes', async () => {
    const user = await createUser(t);
    const other = await signInAgain(t, user);
    const hashBefore = (await t.database.db('users').where({ id: user.id }).first()).password_hash;

    const res = await changePassword(user, {
      current_password: 'not-the-password-1',
      new_password: NEW_PASSWORD,
    });

    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([
      { location: 'body', pointer: '/current_password', detail: 'is incorrect' },
    ]);
    expect((await t.database.db('users').where({ id: user.id }).first()).password_hash).toBe(hashBefore);
    await getMe(t, other.access_token).expect(200);
    await passwordGrant(t.app, user.email, PASSWORD).expect(200);
  });

  it('when the new password is one of the most common, then 400 pointing at /new_password and nothing changes', async () => {
    const user = await createUser(t);
    const hashBefore = (await t.database.db('users').where({ id: user.id }).first()).password_hash;

    const res = await changePassword(user, { current_password: PASSWORD, new_password: 'password123' });

    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([
      { location: 'body', pointer: '/new_password', detail: 'is one of the most common passwords' },
    ]);
    expect((await t.database.db('users').where({ id: user.id }).first()).password_hash).toBe(hashBefore);
  });

  it('when the new password is too short, then 400 pointing at /new_password', async () => {
    const user = await createUser(t);

    const res = await changePassword(user, { current_password: PASSWORD, new_password: 'short7!' });

    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer)).toEqual(['/new_password']);
  });
});

describe('listing users (admin)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const listUsers = (admin: TestUser, query: Record<string, string | number> = {}) =>
    request(t.app).get('/v1/users').query(query).auth(admin.accessToken, { type: 'bearer' });

  it('when an admin walks the list two at a time, then every user appears once, newest first, and the last page has next_cursor null', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push((await createUser(t)).id);

    const seen: Array<{ id: string; created_at: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await listUsers(admin, { limit: 2, ...(cursor ? { cursor } : {}) }).expect(200);
      expectSchema('UserPage', res.body);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...(res.body.data as Array<{ id: string; created_at: string }>));
      cursor = res.body.next_cursor as string | null;
      if (cursor !== null) expect(res.body.data).toHaveLength(2);
      pages += 1;
      expect(pages).toBeLessThan(100);
    } while (cursor !== null);

    const ids = seen.map((user) => user.id);
    expect(new Set(ids).size).toBe(ids.length);
    const expected = await t.database
      .db('users')
      .select('id')
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
    expect(ids).toEqual(expected.map((row: { id: string }) => row.id));
    expect(ids.filter((id) => created.includes(id))).toEqual([...created].reverse());
    expect(ids).toContain(admin.id);
    const times = seen.map((user) => Date.parse(user.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('when filtered by role, then only users with that role', async () => {
    const admin = await createUser(t, { role: 'admin' });
    await createUser(t);

    const res = await listUsers(admin, { role: 'admin', limit: 100 }).expect(200);

    expectSchema('UserPage', res.body);
    const data = res.body.data as Array<{ id: string; role: string }>;
    expect(data.map((user) => user.id)).toContain(admin.id);
    expect(data.every((user) => user.role === 'admin')).toBe(true);
    const admins = await t.database
      .db('users')
      .where({ role: 'admin' })
      .count<[{ count: string }]>('* as count');
    expect(data).toHaveLength(Number(admins[0]!.count));
  });

  it('when filtered by status, then only users with that status', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const disabled = await createUser(t);
    await request(t.app)
      .patch(`/v1/users/${disabled.id}`)
      .auth(admin.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ status: 'disabled' })
      .expect(200);

    const res = await listUsers(admin, { status: 'disabled', limit: 100 }).expect(200);

    const data = res.body.data as Array<{ id: string; status: string }>;
    expect(data.map((user) => user.id)).toContain(disabled.id);
    expect(data.every((user) => user.status === 'disabled')).toBe(true);
    const active = await listUsers(admin, { status: 'active', limit: 100 }).expect(200);
    expect((active.body.data as Array<{ id: string }>).map((user) => user.id)).not.toContain(disabled.id);
  });

  it('when filtered by email in another case, then exactly that user', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    const res = await listUsers(admin, { email: user.email.toUpperCase() }).expect(200);

    expectSchema('UserPage', res.body);
    expect(res.body).toMatchObject({ data: [{ id: user.id, email: user.email }], next_cursor: null });
    expect(res.body.data).toHaveLength(1);
  });

  it('when the email matches nobody, then an empty page', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await listUsers(admin, { email: 'nobody-here@example.com' }).expect(200);

    expect(res.body).toEqual({ data: [], next_cursor: null });
  });

  it.each(FORGED_CURSORS)('when the cursor %s, then 400 pointing at /cursor', async (_label, cursor) => {
    const admin = await createUser(t, { role: 'admin' });

    expectCursorRefused(await listUsers(admin, { cursor }));
  });

  it.each([0, 101, -1])('when limit is %s, then 400 pointing at /limit', async (limit) => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await listUsers(admin, { limit });

    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ location: string; pointer: string }>).map((e) => e)).toEqual([
      expect.objectContaining({ location: 'query', pointer: '/limit' }),
    ]);
  });

  it('when a filter value is not in the spec, then 400 pointing at it', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await listUsers(admin, { role: 'superuser' });

    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer)).toEqual(['/role']);
  });
});

describe('managing one user (admin)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const asAdmin = (admin: TestUser) => ({
    get: (id: string) => request(t.app).get(`/v1/users/${id}`).auth(admin.accessToken, { type: 'bearer' }),
    // A user just created is at version 1, the ETag these send unless told otherwise.
    patch: (id: string, body: Record<string, unknown>, ifMatch = '"1"') =>
      request(t.app)
        .patch(`/v1/users/${id}`)
        .auth(admin.accessToken, { type: 'bearer' })
        .set('If-Match', ifMatch)
        .send(body),
    delete: (id: string, ifMatch = '"1"') =>
      request(t.app)
        .delete(`/v1/users/${id}`)
        .auth(admin.accessToken, { type: 'bearer' })
        .set('If-Match', ifMatch),
  });

  it('when an admin fetches a user by id, then 200 with that user', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    const res = await asAdmin(admin).get(user.id).expect(200);

    expectSchema('User', res.body);
    expect(res.body).toMatchObject({ id: user.id, email: user.email, role: 'user', status: 'active' });
  });

  it('when the id names nobody, then 404', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await asAdmin(admin).get('00000000-0000-4000-8000-000000000000');

    expectProblem(res, 404, 'not-found');
  });

  it('when the id is not a uuid, then 400 pointing at /user_id', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await asAdmin(admin).get('not-a-uuid');

    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([expect.objectContaining({ location: 'path', pointer: '/user_id' })]);
  });

  it('when an admin promotes a user, then 200, the row has the role, and the user gets admin scopes on the next sign-in', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    const res = await asAdmin(admin).patch(user.id, { role: 'admin' }).expect(200);

    expectSchema('User', res.body);
    expect(res.body).toMatchObject({ id: user.id, role: 'admin', status: 'active' });
    expect((await t.database.db('users').where({ id: user.id }).first()).role).toBe('admin');
    const tokens = await passwordGrant(t.app, user.email, PASSWORD).expect(200);
    expect((tokens.body.scope as string).split(' ')).toEqual(expect.arrayContaining(['users:read']));
  });

  it('when an admin disables a user, then their access token gets 401 at once, refresh fails, sign-in fails and every session is revoked', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    const second = await signInAgain(t, user);
    await getMe(t, user.accessToken).expect(200);

    const res = await asAdmin(admin).patch(user.id, { status: 'disabled' }).expect(200);

    expect(res.body).toMatchObject({ id: user.id, status: 'disabled' });
    expect(expectProblem(await getMe(t, user.accessToken), 401, 'unauthorized')).toMatchObject({
      error: 'invalid_token',
    });
    expectProblem(await getMe(t, second.access_token), 401, 'unauthorized');
    expect(expectProblem(await refresh(t, user.refreshToken), 400, 'oauth-error')).toMatchObject({
      error: 'invalid_grant',
    });
    expect(expectProblem(await passwordGrant(t.app, user.email, PASSWORD), 400, 'oauth-error')).toMatchObject(
      { error: 'invalid_grant' },
    );
    const sessions = await t.database.db('auth_sessions').where({ user_id: user.id });
    expect(sessions).toHaveLength(2);
    expect(sessions.every((s: { revoked_at: Date | null }) => s.revoked_at !== null)).toBe(true);
    expect((await t.database.db('users').where({ id: user.id }).first()).status).toBe('disabled');
  });

  it('when a disabled user is enabled again, then they can sign in but their old tokens stay dead', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    await asAdmin(admin).patch(user.id, { status: 'disabled' }).expect(200);

    const res = await asAdmin(admin).patch(user.id, { status: 'active' }, '"2"').expect(200);

    expect(res.body).toMatchObject({ status: 'active' });
    expectProblem(await getMe(t, user.accessToken), 401, 'unauthorized');
    expectProblem(await refresh(t, user.refreshToken), 400, 'oauth-error');
    await passwordGrant(t.app, user.email, PASSWORD).expect(200);
  });

  it('when the patch is empty, then 400 and the row is unchanged', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    const before = await t.database.db('users').where({ id: user.id }).first();

    const res = await asAdmin(admin).patch(user.id, {});

    expectProblem(res, 400, 'validation-error');
    expect(await t.database.db('users').where({ id: user.id }).first()).toEqual(before);
  });

  it('when the patched user does not exist, then 404', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await asAdmin(admin).patch('00000000-0000-4000-8000-000000000000', { status: 'disabled' });

    expectProblem(res, 404, 'not-found');
  });

  it.each([[{ role: 'user' }], [{ status: 'disabled' }]])(
    'when an admin changes their own %j, then 409 and they stay an active admin',
    async (change) => {
      const admin = await createUser(t, { role: 'admin' });

      const res = await asAdmin(admin).patch(admin.id, change);

      expectProblem(res, 409, 'conflict');
      const row = await t.database.db('users').where({ id: admin.id }).first();
      expect(row).toMatchObject({ role: 'admin', status: 'active' });
      await request(t.app).get('/v1/users').auth(admin.accessToken, { type: 'bearer' }).expect(200);
    },
  );

  it('when an admin deletes a user, then 204, the row and sessions are gone and the user’s token gets 401', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    await getMe(t, user.accessToken).expect(200);

    const res = await asAdmin(admin).delete(user.id);

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await t.database.db('users').where({ id: user.id }).first()).toBeUndefined();
    expect(await t.database.db('auth_sessions').where({ user_id: user.id })).toHaveLength(0);
    expectProblem(await getMe(t, user.accessToken), 401, 'unauthorized');
    expectProblem(await refresh(t, user.refreshToken), 400, 'oauth-error');
    expectProblem(await asAdmin(admin).get(user.id), 404, 'not-found');
  });

  it('when the deleted user does not exist, then 404', async () => {
    const admin = await createUser(t, { role: 'admin' });

    expectProblem(await asAdmin(admin).delete('00000000-0000-4000-8000-000000000000'), 404, 'not-found');
  });

  it('when an admin deletes themselves, then 409 and the row and their token remain', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const res = await asAdmin(admin).delete(admin.id);

    expectProblem(res, 409, 'conflict');
    expect(await t.database.db('users').where({ id: admin.id }).first()).toBeDefined();
    await getMe(t, admin.accessToken).expect(200);
  });
});

describe('ETags and conditional requests on users', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const bearer = (user: TestUser) => ({ Authorization: `Bearer ${user.accessToken}` });
  const patchMe = (user: TestUser, body: Record<string, unknown>, ifMatch?: string) => {
    const req = request(t.app).patch('/v1/users/me').set(bearer(user));
    if (ifMatch) void req.set('If-Match', ifMatch);
    return req.send(body);
  };
  const patchUser = (admin: TestUser, id: string, body: Record<string, unknown>, ifMatch?: string) => {
    const req = request(t.app).patch(`/v1/users/${id}`).set(bearer(admin));
    if (ifMatch) void req.set('If-Match', ifMatch);
    return req.send(body);
  };
  const deleteUser = (admin: TestUser, id: string, ifMatch?: string) => {
    const req = request(t.app).delete(`/v1/users/${id}`).set(bearer(admin));
    if (ifMatch) void req.set('If-Match', ifMatch);
    return req;
  };
  const rowOf = (id: string) => t.database.db('users').where({ id }).first();
  const auditCount = (id: string, action: string) => countAuditEvents(t, id, action);

  it('when a user reads themselves, then the ETag is their version, and If-None-Match with it answers 304 without a body', async () => {
    const user = await createUser(t);

    const res = await getMe(t, user.accessToken).expect(200);

    expect(res.body.version).toBe(1);
    expect(res.headers.etag).toBe('"1"');
    const cached = await getMe(t, user.accessToken).set('If-None-Match', '"1"').expect(304);
    expect(cached.text).toBe('');
    expect(cached.headers.etag).toBe('"1"');
    await getMe(t, user.accessToken).set('If-None-Match', '"7"').expect(200);
    const legacy = await request(t.app).get('/v1/me').set(bearer(user)).set('If-None-Match', 'W/"1"');
    expect(legacy.status).toBe(304);
  });

  it('when an admin reads a user, then the ETag is the version, and If-None-Match with it answers 304', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    const res = await request(t.app).get(`/v1/users/${user.id}`).set(bearer(admin)).expect(200);

    expect(res.headers.etag).toBe('"1"');
    await request(t.app)
      .get(`/v1/users/${user.id}`)
      .set(bearer(admin))
      .set('If-None-Match', '"1"')
      .expect(304);
  });

  it('when a user renames themselves without If-Match, then 428 and the row is unchanged', async () => {
    const user = await createUser(t);
    const before = await rowOf(user.id);

    expectProblem(await patchMe(user, { name: 'No Precondition' }), 428, 'precondition-required');

    expect(await rowOf(user.id)).toEqual(before);
  });

  it('when a user renames themselves with a stale or weak ETag, then 412 and the row is unchanged', async () => {
    const user = await createUser(t);
    const before = await rowOf(user.id);

    expectProblem(await patchMe(user, { name: 'Stale' }, '"2"'), 412, 'precondition-failed');
    expectProblem(await patchMe(user, { name: 'Weak' }, 'W/"1"'), 412, 'precondition-failed');

    expect(await rowOf(user.id)).toEqual(before);
    expect(await auditCount(user.id, 'user.updated')).toBe(0);
  });

  it('when a user renames themselves with the current ETag, then 200 with version and ETag advanced, and the old ETag is stale', async () => {
    const user = await createUser(t);

    const res = await patchMe(user, { name: 'Current' }, '"1"').expect(200);

    expect(res.headers.etag).toBe('"2"');
    expect(res.body).toMatchObject({ name: 'Current', version: 2 });
    expect(await rowOf(user.id)).toMatchObject({ name: 'Current', version: 2 });
    expectProblem(await patchMe(user, { name: 'Lost' }, '"1"'), 412, 'precondition-failed');
    expect((await getMe(t, user.accessToken).set('If-None-Match', '"1"').expect(200)).headers.etag).toBe(
      '"2"',
    );
  });

  it('when a user changes their password, then the version advances without If-Match and the ETag read before is stale', async () => {
    const user = await createUser(t);

    await request(t.app)
      .post('/v1/users/me/password')
      .set(bearer(user))
      .send({ current_password: user.password, new_password: NEW_PASSWORD })
      .expect(204);

    expect((await rowOf(user.id)).version).toBe(2);
    expectProblem(await patchMe(user, { name: 'After Password' }, '"1"'), 412, 'precondition-failed');
  });

  it('when an admin changes a user without If-Match or with a stale ETag, then 428 or 412 and nothing changes', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    const before = await rowOf(user.id);

    expectProblem(await patchUser(admin, user.id, { status: 'disabled' }), 428, 'precondition-required');
    expectProblem(await patchUser(admin, user.id, { status: 'disabled' }, '"5"'), 412, 'precondition-failed');

    expect(await rowOf(user.id)).toEqual(before);
    expect(await auditCount(user.id, 'user.admin_updated')).toBe(0);
    await getMe(t, user.accessToken).expect(200);
  });

  it('when an admin changes a user with the current ETag, then 200 with the new ETag and version', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    const res = await patchUser(admin, user.id, { role: 'admin' }, '"1"').expect(200);

    expect(res.headers.etag).toBe('"2"');
    expect(res.body).toMatchObject({ role: 'admin', version: 2 });
    expect(await rowOf(user.id)).toMatchObject({ role: 'admin', version: 2 });
  });

  it('when two admins change a user at once with the same ETag, then exactly one wins and the other gets 412', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    const results = await Promise.all([
      patchUser(admin, user.id, { role: 'admin' }, '"1"'),
      patchUser(admin, user.id, { status: 'disabled' }, '"1"'),
    ]);

    expect(results.map((res) => res.status).sort()).toEqual([200, 412]);
    const winner = results.find((res) => res.status === 200)!;
    const row = await rowOf(user.id);
    expect(row.version).toBe(2);
    // Only the winner's change is stored: the loser's field kept its value.
    expect({ role: row.role, status: row.status }).toEqual({
      role: winner.body.role,
      status: winner.body.status,
    });
    expect(row.role === 'admin' && row.status === 'disabled').toBe(false);
    expect(await auditCount(user.id, 'user.admin_updated')).toBe(1);
  });

  it('when a user renames themselves twice at once with the same ETag, then one 200 and one 412', async () => {
    const user = await createUser(t);

    const results = await Promise.all([
      patchMe(user, { name: 'First Writer' }, '"1"'),
      patchMe(user, { name: 'Second Writer' }, '"1"'),
    ]);

    expect(results.map((res) => res.status).sort()).toEqual([200, 412]);
    const winner = results.find((res) => res.status === 200)!;
    expect(await rowOf(user.id)).toMatchObject({ name: winner.body.name, version: 2 });
    expect(await auditCount(user.id, 'user.updated')).toBe(1);
  });

  it('when an admin deletes a user without If-Match or with a stale ETag, then 428 or 412 and the user remains', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    expectProblem(await deleteUser(admin, user.id), 428, 'precondition-required');
    expectProblem(await deleteUser(admin, user.id, '"2"'), 412, 'precondition-failed');

    expect(await rowOf(user.id)).toMatchObject({ version: 1 });
    expect(await auditCount(user.id, 'user.deleted')).toBe(0);
    await getMe(t, user.accessToken).expect(200);
    await deleteUser(admin, user.id, '"1"').expect(204);
    expect(await rowOf(user.id)).toBeUndefined();
  });
});
