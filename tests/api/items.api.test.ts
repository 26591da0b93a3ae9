import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { hashIdempotencyKey, keyRequestHash } from '../../src/repositories/idempotency-sealing';
import { expectProblem, expectSchema } from '../support/contract';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function createItem(t: TestApp, token: string, body: Record<string, unknown> = {}) {
  const res = await request(t.app)
    .post('/v1/items')
    .set(bearer(token))
    .send({ name: `item-${randomUUID()}`, ...body })
    .expect(201);
  return res.body as { id: string; version: number; name: string; created_at: string };
}

describe('items: create and read', () => {
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  it('when an item is created, then 201 with Location, ETag, the stored row and an audit event', async () => {
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(owner.accessToken))
      .set('X-Request-Id', 'create-item-1')
      .send({ name: 'Blue widget', status: 'active', tags: ['a', 'b'], metadata: { sku: 'BW-1' } })
      .expect(201);
    expectSchema('Item', res.body);
    expect(res.body).toMatchObject({
      name: 'Blue widget',
      description: null,
      owner: { type: 'user', id: owner.id },
      version: 1,
    });
    expect(res.headers.location).toBe(`/v1/items/${res.body.id}`);
    expect(res.headers.etag).toBe('"1"');
    const row = await t.database.db('items').where({ id: res.body.id }).first();
    expect(row).toMatchObject({
      owner_user_id: owner.id,
      tags: ['a', 'b'],
      metadata: { sku: 'BW-1' },
      status: 'active',
    });
    const audit = await t.database.db('audit_events').where({ resource_id: res.body.id });
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'item.created',
        actor_id: owner.id,
        actor_type: 'user',
        request_id: 'create-item-1',
      }),
    ]);
  });

  it('when an item is read with its current ETag in If-None-Match, then 304 without a body', async () => {
    const item = await createItem(t, owner.accessToken);
    const res = await request(t.app).get(`/v1/items/${item.id}`).set(bearer(owner.accessToken)).expect(200);
    expect(res.headers.etag).toBe('"1"');
    const notModified = await request(t.app)
      .get(`/v1/items/${item.id}`)
      .set(bearer(owner.accessToken))
      .set('If-None-Match', 'W/"1"')
      .expect(304);
    expect(notModified.text).toBe('');
    await request(t.app)
      .get(`/v1/items/${item.id}`)
      .set(bearer(owner.accessToken))
      .set('If-None-Match', '"7"')
      .expect(200);
  });

  it('when a field is unknown or too long, then 400 naming it and nothing is stored', async () => {
    const before = await t.database.db('items').count({ n: '*' });
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(owner.accessToken))
      .send({ name: 'x', owner_id: owner.id, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) });
    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer).sort()).toEqual([
      '/owner_id',
      '/tags',
    ]);
    expect(await t.database.db('items').count({ n: '*' })).toEqual(before);
  });
});

