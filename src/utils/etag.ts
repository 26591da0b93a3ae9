/** Strong ETags from a resource's version counter: `"3"`. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * `If-Match` (RFC 9110 section 13.1.1) against the current version: strong comparison, so a weak
 * validator never matches; `*` matches any current representation.
 */
export function ifMatchSatisfied(header: string, currentVersion: number): boolean {
  const current = etagOf(currentVersion);
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag === current);
}

/** `If-None-Match` uses weak comparison: `W/"3"` and `"3"` both mean version 3. */
export function ifNoneMatchSatisfied(header: string | undefined, currentVersion: number): boolean {
  if (!header) return false;
  const current = etagOf(currentVersion);
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === current);
}
