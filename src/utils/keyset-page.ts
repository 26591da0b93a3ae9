import { cursorValue, decodeCursor, encodeCursor, type Page } from './cursor';

/** The position after which a page starts: the last row's sort value and id. */
export type KeysetPosition = readonly [sortValue: string, id: string];

/** A listed row as the keyset query returns it: its id, and its sort value as the cursor will carry it. */
export interface KeysetRow {
  id: string;
  cursor_sort_value: string;
}

/**
 * One page of a keyset-paginated list, the one way every list is walked. The cursor carries the last
 * row's sort value and id, and, when `boundTo` is given (the sort, or a fingerprint of the filters),
 * that too, so a cursor is only ever read with the query it was made for. `fetch` returns up to
 * `limit + 1` rows after the position, in list order (a repository's `keysetQuery`); the extra row only
 * says another page exists.
 */
export async function keysetPage<Row, Model>(options: {
  cursor: string | undefined;
  limit: number;
  boundTo?: string;
  /** Checks the sort value a cursor carries (a timestamp, a name). */
  sortValue?: (value: string) => boolean;
  fetch: (limitPlusOne: number, after: KeysetPosition | undefined) => Promise<Array<Row & KeysetRow>>;
  toModel: (row: Row) => Model;
}): Promise<Page<Model>> {
  const { cursor, limit, boundTo, sortValue = cursorValue.timestamp } = options;
  let after: KeysetPosition | undefined;
  if (cursor) {
    const bound = boundTo === undefined ? [] : [(value: string) => value === boundTo];
    const values = decodeCursor(cursor, [...bound, sortValue, cursorValue.uuid]).slice(bound.length);
    after = [values[0]!, values[1]!];
  }
  const rows = await options.fetch(limit + 1, after);
  const pageRows = rows.slice(0, limit);
  const last = pageRows[pageRows.length - 1];
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor([...(boundTo === undefined ? [] : [boundTo]), last.cursor_sort_value, last.id])
      : null;
  return { data: pageRows.map(options.toModel), next_cursor: nextCursor };
}
