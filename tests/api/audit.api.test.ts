import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createUser, type TestUser } from '../support/identity';
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