describe('items: conditional updates and deletes', () => {
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  const patch = (id: string, body: unknown, ifMatch?: string) => {
    const req = request(t.app)
      .patch(`/v1/items/${id}`)
      .set(bearer(owner.accessToken))
      .set('Content-Type', 'application/merge-patch+json');
    if (ifMatch) void req.set('If-Match', ifMatch);
    return req.send(JSON.stringify(body));
  };

  it('when a merge patch comes with the current ETag, then fields merge, version and ETag advance', async () => {
    const item = await createItem(t, owner.accessToken, {
      description: 'd',
      metadata: { keep: '1', drop: '2' },
    });
    const res = await patch(
      item.id,
      { description: null, metadata: { drop: null, add: '3' }, status: 'archived' },
      '"1"',
    ).expect(200);
    expect(res.body).toMatchObject({
      description: null,
      metadata: { keep: '1', add: '3' },
      status: 'archived',
      version: 2,
    });
    expect(res.headers.etag).toBe('"2"');
    const row = await t.database.db('items').where({ id: item.id }).first();
    expect(row).toMatchObject({ version: 2, metadata: { keep: '1', add: '3' } });
  });

  it('when the merge patch is sent as application/json, then it is read as the same merge patch', async () => {
    const item = await createItem(t, owner.accessToken, { metadata: { keep: '1', drop: '2' } });
    const res = await request(t.app)
      .patch(`/v1/items/${item.id}`)
      .set(bearer(owner.accessToken))
      .set('If-Match', '"1"')
      .send({ metadata: { drop: null } })
      .expect(200);
    expect(res.body).toMatchObject({ metadata: { keep: '1' }, version: 2 });
    const row = await t.database.db('items').where({ id: item.id }).first();
    expect(row).toMatchObject({ version: 2, metadata: { keep: '1' } });
  });

  it('when If-Match is missing, then 428 and nothing changes', async () => {
    const item = await createItem(t, owner.accessToken);
    const problem = expectProblem(await patch(item.id, { name: 'changed' }), 428, 'precondition-required');
    // The spec marks If-Match required, so the validator meets its absence first: still a 428, not a 400.
    expect(problem.detail).toBe('Send If-Match with the ETag you last read.');
    expect(problem.errors).toBeUndefined();
    // With another fault beside it, the missing header is one more field error of the 400.
    const both = expectProblem(await patch(item.id, { name: '' }), 400, 'validation-error');
    expect(both.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ location: 'header', pointer: '/if-match' })]),
    );
    expect((await t.database.db('items').where({ id: item.id }).first()).name).toBe(item.name);
  });

  it('when If-Match is stale or weak, then 412 and nothing changes', async () => {
    const item = await createItem(t, owner.accessToken);
    await patch(item.id, { name: 'first' }, '"1"').expect(200);
    expectProblem(await patch(item.id, { name: 'lost update' }, '"1"'), 412, 'precondition-failed');
    expectProblem(await patch(item.id, { name: 'weak' }, 'W/"2"'), 412, 'precondition-failed');
    expect((await t.database.db('items').where({ id: item.id }).first()).name).toBe('first');
  });

  it('when the patch is sent as neither merge patch nor JSON, then 415 and nothing changes', async () => {
    const item = await createItem(t, owner.accessToken);
    const res = await request(t.app)
      .patch(`/v1/items/${item.id}`)
      .set(bearer(owner.accessToken))
      .set('If-Match', '"1"')
      .set('Content-Type', 'text/plain')
      .send('{"name":"x"}');
    expectProblem(res, 415, 'unsupported-media-type');
    expect((await t.database.db('items').where({ id: item.id }).first()).version).toBe(1);
  });

  it('when an item is deleted with and without a current ETag, then 428, 412, then 204 and gone', async () => {
    const item = await createItem(t, owner.accessToken);
    expectProblem(
      await request(t.app).delete(`/v1/items/${item.id}`).set(bearer(owner.accessToken)),
      428,
      'precondition-required',
    );
    expectProblem(
      await request(t.app)
        .delete(`/v1/items/${item.id}`)
        .set(bearer(owner.accessToken))
        .set('If-Match', '"9"'),
      412,
      'precondition-failed',
    );
    await request(t.app)
      .delete(`/v1/items/${item.id}`)
      .set(bearer(owner.accessToken))
      .set('If-Match', '"1"')
      .expect(204);
    expect(await t.database.db('items').where({ id: item.id })).toEqual([]);
    const audit = await t.database.db('audit_events').where({ resource_id: item.id }).orderBy('occurred_at');
    expect(audit.map((event: { action: string }) => event.action)).toEqual(['item.created', 'item.deleted']);
  });
});

