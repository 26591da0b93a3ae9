import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';

export class ExternalIdentitiesRepository {
  constructor(private readonly deps: { db: Database }) {}

  async findUserId(issuer: string, subject: string, db: Knex = this.deps.db): Promise<string | undefined> {
    const row = (await db('external_identities').select('user_id').where({ issuer, subject }).first()) as
      { user_id: string } | undefined;
    return row?.user_id;
  }

  /** Returns false when another request linked the same identity first. */
  async link(issuer: string, subject: string, userId: string, trx: Knex.Transaction): Promise<boolean> {
    const rows = await trx('external_identities')
      .insert({ issuer, subject, user_id: userId })
      .onConflict(['issuer', 'subject'])
      .ignore()
      .returning('user_id');
    return rows.length > 0;
  }
}
