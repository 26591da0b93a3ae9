import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { User } from '../../src/models/user';
import { UsersRepository } from '../../src/repositories/users.repository';
import { uniqueEmail } from './identity';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

/** A user row written straight through the repository (no password): the data a repository test needs. */
export function insertUser(
  db: Knex,
  fields: Partial<{ email: string | null; role: 'user' | 'admin'; name: string }> = {},
): Promise<User> {
  return db.transaction((trx) =>
    new UsersRepository({ db }).create(
      {
        email: fields.email === undefined ? uniqueEmail('repo') : fields.email,
        name: fields.name ?? 'Repository Test',
        passwordHash: null,
        role: fields.role ?? 'user',
        apiVersion: LATEST_API_VERSION,
      },
      trx,
    ),
  );
}

export async function insertClient(db: Knex, createdBy: string): Promise<string> {
  const [row] = await db('oauth_clients')
    .insert({ name: 'Partner', scopes: ['items:read'], secret_hash: 'x', created_by: createdBy })
    .returning<Array<{ id: string }>>('id');
  return row!.id;
}

/** The SQLSTATE and constraint a statement was refused with, as both drivers report them. */
export async function refusal(statement: Promise<unknown>): Promise<{ code: string; constraint?: string }> {
  try {
    await statement;
  } catch (error) {
    const { code, constraint } = error as { code: string; constraint?: string };
    return { code, ...(constraint ? { constraint } : {}) };
  }
  throw new Error('the statement was not refused');
}

/**
 * Walks a keyset-paginated list to its end: `page(after)` returns up to `limit + 1` rows like the services
 * ask for; `between` runs after each page (to delete or insert rows meanwhile).
 */
export async function walkPages<Row>(
  page: (after: readonly [string, string] | undefined) => Promise<Row[]>,
  limit: number,
  keyOf: (row: Row) => [string, string],
  between: (pageIndex: number) => Promise<void> = async () => {},
): Promise<Row[][]> {
  const pages: Row[][] = [];
  let after: [string, string] | undefined;
  for (;;) {
    const rows = await page(after);
    const pageRows = rows.slice(0, limit);
    pages.push(pageRows);
    if (rows.length <= limit) return pages;
    after = keyOf(pageRows[pageRows.length - 1]!);
    await between(pages.length - 1);
    if (pages.length > 1000) throw new Error('pagination does not end');
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const newId = () => randomUUID();
