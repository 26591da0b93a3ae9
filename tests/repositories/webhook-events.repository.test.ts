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
});
