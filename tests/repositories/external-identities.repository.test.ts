import type { DatabaseHandle } from '../../src/infrastructure/database';
import { ExternalIdentitiesRepository } from '../../src/repositories/external-identities.repository';
import { insertUser, newId, refusal, sleep } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';

const ISSUER = 'https://idp.example.com';

describe('ExternalIdentitiesRepository', () => {
  let database: DatabaseHandle;
  let identities: ExternalIdentitiesRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    identities = new ExternalIdentitiesRepository({ db: database.db });
  });
  afterAll(() => database.close());

  it('when an identity is linked, then it maps to its user; linking it again, even to another user, changes nothing', async () => {
    const subject = newId();
    const first = await insertUser(database.db, { email: null });
    const second = await insertUser(database.db, { email: null });
    expect(await identities.findUserId(ISSUER, subject)).toBeUndefined();
    expect(await database.db.transaction((trx) => identities.link(ISSUER, subject, first.id, trx))).toBe(
      true,
    );
    expect(await database.db.transaction((trx) => identities.link(ISSUER, subject, second.id, trx))).toBe(
      false,
    );
    expect(await identities.findUserId(ISSUER, subject)).toBe(first.id);
    // The same subject at another issuer is another identity.
    expect(await identities.findUserId('https://other.example.com', subject)).toBeUndefined();
  });

  it('when the user does not exist, then the foreign key refuses the link', async () => {
    expect(
      await refusal(database.db.transaction((trx) => identities.link(ISSUER, newId(), newId(), trx))),
    ).toMatchObject({ code: '23503' });
  });

  it('when two transactions link one identity at once, then exactly one wins and the other can roll its user back', async () => {
    const subject = newId();
    const attempt = (delayMs: number) =>
      database.db.transaction(async (trx) => {
        const [user] = await trx('users')
          .insert({ email: null, name: 'racer' })
          .returning<Array<{ id: string }>>('id');
        const linked = await identities.link(ISSUER, subject, user!.id, trx);
        await sleep(delayMs);
        return linked;
      });
    const results = await Promise.all([attempt(150), attempt(0)]);
    expect(results.sort()).toEqual([false, true]);
    expect(await database.db('external_identities').where({ issuer: ISSUER, subject })).toHaveLength(1);
  });

  it('when the user is deleted, then the identity goes with it', async () => {
    const subject = newId();
    const user = await insertUser(database.db, { email: null });
    await database.db.transaction((trx) => identities.link(ISSUER, subject, user.id, trx));
    await database.db('users').where({ id: user.id }).del();
    expect(await identities.findUserId(ISSUER, subject)).toBeUndefined();
  });
});
