import request from 'supertest';
import { hashOpaqueToken } from '../../src/utils/opaque-tokens';
import { expectProblem, expectSchema } from '../support/contract';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { countAuditEvents, createTestApp, type TestApp } from '../support/test-app';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const apiKey = (secret: string) => ({ 'X-API-Key': secret });

interface CreatedKey {
  id: string;
  secret: string;
  prefix: string;
  scopes: string[];
  version: number;
}

describe('API keys', () => {
  let t: TestApp;
  let alice: TestUser;
  let admin: TestUser;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' } });
    [alice, admin] = await Promise.all([createUser(t), createUser(t, { role: 'admin' })]);
  });
  afterAll(() => t.close());

  const createKey = (token: string, body: Record<string, unknown> = {}) =>
    request(t.app)
      .post('/v1/api-keys')
      .set(bearer(token))
      .send({ name: 'sync job', scopes: ['items:read'], ...body });
  const keyRow = (id: string) => t.database.db('api_keys').where({ id }).first();

  it('when a key is created, then its secret is shown once, prefixed, and only its hash is stored', async () => {
    const res = await createKey(alice.accessToken).expect(201);
    const key = res.body as CreatedKey;
    expectSchema('ApiKeyWithSecret', key);
    expect(res.headers.location).toBe(`/v1/api-keys/${key.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(key.secret).toMatch(/^pak_live_[A-Za-z0-9_-]{43}$/);
    expect(key.prefix).toBe(key.secret.slice(0, 13));
    const row = await keyRow(key.id);
    expect(row).toMatchObject({
      owner_user_id: alice.id,
      owner_client_id: null,
      secret_hash: hashOpaqueToken(key.secret),
      scopes: ['items:read'],
      revoked_at: null,
      last_used_at: null,
    });
    expect(JSON.stringify(row)).not.toContain(key.secret.slice(9));
    expect(await countAuditEvents(t, key.id, 'api_key.created')).toBe(1);

    const read = await request(t.app)
      .get(`/v1/api-keys/${key.id}`)
      .set(bearer(alice.accessToken))
      .expect(200);
    expect(read.body.secret).toBeUndefined();
    expect(read.body).toMatchObject({ id: key.id, prefix: key.prefix, scopes: ['items:read'] });
    const list = await request(t.app).get('/v1/api-keys').set(bearer(alice.accessToken)).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(key.secret);
    expect((list.body as { data: Array<{ id: string }> }).data.map((entry) => entry.id)).toContain(key.id);
  });

  it('when a key is used within its scopes, then it acts as its owner and records last_used_at', async () => {
    const key = (await createKey(alice.accessToken, { scopes: ['items:read', 'profile'] }).expect(201))
      .body as CreatedKey;
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    const me = await request(t.app).get('/v1/users/me').set(apiKey(key.secret)).expect(200);
    expect(me.body.id).toBe(alice.id);
    const used = (await keyRow(key.id)) as { last_used_at: Date | null };
    expect(used.last_used_at).toBeInstanceOf(Date);
    // Within the minute the value stays: one write per key and minute, not one per request.
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    expect(((await keyRow(key.id)) as { last_used_at: Date }).last_used_at).toEqual(used.last_used_at);
  });

  it('when a key is used beyond its scopes, then 403 and nothing changes', async () => {
    const key = (await createKey(alice.accessToken).expect(201)).body as CreatedKey;
    const res = await request(t.app).post('/v1/items').set(apiKey(key.secret)).send({ name: 'not-allowed' });
    expectProblem(res, 403, 'forbidden');
    expect(await t.database.db('items').where({ name: 'not-allowed' })).toEqual([]);
  });

  it('when a key is sent to an operation that does not accept keys, then 401', async () => {
    const key = (await createKey(alice.accessToken, { scopes: ['items:read'] }).expect(201))
      .body as CreatedKey;
    expectProblem(await request(t.app).get('/v1/api-keys').set(apiKey(key.secret)), 401, 'unauthorized');
  });

  it('when a key asks for a scope its creator lacks, then 403 and no key is stored', async () => {
    const narrow = await createUser(t, { scope: 'apikeys:write items:read' });
    const res = await createKey(narrow.accessToken, { scopes: ['items:read', 'items:write'] });
    const problem = expectProblem(res, 403, 'forbidden');
    expect(problem.detail).toContain('items:write');
    expect(await t.database.db('api_keys').where({ owner_user_id: narrow.id })).toEqual([]);
  });

  it('when the expiry is in the past, then 400 and no key is stored', async () => {
    const user = await createUser(t);
    expectProblem(
      await createKey(user.accessToken, { expires_at: '2020-01-01T00:00:00Z' }),
      400,
      'validation-error',
    );
    expect(await t.database.db('api_keys').where({ owner_user_id: user.id })).toEqual([]);
  });

  it('when a key has expired, then it is refused with 401', async () => {
    const key = (
      await createKey(alice.accessToken, { expires_at: new Date(Date.now() + 60_000).toISOString() }).expect(
        201,
      )
    ).body as CreatedKey;
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    await t.database
      .db('api_keys')
      .where({ id: key.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const problem = expectProblem(
      await request(t.app).get('/v1/items').set(apiKey(key.secret)),
      401,
      'unauthorized',
    );
    expect(problem.detail).toContain('expired');
  });

  it('when a key is rotated, then both secrets work during the overlap and only the new one after it', async () => {
    const key = (await createKey(alice.accessToken).expect(201)).body as CreatedKey;
    const res = await request(t.app)
      .post(`/v1/api-keys/${key.id}/rotate`)
      .set(bearer(alice.accessToken))
      .set('If-Match', '"1"')
      .expect(200);
    const rotated = res.body as CreatedKey & { previous_secret_expires_at: string };
    expect(rotated.secret).not.toBe(key.secret);
    expect(rotated.version).toBe(2);
    const overlap = Date.parse(rotated.previous_secret_expires_at) - Date.now();
    expect(overlap).toBeGreaterThan(23 * 3600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000);
    expect(await keyRow(key.id)).toMatchObject({
      secret_hash: hashOpaqueToken(rotated.secret),
      previous_secret_hash: hashOpaqueToken(key.secret),
    });
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    await request(t.app).get('/v1/items').set(apiKey(rotated.secret)).expect(200);
    expect(await countAuditEvents(t, key.id, 'api_key.rotated')).toBe(1);

    // The overlap window ends.
    await t.database
      .db('api_keys')
      .where({ id: key.id })
      .update({ previous_secret_expires_at: new Date(Date.now() - 1000) });
    expectProblem(await request(t.app).get('/v1/items').set(apiKey(key.secret)), 401, 'unauthorized');
    await request(t.app).get('/v1/items').set(apiKey(rotated.secret)).expect(200);
  });

  it('when a key is revoked, then it is refused at once, stays listed as revoked, and the revocation is audited', async () => {
    const key = (await createKey(alice.accessToken).expect(201)).body as CreatedKey;
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    expectProblem(
      await request(t.app).delete(`/v1/api-keys/${key.id}`).set(bearer(alice.accessToken)),
      428,
      'precondition-required',
    );
    await request(t.app)
      .delete(`/v1/api-keys/${key.id}`)
      .set(bearer(alice.accessToken))
      .set('If-Match', '"1"')
      .expect(204);
    const problem = expectProblem(
      await request(t.app).get('/v1/items').set(apiKey(key.secret)),
      401,
      'unauthorized',
    );
    expect(problem.detail).toContain('revoked');
    expect(((await keyRow(key.id)) as { revoked_at: Date | null }).revoked_at).toBeInstanceOf(Date);
    expect(await countAuditEvents(t, key.id, 'api_key.revoked')).toBe(1);
    expectProblem(
      await request(t.app)
        .post(`/v1/api-keys/${key.id}/rotate`)
        .set(bearer(alice.accessToken))
        .set('If-Match', '"2"'),
      409,
      'conflict',
    );
  });

  it('when a key is renamed, then the name changes under If-Match and is audited', async () => {
    const key = (await createKey(alice.accessToken).expect(201)).body as CreatedKey;
    const res = await request(t.app)
      .patch(`/v1/api-keys/${key.id}`)
      .set(bearer(alice.accessToken))
      .set('If-Match', '"1"')
      .type('application/merge-patch+json')
      .send(JSON.stringify({ name: 'renamed' }))
      .expect(200);
    expect(res.body).toMatchObject({ name: 'renamed', version: 2 });
    expect(await keyRow(key.id)).toMatchObject({ name: 'renamed', version: 2 });
    expect(await countAuditEvents(t, key.id, 'api_key.updated')).toBe(1);
  });

  it('when another principal asks for a key, then it does not exist for them', async () => {
    const key = (await createKey(alice.accessToken).expect(201)).body as CreatedKey;
    const bob = await createUser(t);
    for (const token of [bob.accessToken, admin.accessToken]) {
      expectProblem(await request(t.app).get(`/v1/api-keys/${key.id}`).set(bearer(token)), 404, 'not-found');
      expectProblem(
        await request(t.app).delete(`/v1/api-keys/${key.id}`).set(bearer(token)).set('If-Match', '"1"'),
        404,
        'not-found',
      );
    }
    expect(await keyRow(key.id)).toMatchObject({ revoked_at: null, version: 1 });
  });

  it("when the owner is disabled, then the owner's keys are refused", async () => {
    const owner = await createUser(t);
    const key = (await createKey(owner.accessToken).expect(201)).body as CreatedKey;
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    await request(t.app)
      .patch(`/v1/users/${owner.id}`)
      .set(bearer(admin.accessToken))
      .set('If-Match', '"1"')
      .send({ status: 'disabled' })
      .expect(200);
    expectProblem(await request(t.app).get('/v1/items').set(apiKey(key.secret)), 401, 'unauthorized');
  });

  it('when a partner client creates a key, then the key acts as the client with at most its grant', async () => {
    const partner = await createPartnerClient(t, admin, ['items:read', 'items:write', 'apikeys:write']);
    const key = (await createKey(partner.accessToken, { scopes: ['items:read', 'items:write'] }).expect(201))
      .body as CreatedKey;
    expect(await keyRow(key.id)).toMatchObject({ owner_client_id: partner.clientId, owner_user_id: null });
    await request(t.app)
      .post('/v1/items')
      .set(apiKey(key.secret))
      .send({ name: 'by-partner-key' })
      .expect(201);
    const item = await t.database.db('items').where({ name: 'by-partner-key' }).first();
    expect(item).toMatchObject({ owner_client_id: partner.clientId });

    // The administrator narrows the client's grant: the key loses the scope at once.
    const client = await request(t.app).get(`/v1/clients/${partner.clientId}`).set(bearer(admin.accessToken));
    await t.database
      .db('oauth_clients')
      .where({ id: partner.clientId })
      .update({ scopes: ['items:read'] });
    expect(client.status).toBe(200);
    expectProblem(
      await request(t.app).post('/v1/items').set(apiKey(key.secret)).send({ name: 'after-narrowing' }),
      403,
      'forbidden',
    );
    await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
  });

  it('when an unknown or malformed key is sent, then 401', async () => {
    for (const secret of ['pak_live_' + 'A'.repeat(43), 'not-a-key'])
      expectProblem(await request(t.app).get('/v1/items').set(apiKey(secret)), 401, 'unauthorized');
  });
  it("when a key is created, rotated and revoked, then the owner's endpoints hear of it, never of the secret", async () => {
    const owner = await createUser(t);
    const endpoint = (
      await request(t.app)
        .post('/v1/webhook-endpoints')
        .set(bearer(owner.accessToken))
        .send({
          url: 'http://127.0.0.1:9/hooks',
          event_types: ['api_key.created', 'api_key.rotated', 'api_key.revoked'],
        })
        .expect(201)
    ).body as { id: string };
    await request(t.app)
      .post('/v1/webhook-endpoints')
      .set(bearer(admin.accessToken))
      .send({ url: 'http://127.0.0.1:9/admin', event_types: ['api_key.created', 'api_key.revoked'] })
      .expect(201);
    const key = (await createKey(owner.accessToken).expect(201)).body as CreatedKey;
    const rotated = (
      await request(t.app)
        .post(`/v1/api-keys/${key.id}/rotate`)
        .set(bearer(owner.accessToken))
        .set('If-Match', '"1"')
        .expect(200)
    ).body as CreatedKey;
    await request(t.app)
      .delete(`/v1/api-keys/${key.id}`)
      .set(bearer(owner.accessToken))
      .set('If-Match', '"2"')
      .expect(204);
    const events: Array<{ type: string; payload: { data: { id: string } } }> = await t.database
      .db('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .where('d.endpoint_id', endpoint.id)
      .orderBy('e.sequence')
      .select('e.type', 'e.payload');
    expect(events.map((event) => event.type)).toEqual([
      'api_key.created',
      'api_key.rotated',
      'api_key.revoked',
    ]);
    for (const event of events) expect(event.payload.data.id).toBe(key.id);
    const payloads = JSON.stringify(events);
    expect(payloads).not.toContain(key.secret);
    expect(payloads).not.toContain(rotated.secret);
    // Nobody else's endpoint hears of it, the other principals' in this file included.
    const elsewhere = await t.database
      .db('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .where('e.resource_id', key.id)
      .whereNot('d.endpoint_id', endpoint.id);
    expect(elsewhere).toEqual([]);
  });
  it("when a key is used, then it spends its owner's caller budget, shared with the owner's tokens", async () => {
    const owner = await createUser(t);
    const key = (await createKey(owner.accessToken).expect(201)).body as CreatedKey;
    const remaining = (res: request.Response) =>
      Number(/"caller"; r=(\d+)/.exec(res.headers.ratelimit as string)![1]);
    const byToken = await request(t.app)
      .get(`/v1/api-keys/${key.id}`)
      .set(bearer(owner.accessToken))
      .expect(200);
    const byKey = await request(t.app).get('/v1/items').set(apiKey(key.secret)).expect(200);
    const byTokenAgain = await request(t.app).get('/v1/users/me').set(bearer(owner.accessToken)).expect(200);
    // One budget, whichever credential spends it: a list page costs 5 points, a read 1.
    expect(remaining(byKey)).toBe(remaining(byToken) - 5);
    expect(remaining(byTokenAgain)).toBe(remaining(byKey) - 1);
  });
  it('when a rotation asks for no overlap, then the previous secret stops at once; beyond 24 hours is refused', async () => {
    const key = (await createKey(alice.accessToken).expect(201)).body as CreatedKey;
    expectProblem(
      await request(t.app)
        .post(`/v1/api-keys/${key.id}/rotate?overlap_seconds=86401`)
        .set(bearer(alice.accessToken))
        .set('If-Match', '"1"'),
      400,
      'validation-error',
    );
    expect(await keyRow(key.id)).toMatchObject({ version: 1, secret_hash: hashOpaqueToken(key.secret) });
    const rotated = (
      await request(t.app)
        .post(`/v1/api-keys/${key.id}/rotate?overlap_seconds=0`)
        .set(bearer(alice.accessToken))
        .set('If-Match', '"1"')
        .expect(200)
    ).body as CreatedKey;
    expectProblem(await request(t.app).get('/v1/items').set(apiKey(key.secret)), 401, 'unauthorized');
    await request(t.app).get('/v1/items').set(apiKey(rotated.secret)).expect(200);
  });
  it('when a create is retried with the same Idempotency-Key, then the first answer is replayed and one key exists', async () => {
    const owner = await createUser(t);
    const idempotencyKey = `create-key-${owner.id}`;
    const first = await createKey(owner.accessToken).set('Idempotency-Key', idempotencyKey).expect(201);
    const again = await createKey(owner.accessToken).set('Idempotency-Key', idempotencyKey).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await t.database.db('api_keys').where({ owner_user_id: owner.id })).toHaveLength(1);
    expect(await countAuditEvents(t, (first.body as CreatedKey).id, 'api_key.created')).toBe(1);
  });
});
