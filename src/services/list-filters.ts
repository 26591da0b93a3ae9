import { createHash } from 'node:crypto';

/**
 * A cursor names the filters it was issued for (a digest of them, in a fixed order), so it is only ever
 * read with those: the same position under other filters would silently skip or repeat rows.
 */
export function filtersFingerprint(filters: object): string {
  const canonical = JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

/** The start of what a retention of `days` still keeps, as of `now`. */
export function keptSince(now: Date, days: number): string {
  return new Date(now.getTime() - days * 24 * 60 * 60 * 1000).toISOString();
}
