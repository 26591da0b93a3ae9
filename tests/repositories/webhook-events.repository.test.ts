import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { WebhookEventsRepository } from '../../src/repositories/webhook-events.repository';
import { createTestDatabase } from '../support/test-database';
import { insertEndpoint, retireEndpoints } from '../support/webhook-fixtures';

describe('the webhook events repository', () => {
  let handle: DatabaseHandle;
  let repository: WebhookEventsRepository;
  const endpoints: string[] = [];

  beforeAll(async () => {
    handle = await createTestDatabase();
    repository = new WebhookEventsRepository({ db: handle.db });
  });
  afterEach(async () => {
    await retireEndpoints(handle.db, endpoints.splice(0));
  });
  afterAll(async () => {
    await handle?.close();
  });

  async function subscriber(): Promise<{ endpointId: string; ownerId: string }> {
    const { id } = await insertEndpoint(handle.db, 'https://hooks.example.com/in', {
      eventTypes: ['item.deleted'],
    });
    endpoints.push(id);
    const { owner_user_id } = (await handle
      .db('webhook_endpoints')
      .select('owner_user_id')
      .where({ id })
      .first()) as {
      owner_user_id: string;
    };
    return { endpointId: id, ownerId: owner_user_id };
  }

  const itemDeleted = () => {
    const id = randomUUID();
    return { type: 'item.deleted' as const, resourceType: 'item', resourceId: id, data: { id } };
  };

  const deliveriesOf = async (endpointId: string) =>
    handle
      .db('webhook_deliveries')
      .where({ endpoint_id: endpointId })
      .count<Array<{ count: number }>>('* as count');

  it('when an event has a subscriber, then recording it says one delivery was queued', async () => {
    const { endpointId, ownerId } = await subscriber();
    const queued = await handle.db.transaction((trx) =>
      repository.record(itemDeleted(), { userId: ownerId }, trx),
    );

    expect(queued).toBe(1);
    expect(await deliveriesOf(endpointId)).toEqual([{ count: 1 }]);
  });

  it('when an event has no subscriber, then recording it queued nothing', async () => {
    const queued = await handle.db.transaction((trx) =>
      repository.record(itemDeleted(), { userId: randomUUID() }, trx),
    );

    expect(queued).toBe(0);
  });

  it('when an event is recorded with its audit row, then both are written by its statement, and neither after a rollback', async () => {
    const { endpointId, ownerId } = await subscriber();
    const audited = (event: ReturnType<typeof itemDeleted>, requestId: string) => ({
      actor_type: 'user' as const,
      actor_id: ownerId,
      action: 'item.deleted' as const,
      resource_type: 'item' as const,
      resource_id: event.resourceId,
      request_id: requestId,
    });
    const kept = itemDeleted();
    const undone = itemDeleted();
    const keptRequest = randomUUID();
    const undoneRequest = randomUUID();

    const queued = await handle.db.transaction((trx) =>
      repository.record(kept, { userId: ownerId }, trx, audited(kept, keptRequest)),
    );
    await handle.db
      .transaction(async (trx) => {
        await repository.record(undone, { userId: ownerId }, trx, audited(undone, undoneRequest));
        throw new Error('roll back');
      })
      .catch(() => undefined);

    expect(queued).toBe(1);
    expect(await deliveriesOf(endpointId)).toEqual([{ count: 1 }]);
    const rows = await handle
      .db('audit_events')
      .select('action', 'resource_id', 'actor_id')
      .whereIn('request_id', [keptRequest, undoneRequest]);
    expect(rows).toEqual([{ action: 'item.deleted', resource_id: kept.resourceId, actor_id: ownerId }]);
  });
});
