const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checked before a value reaches a uuid column, so malformed input is refused rather than a SQL error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
