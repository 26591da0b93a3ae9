import { ValidationError } from './errors';

/**
 * Keyset pagination cursors: the sort key of the last row of a page, opaque to clients. Timestamps travel
 * as PostgreSQL's own text form so no precision is lost between pages.
 */
export function encodeCursor(values: readonly string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, length: number): string[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  if (
    !Array.isArray(values) ||
    values.length !== length ||
    !values.every((value) => typeof value === 'string' && value.length <= 200)
  ) {
    throw new ValidationError('The cursor is not one this API issued.', [
      { location: 'query', pointer: '/cursor', detail: 'is not a valid cursor' },
    ]);
  }
  return values as string[];
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Repositories fetch `limit + 1` rows; the extra row only says whether another page exists. */
export function toPage<Row, T>(
  rows: Row[],
  limit: number,
  map: (row: Row) => T,
  cursorOf: (row: Row) => string[],
): Page<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { data: pageRows.map(map), next_cursor: hasMore && last ? encodeCursor(cursorOf(last)) : null };
}