describe('items: listing with keyset pagination', () => {
  let t: TestApp;
  let owner: TestUser;
  const names = ['delta', 'alpha', 'charlie', 'echo', 'bravo'];
  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t);
    for (const [index, name] of names.entries()) {
      await createItem(t, owner.accessToken, {
        name,
        status: index % 2 ? 'active' : 'draft',
        tags: index < 2 ? ['first-two'] : [],
      });
    }
  });
  afterAll(() => t.close());

  const list = (query: Record<string, string | number>) =>
    request(t.app).get('/v1/items').query(query).set(bearer(owner.accessToken)).expect(200);

  async function walk(query: Record<string, string | number>): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await list({ ...query, limit: 2, ...(cursor ? { cursor } : {}) });
      expectSchema('ItemPage', res.body);
      seen.push(...(res.body.data as Array<{ name: string }>).map((item) => item.name));
      cursor = res.body.next_cursor as string | null;
    } while (cursor);
    return seen;
  }

  it('when pages are walked in each sort order, then every item appears once in that order', async () => {
    expect(await walk({})).toEqual([...names].reverse());
    expect(await walk({ sort: 'created_at' })).toEqual(names);
    expect(await walk({ sort: 'name' })).toEqual([...names].sort());
    expect(await walk({ sort: '-name' })).toEqual([...names].sort().reverse());
  });

  it('when pages are followed by their Link rel="next", then every item appears once and the last page has no link', async () => {
    const seen: string[] = [];
    let next: string | undefined = '/v1/items?sort=name&limit=2';
    let pages = 0;
    while (next) {
      const res: request.Response = await request(t.app).get(next).set(bearer(owner.accessToken)).expect(200);
      seen.push(...(res.body.data as Array<{ name: string }>).map((item) => item.name));
      const link: string | undefined = res.headers.link;
      expect(link === undefined).toBe(res.body.next_cursor === null);
      next = link?.match(/^<([^>]+)>; rel="next"$/)?.[1];
      pages++;
    }
    expect(seen).toEqual([...names].sort());
    expect(pages).toBe(3);
  });

  const namesOf = async (query: Record<string, string | number>) =>
    ((await list(query)).body as { data: Array<{ name: string }> }).data.map((item) => item.name);

  it('when filters are given, then only matching items come back', async () => {
    expect(await namesOf({ status: 'active' })).toEqual(['echo', 'alpha']);
    expect(await namesOf({ tag: 'first-two', sort: 'name' })).toEqual(['alpha', 'delta']);
    expect(await namesOf({ q: 'HAR' })).toEqual(['charlie']);
    expect((await list({ q: '%' })).body.data).toEqual([]);
    expect((await list({ created_after: '2999-01-01T00:00:00Z' })).body.data).toEqual([]);
  });

  it('when a cursor is reused with another sort, or forged, then 400 pointing at /cursor', async () => {
    const first = await list({ limit: 2 });
    const reused = await request(t.app)
      .get('/v1/items')
      .query({ sort: 'name', cursor: first.body.next_cursor })
      .set(bearer(owner.accessToken));
    expect(expectProblem(reused, 400, 'validation-error').errors).toEqual([
      expect.objectContaining({ pointer: '/cursor' }),
    ]);
    const forged = Buffer.from(JSON.stringify(['-created_at', 'not-a-time', 'x'])).toString('base64url');
    expectProblem(
      await request(t.app).get('/v1/items').query({ cursor: forged }).set(bearer(owner.accessToken)),
      400,
      'validation-error',
    );
  });

  it('when a user passes another owner_id, then 403; an admin may', async () => {
    const other = await createUser(t);
    expectProblem(
      await request(t.app).get('/v1/items').query({ owner_id: owner.id }).set(bearer(other.accessToken)),
      403,
      'forbidden',
    );
    const admin = await createUser(t, { role: 'admin' });
    const res = await request(t.app)
      .get('/v1/items')
      .query({ owner_id: owner.id, limit: 100 })
      .set(bearer(admin.accessToken))
      .expect(200);
    expect(res.body.data).toHaveLength(names.length);
  });
});

