import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import {
  createPartnerClient,
  createUser,
  PASSWORD,
  passwordGrant,
  uniqueEmail,
  type TestUser,
} from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

interface AuditEventBody {
  id: string;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  request_id: string;
  details?: Record<string, unknown>;
}

async function listAudit(t: TestApp, admin: TestUser, query: Record<string, unknown>) {
  const res = await request(t.app).get('/v1/audit-events').query(query).set(bearer(admin.accessToken));
  expect(res.status).toBe(200);
  expectSchema('AuditEventPage', res.body);
  return res.body as { data: AuditEventBody[]; next_cursor: string | null };
}

async function createItem(t: TestApp, token: string): Promise<string> {
  const res = await request(t.app).post('/v1/items').set(bearer(token)).send({ name: 'audited' }).expect(201);
  return (res.body as { id: string }).id;
}

describe('audit: security events', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await createUser(t, { role: 'admin' });
  });
  afterAll(() => t.close());

  it('when someone signs in as an account that does not exist, then an anonymous auth.sign_in_failed row without a user id records the username tried', async () => {
    const email = uniqueEmail('nobody');
    const res = await passwordGrant(t.app, email, 'a-wrong-password-123');
    expectProblem(res, 400, 'oauth-error');
    const { data } = await listAudit(t, admin, { action: 'auth.sign_in_failed', resource_type: 'user' });
    const row = data.find((event) => event.details?.username === email);
    expect(row).toMatchObject({
      actor_type: 'anonymous',
      actor_id: null,
      resource_type: 'user',
      resource_id: null,
      request_id: res.headers['x-request-id'],
      details: { grant_type: 'password', username: email, reason: 'unknown_account' },
    });
  });

  it('when the password is wrong for an existing account, then the caller gets the same answer as for an unknown one, and the row names the account', async () => {
    const victim = await createUser(t);
    const wrong = await passwordGrant(t.app, victim.email, 'a-wrong-password-123');
    const unknown = await passwordGrant(t.app, uniqueEmail('nobody'), 'a-wrong-password-123');
    const strip = (body: Record<string, unknown>) => ({
      ...body,
      request_id: undefined,
      instance: undefined,
    });
    expect(strip(expectProblem(wrong, 400, 'oauth-error'))).toEqual(
      strip(expectProblem(unknown, 400, 'oauth-error')),
    );
    const rows = await t.database.db('audit_events').where({ request_id: wrong.headers['x-request-id'] });
    expect(rows).toEqual([
      expect.objectContaining({
        actor_type: 'anonymous',
        actor_id: null,
        action: 'auth.sign_in_failed',
        resource_type: 'user',
        resource_id: victim.id,
        details: { grant_type: 'password', username: victim.email, reason: 'wrong_password' },
      }),
    ]);
    // Exactly one row for the unknown account too: both refusals do the same work.
    expect(
      await t.database.db('audit_events').where({ request_id: unknown.headers['x-request-id'] }),
    ).toHaveLength(1);
  });

  it('when the username is as long as allowed and ends in an emoji, then the refusal is the usual one and the row keeps the emoji whole', async () => {
    const username = `${'a'.repeat(200)}@${'b'.repeat(52)}\u{1F600}`;
    expect([...username]).toHaveLength(254);

    const res = await passwordGrant(t.app, username, 'a-wrong-password-123');

    expectProblem(res, 400, 'oauth-error');
    const [row] = await t.database.db('audit_events').where({ request_id: res.headers['x-request-id'] });
    expect(row.details).toEqual({ grant_type: 'password', username, reason: 'unknown_account' });
  });

  it('when the username is not an email address, then the row leaves it out (it may be a password typed in the wrong field)', async () => {
    const res = await passwordGrant(t.app, 'correct-horse-battery-staple', 'x'.repeat(12));
    expectProblem(res, 400, 'oauth-error');
    const [row] = await t.database.db('audit_events').where({ request_id: res.headers['x-request-id'] });
    expect(row.details).toEqual({ grant_type: 'password', reason: 'unknown_account' });
    expect(JSON.stringify(row)).not.toContain('correct-horse');
  });

  it('when a disabled account signs in with its password, then the row says account_disabled', async () => {
    const user = await createUser(t);
    await t.database.db('users').where({ id: user.id }).update({ status: 'disabled' });
    const res = await passwordGrant(t.app, user.email, PASSWORD);
    expectProblem(res, 400, 'oauth-error');
    const [row] = await t.database.db('audit_events').where({ request_id: res.headers['x-request-id'] });
    expect(row).toMatchObject({ resource_id: user.id, details: { reason: 'account_disabled' } });
  });

  it('when a user signs in, refreshes and revokes, then auth.signed_in, auth.token_refreshed and auth.session_revoked name the session of the tokens', async () => {
    const user = await createUser(t);
    const { sid } = jwt.decode(user.accessToken) as { sid: string };
    const refreshed = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken })
      .expect(200);
    await request(t.app)
      .post('/v1/auth/revoke')
      .type('form')
      .send({ token: refreshed.body.refresh_token })
      .expect(200);
    // Revoking again changes nothing, so it records nothing.
    await request(t.app).post('/v1/auth/revoke').type('form').send({ token: user.accessToken }).expect(200);
    const { data } = await listAudit(t, admin, { actor_id: user.id });
    expect(data.map((event) => [event.action, event.details])).toEqual([
      ['auth.session_revoked', { session_id: sid }],
      ['auth.token_refreshed', { grant_type: 'refresh_token', session_id: sid }],
      ['auth.signed_in', { grant_type: 'password', session_id: sid }],
      ['user.created', { via: 'registration' }],
    ]);
    for (const event of data) expect(event).toMatchObject({ actor_type: 'user', resource_id: user.id });
  });

  it('when a used refresh token is presented again, then an anonymous auth.refresh_token_reused row records the session it ended', async () => {
    const user = await createUser(t);
    const { sid } = jwt.decode(user.accessToken) as { sid: string };
    const refresh = () =>
      request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    await refresh().expect(200);
    const reused = await refresh();
    expectProblem(reused, 400, 'oauth-error');
    const rows = await t.database.db('audit_events').where({ request_id: reused.headers['x-request-id'] });
    expect(rows).toEqual([
      expect.objectContaining({
        actor_type: 'anonymous',
        actor_id: null,
        action: 'auth.refresh_token_reused',
        resource_type: 'user',
        resource_id: user.id,
        details: { grant_type: 'refresh_token', session_id: sid },
      }),
    ]);
    expect((await t.database.db('auth_sessions').where({ id: sid }).first()).revoked_at).not.toBeNull();
  });

  it('when a client gets a token, and when its secret is wrong or it does not exist, then auth.signed_in or auth.sign_in_failed with the client id', async () => {
    const client = await createPartnerClient(t, admin);
    const wrong = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: 'cs_wrong' });
    expectProblem(wrong, 401, 'unauthorized');
    const ghost = randomUUID();
    await request(t.app)
      .post('/v1/auth/token')
      .auth(ghost, 'cs_wrong')
      .type('form')
      .send({ grant_type: 'client_credentials' })
      .expect(401);
    const { data: signedIn } = await listAudit(t, admin, {
      action: 'auth.signed_in',
      actor_id: client.clientId,
    });
    expect(signedIn).toEqual([
      expect.objectContaining({
        actor_type: 'client',
        resource_type: 'client',
        resource_id: client.clientId,
        details: { grant_type: 'client_credentials', session_id: expect.any(String) },
      }),
    ]);
    const { data: failed } = await listAudit(t, admin, {
      action: 'auth.sign_in_failed',
      resource_type: 'client',
    });
    expect(failed.map((event) => [event.resource_id, event.details])).toEqual(
      expect.arrayContaining([
        [
          client.clientId,
          { grant_type: 'client_credentials', client_id: client.clientId, reason: 'wrong_secret' },
        ],
        [null, { grant_type: 'client_credentials', client_id: ghost, reason: 'unknown_client' }],
      ]),
    );
  });

  it('when passwords are tried, then no password appears in any audit row or log line', async () => {
    const user = await createUser(t);
    const secretAttempt = `Not-The-Password-${randomUUID()}`;
    await passwordGrant(t.app, user.email, secretAttempt).expect(400);
    await passwordGrant(t.app, uniqueEmail(), secretAttempt).expect(400);
    const everything = JSON.stringify(await t.database.db('audit_events'));
    expect(everything).not.toContain(secretAttempt);
    expect(everything).not.toContain(PASSWORD);
    const logs = JSON.stringify(t.logs);
    expect(logs).not.toContain(secretAttempt);
    expect(logs).not.toContain(PASSWORD);
  });

  it('when a user or a partner client asks for the audit trail, then 403: failed sign-ins are for administrators only', async () => {
    const user = await createUser(t);
    expectProblem(
      await request(t.app)
        .get('/v1/audit-events')
        .query({ action: 'auth.sign_in_failed' })
        .set(bearer(user.accessToken)),
      403,
      'forbidden',
    );
    const client = await createPartnerClient(t, admin);
    expectProblem(
      await request(t.app).get('/v1/audit-events').set(bearer(client.accessToken)),
      403,
      'forbidden',
    );
    // No client can even be granted the scope.
    expectProblem(
      await request(t.app)
        .post('/v1/clients')
        .set(bearer(admin.accessToken))
        .send({ name: 'Nosy', scopes: ['audit:read'] }),
      400,
      'validation-error',
    );
  });
});

