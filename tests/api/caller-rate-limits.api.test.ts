import request, { type Response } from 'supertest';
import { expectProblem } from '../support/contract';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

/** Every caller spends one budget per minute: reads 1 point, list pages 5, writes 10; a 304 is free. */
describe('the caller budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        TRUST_PROXY: 'true',
        RATE_LIMIT_CALLER_USER: '17',
        RATE_LIMIT_CALLER_CLIENT: '30',
      },
    });
  });
  afterAll(() => t.close());

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const remaining = (res: Response) => {
    expect(res.headers['ratelimit-policy']).toMatch(/"caller"; q=\d+; w=60/);
    const match = /"caller"; r=(\d+); t=(\d+)/.exec(res.headers.ratelimit as string);
    expect(match).not.toBeNull();
    return Number(match![1]);
  };
  const countItems = async (ownerId: string) =>
    Number((await t.database.db('items').where({ owner_id: ownerId }).count({ n: '*' }))[0]!.n);

  /** A user whose item was created straight in the database, so arranging it spends nothing. */
  async function userWithItem(): Promise<{ user: TestUser; itemId: string }> {
    const user = await createUser(t);
    const [item] = await t.database
      .db('items')
      .insert({ owner_user_id: user.id, name: 'Arranged' })
      .returning<Array<{ id: string }>>('id');
    return { user, itemId: item!.id };
  }

  it('when a user reads, lists and writes, then each spends its cost, and a write past the budget is 429 that writes nothing', async () => {
    const { user, itemId } = await userWithItem();

    const read = await request(t.app).get(`/v1/items/${itemId}`).set(bearer(user.accessToken));
    const list = await request(t.app).get('/v1/items?limit=5').set(bearer(user.accessToken));
    const write = await request(t.app)
      .post('/v1/items')
      .set(bearer(user.accessToken))
      .send({ name: 'Spent' });
    const refused = await request(t.app)
      .post('/v1/items')
      .set(bearer(user.accessToken))
      .send({ name: 'Refused' });

    expect([read.status, list.status, write.status]).toEqual([200, 200, 201]);
    expect([remaining(read), remaining(list), remaining(write)]).toEqual([16, 11, 1]);
    expectProblem(refused, 429, 'too-many-requests');
    expect(remaining(refused)).toBe(1);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(await countItems(user.id)).toBe(2);
    // What is left still buys a read.
    expect(remaining(await request(t.app).get(`/v1/items/${itemId}`).set(bearer(user.accessToken)))).toBe(0);
  });

  it('when a cached copy is revalidated (304), then it costs nothing', async () => {
    const { user, itemId } = await userWithItem();
    const first = await request(t.app).get(`/v1/items/${itemId}`).set(bearer(user.accessToken)).expect(200);

    for (let n = 0; n < 3; n += 1) {
      await request(t.app)
        .get(`/v1/items/${itemId}`)
        .set(bearer(user.accessToken))
        .set('If-None-Match', first.headers.etag as string)
        .expect(304);
    }
    const after = await request(t.app).get(`/v1/items/${itemId}`).set(bearer(user.accessToken));

    expect(remaining(first)).toBe(16);
    expect(remaining(after)).toBe(15);
  });

  it('when one user spends the budget, then another user and a partner client keep their own', async () => {
    const { user: spender, itemId } = await userWithItem();
    const other = await createUser(t);
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    await request(t.app).post('/v1/items').set(bearer(spender.accessToken)).send({ name: 'A' }).expect(201);
    await request(t.app).get('/v1/items?limit=5').set(bearer(spender.accessToken)).expect(200);
    await request(t.app).get(`/v1/items/${itemId}`).set(bearer(spender.accessToken)).expect(200);
    await request(t.app).get(`/v1/items/${itemId}`).set(bearer(spender.accessToken)).expect(200);
    await request(t.app).get(`/v1/items/${itemId}`).set(bearer(spender.accessToken)).expect(429);

    const otherUser = await request(t.app).get('/v1/items').set(bearer(other.accessToken));
    const partner = await request(t.app).get('/v1/items').set(bearer(client.accessToken));

    expect(remaining(otherUser)).toBe(12);
    expect(partner.headers['ratelimit-policy']).toMatch(/"caller"; q=30; w=60/);
    expect(remaining(partner)).toBe(25);
  });
});

describe('the anonymous caller budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { TRUST_PROXY: 'true', RATE_LIMIT_CALLER_ANONYMOUS: '2' } });
  });
  afterAll(() => t.close());

  it('when anonymous requests come from one address, then it has its own budget, another address has its own, and the health probes are never counted', async () => {
    const spec = (address: string) => request(t.app).get('/openapi.json').set('X-Forwarded-For', address);
    await spec('203.0.113.9').expect(200);
    await spec('203.0.113.9').expect(200);

    expectProblem(await spec('203.0.113.9'), 429, 'too-many-requests');
    await spec('198.51.100.9').expect(200);
    for (let n = 0; n < 3; n += 1) {
      const probe = await request(t.app).get('/health/live').set('X-Forwarded-For', '203.0.113.9');
      expect(probe.status).toBe(200);
      expect(probe.headers.ratelimit).toBeUndefined();
    }
  });
});
