import { isUuid } from './uuid';
import { ValidationError } from './errors';

/**
 * Keyset pagination cursors: the sort key of the last row of a page, opaque to clients. Timestamps travel
 * as PostgreSQL's own text form so no precision is lost between pages.
 */
export function encodeCursor(values: readonly string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const PG_TIMESTAMPTZ =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::?(\d{2}))?$/;

/** A calendar-valid PostgreSQL timestamptz text (no 30 February, no year zero), as our cursors carry. */
function isTimestamp(value: string): boolean {
  const match = PG_TIMESTAMPTZ.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes = 0] = match
    .slice(1, 9)
    .map(Number);
  const daysInMonth = new Date(Date.UTC(year!, month as number, 0)).getUTCDate();
  return (
    year! >= 1 &&
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! < 24 &&
    minute! < 60 &&
    second! < 60 &&
    offsetHours! <= 15 &&
    (Number.isNaN(offsetMinutes) || offsetMinutes < 60)
  );
}

export const cursorValue = {
  uuid: isUuid,
  timestamp: isTimestamp,
  text: (value: string) => value.length <= 200,
};

export function decodeCursor(
  cursor: string,
  validators: ReadonlyArray<(value: string) => boolean>,
): string[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  if (
    !Array.isArray(values) ||
    values.length !== validators.length ||
    !values.every(
      (value, index) => typeof value === 'string' && value.length <= 200 && validators[index]!(value),
    )
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