describe('audit: security events commit with what they record', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.database.db.raw(
      "CREATE FUNCTION fail_sign_in_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.action = 'auth.signed_in' THEN RAISE EXCEPTION 'injected audit failure'; END IF; RETURN NEW; END $$",
    );
    await t.database.db.raw(
      'CREATE TRIGGER fail_sign_in_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_sign_in_audit()',
    );
  });
  afterAll(() => t.close());

  it('when the auth.signed_in row cannot be written, then 500 and no session or refresh token was created', async () => {
    const email = uniqueEmail();
    const registered = await request(t.app)
      .post('/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'A' })
      .expect(201);
    expectProblem(await passwordGrant(t.app, email, PASSWORD), 500, 'internal-error');
    expect(await t.database.db('auth_sessions').where({ user_id: registered.body.id })).toEqual([]);
    expect(await t.database.db('refresh_tokens')).toEqual([]);
  });
});

describe('audit: filters', () => {
  let t: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let aliceItem: string;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await createUser(t, { role: 'admin' });
    alice = await createUser(t);
    bob = await createUser(t);
    aliceItem = await createItem(t, alice.accessToken);
    await createItem(t, alice.accessToken);
    await createItem(t, bob.accessToken);
  });
  afterAll(() => t.close());

  it('when filtered by one action, then only that action; by several, any of them', async () => {
    const created = await listAudit(t, admin, { action: 'item.created' });
    expect(created.data).toHaveLength(3);
    const several = await listAudit(t, admin, { action: ['item.created', 'user.created'] });
    expect(new Set(several.data.map((event) => event.action))).toEqual(
      new Set(['item.created', 'user.created']),
    );
    expect(several.data).toHaveLength(6);
  });

  it('when filtered by actor, then only what that actor did', async () => {
    const { data } = await listAudit(t, admin, { actor_id: alice.id, action: 'item.created' });
    expect(data).toHaveLength(2);
    expect(data.every((event) => event.actor_id === alice.id)).toBe(true);
    const anonymous = await listAudit(t, admin, { actor_type: 'anonymous' });
    expect(anonymous.data).toEqual([]);
  });

  it('when filtered by resource type and id, then only events about that resource', async () => {
    const { data } = await listAudit(t, admin, { resource_type: 'item', resource_id: aliceItem });
    expect(data.map((event) => [event.action, event.resource_id])).toEqual([['item.created', aliceItem]]);
    const users = await listAudit(t, admin, { resource_type: 'user', action: 'user.created' });
    expect(users.data.map((event) => event.resource_id).sort()).toEqual([admin.id, alice.id, bob.id].sort());
  });

  it('when filtered by a time range, then occurred_after is inclusive and occurred_before exclusive', async () => {
    const all = await listAudit(t, admin, { action: 'item.created' });
    const middle = all.data[1]!;
    const after = await listAudit(t, admin, { action: 'item.created', occurred_after: middle.occurred_at });
    expect(after.data.map((event) => event.id)).toEqual(
      all.data.filter((event) => event.occurred_at >= middle.occurred_at).map((event) => event.id),
    );
    const before = await listAudit(t, admin, { action: 'item.created', occurred_before: middle.occurred_at });
    expect(before.data.map((event) => event.id)).toEqual(
      all.data.filter((event) => event.occurred_at < middle.occurred_at).map((event) => event.id),
    );
    expect((await listAudit(t, admin, { occurred_after: '2999-01-01T00:00:00Z' })).data).toEqual([]);
  });

  it('when a filtered list is paged, then every matching event comes once, and the cursor is refused with other filters', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: AuditEventBody[]; next_cursor: string | null } = await listAudit(t, admin, {
        action: ['item.created', 'user.created'],
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.data.map((event) => event.id));
      cursor = page.next_cursor;
      if (cursor) {
        expectProblem(
          await request(t.app)
            .get('/v1/audit-events')
            .query({ action: 'item.created', limit: 2, cursor })
            .set(bearer(admin.accessToken)),
          400,
          'validation-error',
        );
      }
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
  });

  it('when the same actions come in another order, then the cursor still works', async () => {
    const first = await listAudit(t, admin, { action: ['user.created', 'item.created'], limit: 1 });
    const next = await listAudit(t, admin, {
      action: ['item.created', 'user.created'],
      limit: 1,
      cursor: first.next_cursor,
    });
    expect(next.data[0]!.id).not.toBe(first.data[0]!.id);
  });

  it.each([
    ['an unknown action', { action: 'item.exploded' }, '/action/0'],
    ['a malformed actor id', { actor_id: 'alice' }, '/actor_id'],
    ['an unknown resource type', { resource_type: 'planet' }, '/resource_type'],
    ['a malformed instant', { occurred_after: 'yesterday' }, '/occurred_after'],
  ])('when given %s, then 400 pointing at it', async (_label, query, pointer) => {
    const res = await request(t.app).get('/v1/audit-events').query(query).set(bearer(admin.accessToken));
    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((error) => error.pointer)).toContain(pointer);
  });
});
