import type { DatabaseHandle } from '../../src/infrastructure/database';
import {
  AuditRepository,
  type AuditListRow,
  type NewAuditEvent,
} from '../../src/repositories/audit.repository';
import { newId, refusal, walkPages } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';

describe('AuditRepository', () => {
  let database: DatabaseHandle;
  let audit: AuditRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    audit = new AuditRepository({ db: database.db });
  });
  afterAll(() => database.close());

  const event = (fields: Partial<NewAuditEvent> = {}): NewAuditEvent => ({
    actor_type: 'user',
    actor_id: newId(),
    action: 'item.created',
    resource_type: 'item',
    resource_id: newId(),
    request_id: `req-${newId()}`,
    ...fields,
  });
  const rowsOf = (requestId: string) => database.db('audit_events').where({ request_id: requestId });

  describe('writing', () => {
    it('when the transaction of the write rolls back, then its audit row is gone too', async () => {
      const rolledBack = event();
      await expect(
        database.db.transaction(async (trx) => {
          await audit.append(rolledBack, trx);
          throw new Error('the write failed');
        }),
      ).rejects.toThrow('the write failed');
      expect(await rowsOf(rolledBack.request_id)).toEqual([]);
    });

    it('when a refusal is recorded on its own, then it is committed at once, details and all', async () => {
      const refused = event({
        actor_type: 'anonymous',
        actor_id: null,
        action: 'auth.sign_in_failed',
        resource_type: 'user',
        resource_id: null,
        details: { grant_type: 'password', username: 'x@example.com', reason: 'unknown_account' },
      });
      await audit.appendAlone(refused);
      const [row] = await rowsOf(refused.request_id);
      expect(AuditRepository.toEvent(row)).toEqual({
        ...refused,
        id: row.id,
        occurred_at: (row.occurred_at as Date).toISOString(),
      });
    });

    it('when an event has no details, then it reads back without the member', async () => {
      const plain = event();
      await database.db.transaction((trx) => audit.append(plain, trx));
      const [row] = await rowsOf(plain.request_id);
      expect(row.details).toBeNull();
      expect(AuditRepository.toEvent(row)).not.toHaveProperty('details');
    });

    it.each([
      ['a user without an id', { actor_type: 'user' as const, actor_id: null }],
      ['a client without an id', { actor_type: 'client' as const, actor_id: null }],
      ['the cli with an id', { actor_type: 'cli' as const, actor_id: newId() }],
      ['an anonymous caller with an id', { actor_type: 'anonymous' as const, actor_id: newId() }],
      ['an unknown kind of actor', { actor_type: 'robot' as NewAuditEvent['actor_type'] }],
    ])('when the actor is %s, then the actor check refuses the row', async (_label, actor) => {
      expect(await refusal(audit.appendAlone(event(actor)))).toEqual({
        code: '23514',
        constraint: 'audit_events_actor_check',
      });
    });
  });

  describe('listing', () => {
    const runId = `cli:${newId()}`;
    const alice = newId();
    const itemId = newId();
    beforeAll(async () => {
      // One transaction: every row gets the same occurred_at (now() is the transaction's start).
      await database.db.transaction(async (trx) => {
        for (let i = 0; i < 5; i += 1) await audit.append(event({ request_id: runId, actor_id: alice }), trx);
        await audit.append(
          event({ request_id: runId, actor_id: alice, action: 'item.updated', resource_id: itemId }),
          trx,
        );
        await audit.append(
          event({
            request_id: runId,
            actor_type: 'cli',
            actor_id: null,
            action: 'user.created',
            resource_type: 'user',
          }),
          trx,
        );
      });
    });
    const ours = (rows: AuditListRow[]) => rows.filter((row) => row.request_id === runId);
    const keyOf = (row: AuditListRow): [string, string] => [row.cursor_sort_value, row.id];

    it('when events share a timestamp and one is deleted between pages, then the others come once, by id descending', async () => {
      const bob = newId();
      await database.db.transaction(async (trx) => {
        for (let i = 0; i < 6; i += 1) await audit.append(event({ request_id: runId, actor_id: bob }), trx);
      });
      const all = await audit.list({ actorId: bob }, 100, undefined);
      expect(all).toHaveLength(6);
      expect(new Set(all.map((row) => row.cursor_sort_value)).size).toBe(1);
      const victim = all[3]!.id;
      const pages = await walkPages(
        (after) => audit.list({ actorId: bob }, 2 + 1, after),
        2,
        keyOf,
        async (index) => {
          if (index === 0) await database.db('audit_events').where({ id: victim }).del();
        },
      );
      const walked = ours(pages.flat()).map((row) => row.id);
      expect(walked).toEqual(all.map((row) => row.id).filter((id) => id !== victim));
      expect(walked).toEqual([...walked].sort().reverse());
    });

    it('when the cursor is the last row, then the next page is empty', async () => {
      const all = await audit.list({}, 1000, undefined);
      expect(await audit.list({}, 10, keyOf(all[all.length - 1]!))).toEqual([]);
    });

    it('when filtered by actions, actor, resource and time, then only matching rows', async () => {
      const byActions = ours(await audit.list({ actions: ['item.updated', 'user.created'] }, 100, undefined));
      expect(byActions.map((row) => row.action).sort()).toEqual(['item.updated', 'user.created']);
      expect(ours(await audit.list({ actorType: 'cli' }, 100, undefined)).map((row) => row.action)).toEqual([
        'user.created',
      ]);
      const byResource = await audit.list({ resourceType: 'item', resourceId: itemId }, 100, undefined);
      expect(byResource.map((row) => row.action)).toEqual(['item.updated']);
      expect(await audit.list({ resourceType: 'user', resourceId: itemId }, 100, undefined)).toEqual([]);
      const at = byResource[0]!.occurred_at.toISOString();
      // The stored instant has microseconds: a bound at its millisecond is at or before it.
      expect(await audit.list({ occurredAfter: at, actorId: alice }, 100, undefined)).toHaveLength(6);
      expect(await audit.list({ occurredBefore: at, actorId: alice }, 100, undefined)).toEqual([]);
    });
  });
});
