import type { Knex } from 'knex';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';

/**
 * The order a list is walked in: one sort column, then the id to break its ties, both in one direction,
 * so that one index on (sort column, id), behind any equality filters such as the owner, serves both the
 * ORDER BY and the seek.
 */
export interface KeysetOrder {
  /** The sort column as the query names it: `created_at`, or `d.created_at` in a join. */
  column: string;
  /** The column's type, to which the cursor's text is cast back, so the comparison is the column's own. */
  type: 'timestamptz' | 'text';
  direction: 'asc' | 'desc';
  /** The unique column that breaks ties, as the query names it; `id` unless the table is aliased. */
  id?: string;
}

/** Newest first by a timestamp: how every list is walked but items in their other sorts. */
export function newestFirst(column = 'created_at', id = 'id'): KeysetOrder {
  return { column, id, type: 'timestamptz', direction: 'desc' };
}

/**
 * Up to `limit` rows of `query`, in `order`, after the position `after` (the previous page's last row):
 * `keysetPage` asks for one row more than the page, which only says another page exists. Each row also
 * carries `cursor_sort_value`, the sort column as PostgreSQL's own text, so a timestamp keeps its
 * microseconds on its way through the cursor and the next page starts exactly after this one.
 *
 * The seek is a row comparison, `(column, id) < (?, ?)`, not `column < ? OR (column = ? AND id < ?)`:
 * PostgreSQL reads it as one range of the (column, id) index, so a page deep in the list costs what the
 * first one does.
 */
export async function keysetQuery<Row>(
  db: Knex,
  query: Knex.QueryBuilder,
  order: KeysetOrder,
  limit: number,
  after: KeysetPosition | undefined,
): Promise<Array<Row & KeysetRow>> {
  const { column, type, direction, id = 'id' } = order;
  void query
    .select(db.raw('??::text as cursor_sort_value', [column]))
    .orderBy([
      { column, order: direction },
      { column: id, order: direction },
    ])
    .limit(limit);
  if (after) {
    // The comparison and the cast come from the closed unions above, never from the request.
    const comparison = direction === 'desc' ? '<' : '>';
    void query.whereRaw(`(??, ??) ${comparison} (?::${type}, ?::uuid)`, [column, id, after[0], after[1]]);
  }
  return (await query) as Array<Row & KeysetRow>;
}
