import bundledDocument from '../../generated/openapi.json';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { createPasswordHasher } from '../../src/infrastructure/password-hasher';
import { AuditRepository } from '../../src/repositories/audit.repository';
import { WebhookEventsRepository } from '../../src/repositories/webhook-events.repository';
import { UsersRepository } from '../../src/repositories/users.repository';
import {
  createUserCreation,
  normalizeEmail,
  type UserCreation,
} from '../../src/services/user-creation.service';
import { ConflictError, ValidationError } from '../../src/utils/errors';
import { createEventOutbox } from '../../src/services/event-outbox';
import { withUnitOfWork } from '../../src/infrastructure/unit-of-work';
import { PASSWORD, uniqueEmail } from '../support/identity';
import { createTestDatabase } from '../support/test-database';

describe('creating users: the one path', () => {
  let database: DatabaseHandle;
  let creation: UserCreation;
  const hasher = createPasswordHasher();
  beforeAll(async () => {
    database = await createTestDatabase();
    const { db } = database;
    creation = createUserCreation({
      users: new UsersRepository({ db }),
      audit: new AuditRepository({ db }),
      outbox: createEventOutbox({ webhookEvents: new WebhookEventsRepository({ db }) }),
      hasher,
    });
  });
  afterAll(() => database.close());

  const { minLength, maxLength } = bundledDocument.components.schemas.Password;

  it.each([
    ['one character shorter than the spec allows', 'x'.repeat(minLength - 1), 'must be 8 to 128 characters'],
    ['one character longer than the spec allows', 'x'.repeat(maxLength + 1), 'must be 8 to 128 characters'],
    ['one of the most common', 'password123', 'is one of the most common passwords'],
  ])('when the password is %s, then it is refused with a field error', async (_label, password, detail) => {
    const refusal = creation.preparePassword(password, '/new_password');
    await expect(refusal).rejects.toBeInstanceOf(ValidationError);
    await expect(refusal).rejects.toMatchObject({
      options: { fieldErrors: [{ location: 'body', pointer: '/new_password', detail }] },
    });
  });

  it('when the password is exactly as long as the spec allows, then it is hashed with argon2id', async () => {
    const prepared = await creation.preparePassword('k'.repeat(maxLength - 4) + '-9z!');
    expect(prepared.hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verify(prepared.hash, 'k'.repeat(maxLength - 4) + '-9z!')).toBe(true);
  });

  it('when a user is created from the CLI, then the row, its normalised email and a cli user.created row commit together', async () => {
    const local = `Ada.${Date.now()}`;
    const password = await creation.preparePassword(PASSWORD);
    const user = await withUnitOfWork(database.db, (unit) =>
      creation.create(
        unit,
        { email: `  ${local}@Example.COM `, name: 'Ada', role: 'admin', password },
        { via: 'cli', runId: 'cli:run-1' },
      ),
    );
    expect(user).toMatchObject({ email: `${local}@example.com`, role: 'admin' });
    expect(await database.db('audit_events').where({ resource_id: user.id })).toEqual([
      expect.objectContaining({
        actor_type: 'cli',
        actor_id: null,
        action: 'user.created',
        resource_type: 'user',
        request_id: 'cli:run-1',
        details: { via: 'cli' },
      }),
    ]);
  });

  it('when the caller rolls its transaction back, then neither the user nor its audit row remains', async () => {
    const email = uniqueEmail('rolled-back');
    await expect(
      withUnitOfWork(database.db, async (unit) => {
        await creation.create(
          unit,
          { email, name: 'Gone', role: 'user', password: null },
          { via: 'registration', requestId: 'req-rolled-back' },
        );
        throw new Error('the caller changed its mind');
      }),
    ).rejects.toThrow('the caller changed its mind');
    expect(await database.db('users').where({ email })).toEqual([]);
    expect(await database.db('audit_events').where({ request_id: 'req-rolled-back' })).toEqual([]);
  });

  it('when the email exists in another case, then a ConflictError and no audit row', async () => {
    const email = uniqueEmail('taken');
    const origin = { via: 'registration', requestId: 'req-taken' } as const;
    await withUnitOfWork(database.db, (unit) =>
      creation.create(unit, { email, name: 'First', role: 'user', password: null }, origin),
    );
    await expect(
      withUnitOfWork(database.db, (unit) =>
        creation.create(
          unit,
          { email: email.toUpperCase(), name: 'Second', role: 'user', password: null },
          {
            via: 'registration',
            requestId: 'req-taken-again',
          },
        ),
      ),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await database.db('audit_events').where({ request_id: 'req-taken-again' })).toEqual([]);
  });

  it.each([
    ['without an @', 'no-at-sign'],
    ['without a local part', '@example.com'],
    ['without a domain', 'user@'],
    ['with a space inside', 'two words@example.com'],
    ['longer than the spec allows', `${'a'.repeat(250)}@example.com`],
  ])('when the email is %s, then it is refused before any database work', (_label, email) => {
    expect(() => normalizeEmail(email)).toThrow(ValidationError);
  });
});