describe('items: idempotent creation', () => {
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  const create = (key: string, body: Record<string, unknown>, token = owner.accessToken) =>
    request(t.app).post('/v1/items').set(bearer(token)).set('Idempotency-Key', key).send(body);

  it('when a POST is retried with the same key and body, then the first response is replayed and one item exists', async () => {
    const key = randomUUID();
    const first = await create(key, { name: 'once', tags: ['x'] }).expect(201);
    const retry = await create(key, { tags: ['x'], name: 'once' }).expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(await t.database.db('items').where({ name: 'once', owner_user_id: owner.id })).toHaveLength(1);
  });

  it('when the key is reused with a different body, then 422 and nothing new is stored', async () => {
    const key = randomUUID();
    await create(key, { name: 'original' }).expect(201);
    expectProblem(await create(key, { name: 'different' }), 422, 'unprocessable-content');
    expect(await t.database.db('items').where({ name: 'different' })).toEqual([]);
  });

  /**
   * A claim committed apart from its write, as the previous release left one while its request ran (or
   * after its process died); during a rolling deploy the new release must still respect it.
   */
  const insertUnfinishedRecord = (key: string, body: Record<string, unknown>, startedAt = new Date()) =>
    t.database.db('idempotency_keys').insert({
      principal_id: owner.id,
      key_hash: hashIdempotencyKey(key),
      request_hash: keyRequestHash(
        owner.id,
        key,
        createHash('sha256')
          .update(`POST /v1/items\n${JSON.stringify(body)}`)
          .digest('hex'),
      ),
      created_at: startedAt,
      expires_at: new Date(Date.now() + 60_000),
    });

  it("when the previous release's request with a key is still running, then a retry gets 409", async () => {
    const key = randomUUID();
    const body = { name: 'slow' };
    await insertUnfinishedRecord(key, body);
    expectProblem(await create(key, body), 409, 'conflict');
  });

  it('when the previous release left a key unfinished in a process that died, then a retry after the lease takes it over', async () => {
    const key = randomUUID();
    const body = { name: 'orphaned' };
    await insertUnfinishedRecord(key, body, new Date(Date.now() - 10 * 60_000));
    const res = await create(key, body).expect(201);
    expect(
      await t.database
        .db('idempotency_keys')
        .where({ key_hash: hashIdempotencyKey(key) })
        .first(),
    ).toMatchObject({
      response_status: 201,
      completed_at: expect.any(Date),
    });
    expect(res.body.name).toBe('orphaned');
  });

  it('when the same keyed request is sent several times at once, then one item is written and every answer is it', async () => {
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 4 }, () => create(key, { name: 'raced' })));
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201]);
    expect(answers.filter((answer) => answer.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(await t.database.db('items').where({ name: 'raced', owner_user_id: owner.id })).toHaveLength(1);
  });

  it('when two principals use the same key, then each gets its own item', async () => {
    const key = randomUUID();
    const other = await createUser(t);
    const mine = await create(key, { name: 'shared-key' }).expect(201);
    const theirs = await create(key, { name: 'shared-key' }, other.accessToken).expect(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('when a request with a key fails validation, then the key stays free for a corrected retry', async () => {
    const key = randomUUID();
    await create(key, { name: '' }).expect(400);
    await create(key, { name: 'corrected' }).expect(201);
  });
});

describe('items: a write and its side records commit together', () => {
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t);
    // The injected failure: the audit insert for item creations fails after the item insert succeeded.
    await t.database.db.raw(
      "CREATE FUNCTION fail_item_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.action = 'item.created' THEN RAISE EXCEPTION 'injected audit failure'; END IF; RETURN NEW; END $$",
    );
    await t.database.db.raw(
      'CREATE TRIGGER fail_item_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_item_audit()',
    );
  });
  afterAll(() => t.close());

  it('when the audit insert fails after the item insert, then 500 and no item, audit row or idempotency record remains', async () => {
    const key = randomUUID();
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(owner.accessToken))
      .set('Idempotency-Key', key)
      .send({ name: 'half-written?' });
    expectProblem(res, 500, 'internal-error');
    expect(res.text).not.toContain('injected');
    expect(await t.database.db('items').where({ name: 'half-written?' })).toEqual([]);
    expect(await t.database.db('audit_events').where({ action: 'item.created' })).toEqual([]);
    // The response is sent before the release query finishes; wait for the key to be freed.
    let remaining = 1;
    for (let attempt = 0; attempt < 50 && remaining > 0; attempt += 1) {
      remaining = (await t.database.db('idempotency_keys').where({ key_hash: hashIdempotencyKey(key) }))
        .length;
      if (remaining > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(remaining).toBe(0);
  });
});

