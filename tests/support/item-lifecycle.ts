import type { Express } from 'express';
import request from 'supertest';

type Item = Record<string, unknown> & { id: string };

/**
 * One item through its whole life with `token`, each step with the ETag the one before answered: created,
 * made active (a merge patch), deleted. Returns the item as created and as changed.
 */
export async function createChangeAndDeleteItem(
  app: Express,
  token: string,
  name: string,
): Promise<{ created: Item; updated: Item }> {
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request(app).post('/v1/items').set(auth).send({ name }).expect(201);
  const path = `/v1/items/${(created.body as Item).id}`;
  const updated = await request(app)
    .patch(path)
    .set(auth)
    .set('If-Match', created.headers.etag as string)
    .set('Content-Type', 'application/merge-patch+json')
    .send({ status: 'active' })
    .expect(200);
  await request(app)
    .delete(path)
    .set(auth)
    .set('If-Match', updated.headers.etag as string)
    .expect(204);
  return { created: created.body as Item, updated: updated.body as Item };
}
