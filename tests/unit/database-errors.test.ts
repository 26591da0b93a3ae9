import { translateDatabaseError } from '../../src/utils/database-errors';
import { DeadlineExceededError } from '../../src/utils/deadline';
import { ServiceUnavailableError, ValidationError } from '../../src/utils/errors';

const pgError = (code: string, message = 'from the server') => Object.assign(new Error(message), { code });

describe('database errors as the client sees them', () => {
  it.each([
    ['22021', 'invalid byte sequence (a NUL character)'],
    ['22P05', 'untranslatable character'],
    ['22009', 'invalid time zone displacement'],
    ['22008', 'datetime field overflow'],
    ['22003', 'numeric value out of range'],
  ])('when PostgreSQL raises data exception %s (%s), then 400', (code) => {
    expect(translateDatabaseError(pgError(code))).toBeInstanceOf(ValidationError);
  });

  it.each([
    ['SQLSTATE 08006 (connection failure)', pgError('08006')],
    ['SQLSTATE 57P01 (administrator shutdown)', pgError('57P01')],
    ['SQLSTATE 53300 (too many connections)', pgError('53300')],
    ['SQLSTATE 57014 (statement timeout)', pgError('57014')],
    ['SQLSTATE 55P03 (lock timeout)', pgError('55P03')],
    ['SQLSTATE 25P03 (idle in transaction past its timeout)', pgError('25P03')],
    [
      "the request's deadline",
      new DeadlineExceededError('The request deadline passed before the statement was sent.'),
    ],
    ['a refused socket', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a client-side query timeout, as knex reports it', new Error('select 1 - Query read timeout')],
    ['a connect timeout', new Error('timeout expired')],
    [
      'a pool that cannot hand out a connection',
      Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), {
        name: 'KnexTimeoutError',
      }),
    ],
    [
      'a driver error wrapped by the authenticator',
      new Error('authentication failed', { cause: pgError('ECONNRESET') }),
    ],
  ])('when the database is unreachable (%s), then 503 with Retry-After', (_, error) => {
    const translated = translateDatabaseError(error);
    expect(translated).toBeInstanceOf(ServiceUnavailableError);
    expect(translated?.options.headers).toEqual({ 'Retry-After': expect.stringMatching(/^\d+$/) });
  });

  it.each([
    ['a unique violation (the repository turns it into a conflict)', pgError('23505')],
    ['a syntax error (our bug)', pgError('42601')],
    ['an error that is not an error at all', 'oops'],
  ])('when it is %s, then it stays an unexpected error', (_, error) => {
    expect(translateDatabaseError(error)).toBeUndefined();
  });
});
