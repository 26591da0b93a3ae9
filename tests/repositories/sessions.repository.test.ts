import type { DatabaseHandle } from '../../src/infrastructure/database';
import { SessionsRepository } from '../../src/repositories/sessions.repository';
import { hashOpaqueToken } from '../../src/utils/opaque-tokens';
import { insertClient, insertUser, newId, refusal, sleep } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';

describe('SessionsRepository', () => {
  let database: DatabaseHandle;
  let sessions: SessionsRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    sessions = new SessionsRepository({ db: database.db });
  });
  afterAll(() => database.close());

  const newRefreshToken = async (sessionId: string, expiresInMs = 60_000) => {
    const tokenHash = hashOpaqueToken(`rt_${newId()}`);
    await database.db.transaction((trx) =>
      sessions.insertRefreshToken(
        {
          tokenHash,
          sessionId,
          expiresAt: new Date(Date.now() + expiresInMs),
        },
        trx,
      ),
    );
    return tokenHash;
  };

  describe('constraints', () => {
    it('when a session names both a user and a client, or neither, then the one-principal check refuses it', async () => {
      const user = await insertUser(database.db);
      const clientId = await insertClient(database.db, user.id);
      const check = { code: '23514', constraint: 'auth_sessions_one_principal_check' };
      expect(
        await refusal(
          database.db.transaction((trx) =>
            sessions.create({ userId: user.id, clientId, scope: 'profile' }, trx),
          ),
        ),
      ).toEqual(check);
      expect(
        await refusal(database.db.transaction((trx) => sessions.create({ scope: 'profile' }, trx))),
      ).toEqual(check);
    });

    it('when a session names a user that does not exist, then the foreign key refuses it', async () => {
      expect(
        await refusal(
          database.db.transaction((trx) => sessions.create({ userId: newId(), scope: 'profile' }, trx)),
        ),
      ).toMatchObject({
        code: '23503',
      });
    });

    it('when a refresh token names a session that does not exist, then the foreign key refuses it', async () => {
      expect(await refusal(newRefreshToken(newId()))).toMatchObject({ code: '23503' });
    });

    it('when the user is deleted, then their sessions and refresh tokens go with them', async () => {
      const user = await insertUser(database.db);
      const sessionId = await database.db.transaction((trx) =>
        sessions.create({ userId: user.id, scope: 'profile' }, trx),
      );
      const tokenHash = await newRefreshToken(sessionId);
      await database.db('users').where({ id: user.id }).del();
      expect(await sessions.findSession(sessionId)).toBeUndefined();
      expect(await sessions.findRefreshToken(tokenHash)).toBeUndefined();
    });
  });

  describe('revocation', () => {
    it('when a session is revoked twice, then only the first call reports that it ended it', async () => {
      const user = await insertUser(database.db);
      const sessionId = await database.db.transaction((trx) =>
        sessions.create({ userId: user.id, scope: 'profile' }, trx),
      );
      expect(await database.db.transaction((trx) => sessions.revoke(sessionId, trx))).toBe(true);
      expect(await database.db.transaction((trx) => sessions.revoke(sessionId, trx))).toBe(false);
      expect(await database.db.transaction((trx) => sessions.revoke(newId(), trx))).toBe(false);
      expect((await sessions.findSession(sessionId))!.revoked_at).toBeInstanceOf(Date);
    });

    it('when all of a user’s sessions are revoked but one, then that one stays and other users’ are untouched', async () => {
      const user = await insertUser(database.db);
      const other = await insertUser(database.db);
      const [kept, ended1, ended2] = await Promise.all(
        [1, 2, 3].map(() =>
          database.db.transaction((trx) => sessions.create({ userId: user.id, scope: 'profile' }, trx)),
        ),
      );
      const othersSession = await database.db.transaction((trx) =>
        sessions.create({ userId: other.id, scope: 'profile' }, trx),
      );
      expect(await database.db.transaction((trx) => sessions.revokeAllOfUser(user.id, kept, trx))).toBe(2);
      expect((await sessions.findSession(kept!))!.revoked_at).toBeNull();
      expect((await sessions.findSession(ended1!))!.revoked_at).not.toBeNull();
      expect((await sessions.findSession(ended2!))!.revoked_at).not.toBeNull();
      expect((await sessions.findSession(othersSession))!.revoked_at).toBeNull();
    });
  });

  describe('the principal of a token', () => {
    it('when a user session is read as a user’s, then the account comes with it; read as a client’s, without a holder', async () => {
      const user = await insertUser(database.db, { role: 'admin' });
      const sessionId = await database.db.transaction((trx) =>
        sessions.create({ userId: user.id, scope: 'profile users:read' }, trx),
      );
      expect(await sessions.findPrincipal(sessionId, 'user')).toMatchObject({
        session_id: sessionId,
        user_id: user.id,
        role: 'admin',
        status: 'active',
        account: user,
      });
      expect(await sessions.findPrincipal(sessionId, 'client')).toMatchObject({
        user_id: user.id,
        client_id: null,
        client_scopes: null,
        account: undefined,
      });
      expect(await sessions.findPrincipal(newId(), 'user')).toBeUndefined();
    });

    it('when a client session is read as a client’s, then its granted scopes come with it', async () => {
      const user = await insertUser(database.db);
      const clientId = await insertClient(database.db, user.id);
      const sessionId = await database.db.transaction((trx) =>
        sessions.create({ clientId, scope: 'items:read' }, trx),
      );
      expect(await sessions.findPrincipal(sessionId, 'client')).toMatchObject({
        client_id: clientId,
        client_scopes: ['items:read'],
        account: undefined,
      });
    });
  });

  describe('refresh token rotation', () => {
    let sessionId: string;
    beforeAll(async () => {
      const user = await insertUser(database.db);
      sessionId = await database.db.transaction((trx) =>
        sessions.create({ userId: user.id, scope: 'profile' }, trx),
      );
    });

    it('when a refresh token is consumed, then it comes back once, marked used; the second time nothing', async () => {
      const tokenHash = await newRefreshToken(sessionId);
      const consumed = await database.db.transaction((trx) => sessions.consumeRefreshToken(tokenHash, trx));
      expect(consumed).toMatchObject({ token_hash: tokenHash, session_id: sessionId });
      expect(consumed!.used_at).toBeInstanceOf(Date);
      expect(
        await database.db.transaction((trx) => sessions.consumeRefreshToken(tokenHash, trx)),
      ).toBeUndefined();
      expect((await sessions.findRefreshToken(tokenHash))!.used_at).toEqual(consumed!.used_at);
    });

    it('when a refresh token has expired, then it cannot be consumed and stays unused', async () => {
      const tokenHash = await newRefreshToken(sessionId, -1000);
      expect(
        await database.db.transaction((trx) => sessions.consumeRefreshToken(tokenHash, trx)),
      ).toBeUndefined();
      expect((await sessions.findRefreshToken(tokenHash))!.used_at).toBeNull();
    });

    it('when two transactions rotate the same refresh token at once, then exactly one gets it', async () => {
      const tokenHash = await newRefreshToken(sessionId);
      let firstConsumed!: () => void;
      const firstHasRow = new Promise<void>((resolve) => (firstConsumed = resolve));
      const first = database.db.transaction(async (trx) => {
        const row = await sessions.consumeRefreshToken(tokenHash, trx);
        firstConsumed();
        // Hold the row lock while the second rotation arrives.
        await sleep(200);
        return row;
      });
      await firstHasRow;
      const second = database.db.transaction((trx) => sessions.consumeRefreshToken(tokenHash, trx));
      const results = await Promise.all([first, second]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(results[0]).toBeDefined();
      expect(results[1]).toBeUndefined();
    });

    it('when the rotation holding the token rolls back, then the waiting one gets it', async () => {
      const tokenHash = await newRefreshToken(sessionId);
      let firstConsumed!: () => void;
      const firstHasRow = new Promise<void>((resolve) => (firstConsumed = resolve));
      const first = database.db
        .transaction(async (trx) => {
          expect(await sessions.consumeRefreshToken(tokenHash, trx)).toBeDefined();
          firstConsumed();
          await sleep(200);
          throw new Error('the first rotation failed');
        })
        .catch((error: Error) => error.message);
      await firstHasRow;
      const second = database.db.transaction((trx) => sessions.consumeRefreshToken(tokenHash, trx));
      const [failure, won] = await Promise.all([first, second]);
      expect(failure).toBe('the first rotation failed');
      expect(won).toMatchObject({ token_hash: tokenHash });
    });
  });
});