describe('items: ownership (BOLA) across users and a partner client', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when anyone but the owner or an admin touches an item, then 404 and the item is unchanged', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);
    const admin = await createUser(t, { role: 'admin' });
    const partner = await createPartnerClient(t, admin);
    const aliceItem = await createItem(t, alice.accessToken, { name: 'alice-only' });
    const partnerItem = await createItem(t, partner.accessToken, { name: 'partner-only' });

    for (const [token, item] of [
      [bob.accessToken, aliceItem],
      [partner.accessToken, aliceItem],
      [alice.accessToken, partnerItem],
    ] as const) {
      expectProblem(await request(t.app).get(`/v1/items/${item.id}`).set(bearer(token)), 404, 'not-found');
      expectProblem(
        await request(t.app)
          .patch(`/v1/items/${item.id}`)
          .set(bearer(token))
          .set('If-Match', '"1"')
          .set('Content-Type', 'application/merge-patch+json')
          .send(JSON.stringify({ name: 'stolen' })),
        404,
        'not-found',
      );
      expectProblem(
        await request(t.app).delete(`/v1/items/${item.id}`).set(bearer(token)).set('If-Match', '"1"'),
        404,
        'not-found',
      );
    }
    const unknown = await request(t.app).get(`/v1/items/${randomUUID()}`).set(bearer(bob.accessToken));
    expect(expectProblem(unknown, 404, 'not-found').detail).toBe('No item with this id.');
    expect(
      (await request(t.app).get('/v1/items').set(bearer(bob.accessToken)).expect(200)).body.data,
    ).toEqual([]);
    expect(
      (await t.database.db('items').whereIn('id', [aliceItem.id, partnerItem.id]).orderBy('name')).map(
        (r: { name: string }) => r.name,
      ),
    ).toEqual(['alice-only', 'partner-only']);
    await request(t.app).get(`/v1/items/${aliceItem.id}`).set(bearer(admin.accessToken)).expect(200);
    expect(
      (await request(t.app).get(`/v1/items/${partnerItem.id}`).set(bearer(partner.accessToken)).expect(200))
        .body.owner.type,
    ).toBe('client');
  });

  it('when a token lacks items:write, then creating is 403 insufficient_scope', async () => {
    const reader = await createUser(t, { scope: 'items:read' });
    const res = await request(t.app).post('/v1/items').set(bearer(reader.accessToken)).send({ name: 'x' });
    expect(expectProblem(res, 403, 'forbidden')).toMatchObject({ error: 'insufficient_scope' });
  });
});

describe('audit events and deprecation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when an admin lists audit events, then writes appear newest first with cursor pagination; users are refused', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    await createItem(t, user.accessToken);
    const first = await request(t.app)
      .get('/v1/audit-events')
      .query({ limit: 1 })
      .set(bearer(admin.accessToken))
      .expect(200);
    expectSchema('AuditEventPage', first.body);
    expect(first.body.data[0]).toMatchObject({ action: 'item.created', actor_id: user.id });
    const second = await request(t.app)
      .get('/v1/audit-events')
      .query({ limit: 1, cursor: first.body.next_cursor })
      .set(bearer(admin.accessToken))
      .expect(200);
    expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
    expectProblem(
      await request(t.app).get('/v1/audit-events').set(bearer(user.accessToken)),
      403,
      'forbidden',
    );
  });

  it('when a deprecated operation is called, then it answers with Deprecation and Sunset from the spec', async () => {
    const user = await createUser(t);
    const res = await request(t.app).get('/v1/me').set(bearer(user.accessToken)).expect(200);
    expect(res.body.id).toBe(user.id);
    expect(res.headers.deprecation).toBe(`@${Date.parse('2026-11-01T00:00:00Z') / 1000}`);
    expect(res.headers.sunset).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
    expect(
      (await request(t.app).get('/v1/users/me').set(bearer(user.accessToken))).headers.deprecation,
    ).toBeUndefined();
  });
});
