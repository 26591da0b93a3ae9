// The span every stored timestamp lies in. RFC 3339 allows offsets up to +/-23:59 and years 0000-9999,
// while PostgreSQL refuses offsets past +/-15:59 and has no year 0; an instant outside this span selects
// the same rows as the bound itself.
const EARLIEST = Date.parse('1970-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** A validated RFC 3339 date-time as a UTC instant PostgreSQL accepts, clamped to the span rows live in. */
export function toDatabaseInstant(dateTime: string): string {
  // RFC 3339 allows a leap second (:60) that Date.parse refuses; it counts as the second before it.
  const parsed = Date.parse(dateTime.replace(/([Tt ]\d{2}:\d{2}):60/, '$1:59'));
  const instant = Math.min(Math.max(parsed, EARLIEST), LATEST);
  return new Date(instant).toISOString();
}

/** A nullable timestamp column as the API shows it: RFC 3339 in UTC, or null. */
export function isoOrNull(value: Date | null): string | null {
  return value ? value.toISOString() : null;
}
