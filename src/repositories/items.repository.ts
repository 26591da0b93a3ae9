import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { Item, ItemSort, ItemStatus } from '../models/item';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, type KeysetOrder } from './keyset-query';

interface ItemRow {
  id: string;
  owner_id: string;
  owner_user_id: string | null;
  name: string;
  description: string | null;
  status: ItemStatus;
  tags: string[];
  metadata: Record<string, string>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type ItemListRow = ItemRow & KeysetRow;

export interface ItemFilters {
  ownerId: string;
  status?: ItemStatus;
  tag?: string;
  createdAfter?: string;
  createdBefore?: string;
  nameContains?: string;
}

export interface ItemFields {
  name: string;
  description: string | null;
  status: ItemStatus;
  tags: string[];
  metadata: Record<string, string>;
}

const ITEM_COLUMNS = [
  'id',
  'owner_id',
  'owner_user_id',
  'name',
  'description',
  'status',
  'tags',
  'metadata',
  'version',
  'created_at',
  'updated_at',
] as const;

function toItem(row: ItemRow): Item {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    tags: row.tags,
    metadata: row.metadata,
    owner: { type: row.owner_user_id ? 'user' : 'client', id: row.owner_id },
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** `%` and `_` in the user's text are literals, not wildcards. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

export class ItemsRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    owner: { userId?: string; clientId?: string },
    fields: ItemFields,
    trx: Knex.Transaction,
  ): Promise<Item> {
    const [row] = await trx('items')
      .insert({
        owner_user_id: owner.userId ?? null,
        owner_client_id: owner.clientId ?? null,
        ...fields,
        metadata: JSON.stringify(fields.metadata),
      })
      .returning<ItemRow[]>(ITEM_COLUMNS);
    return toItem(row!);
  }

  async findById(id: string): Promise<Item | undefined> {
    // A named statement: one fixed text on the read path of every item, planned once per connection.
    const row = (await this.deps
      .db('items')
      .select(ITEM_COLUMNS)
      .where({ id })
      .first()
      .options({ name: 'items.find-by-id' })) as ItemRow | undefined;
    return row ? toItem(row) : undefined;
  }

  /** Locks the row until the transaction ends, so a concurrent update waits and then sees the new version. */
  async findByIdForUpdate(id: string, trx: Knex.Transaction): Promise<Item | undefined> {
    const row = (await trx('items').select(ITEM_COLUMNS).where({ id }).forUpdate().first()) as
      ItemRow | undefined;
    return row ? toItem(row) : undefined;
  }

  async update(id: string, fields: ItemFields, version: number, trx: Knex.Transaction): Promise<Item> {
    const [row] = await trx('items')
      .where({ id })
      .update({ ...fields, metadata: JSON.stringify(fields.metadata), version, updated_at: trx.fn.now() })
      .returning<ItemRow[]>(ITEM_COLUMNS);
    return toItem(row!);
  }

  async delete(id: string, trx: Knex.Transaction): Promise<void> {
    await trx('items').where({ id }).del();
  }

  /** One page in `sort` order, after the keyset `after`. */
  list(
    filters: ItemFilters,
    sort: ItemSort,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<ItemListRow[]> {
    const { db } = this.deps;
    const byName = sort.endsWith('name');
    const order: KeysetOrder = {
      column: byName ? 'name' : 'created_at',
      type: byName ? 'text' : 'timestamptz',
      direction: sort.startsWith('-') ? 'desc' : 'asc',
    };
    const query = db('items').select(ITEM_COLUMNS).where('owner_id', filters.ownerId);
    if (filters.status) void query.where('status', filters.status);
    if (filters.tag) void query.whereRaw('tags @> ARRAY[?]::text[]', [filters.tag]);
    if (filters.createdAfter) void query.where('created_at', '>=', filters.createdAfter);
    if (filters.createdBefore) void query.where('created_at', '<', filters.createdBefore);
    if (filters.nameContains) void query.whereILike('name', `%${escapeLike(filters.nameContains)}%`);
    return keysetQuery<ItemRow>(db, query, order, limit, after);
  }

  /** For seeding benchmarks: many rows in one statement. */
  /** Many items at once (seeding), in the caller's transaction. */
  async insertMany(
    rows: Array<ItemFields & { owner_user_id: string; created_at: Date }>,
    trx: Knex.Transaction,
  ): Promise<Item[]> {
    const inserted = await trx('items')
      .insert(rows.map((row) => ({ ...row, metadata: JSON.stringify(row.metadata) })))
      .returning<ItemRow[]>(ITEM_COLUMNS);
    return inserted.map(toItem);
  }

  static toItem = toItem;
}
