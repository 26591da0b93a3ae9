// Preloaded into the servers under test (node -r): counts their round trips to PostgreSQL at the driver
// (every pg Client#query is one: pg sends Parse/Bind/Execute/Sync together) and their commits (COMMIT, or a
// statement that writes outside a transaction). On SIGUSR2 it writes the counts to
// `${BENCH_ROUND_TRIPS_DIR}/<pid>.json`, which the bench reads before and after a run. pg_stat_statements
// would count the same on the server side, but it must be preloaded into PostgreSQL, which is shared.
'use strict';
const { writeFileSync } = require('node:fs');
const pg = require('pg');

const counts = { roundTrips: 0, commits: 0 };
const inTransaction = new WeakSet();
const WRITES =
  /^\s*(WITH|INSERT|UPDATE|DELETE)\b[\s\S]*\b(INSERT|UPDATE|DELETE)\b|^\s*(INSERT|UPDATE|DELETE)\b/i;
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function query(config, ...rest) {
  const text = typeof config === 'string' ? config : (config?.text ?? '');
  counts.roundTrips += 1;
  if (/^\s*BEGIN\b/i.test(text)) inTransaction.add(this);
  else if (/^\s*(COMMIT|ROLLBACK)\b/i.test(text)) {
    if (/^\s*COMMIT/i.test(text)) counts.commits += 1;
    inTransaction.delete(this);
  } else if (!inTransaction.has(this) && WRITES.test(text)) counts.commits += 1;
  return original.call(this, config, ...rest);
};
process.on('SIGUSR2', () => {
  const dir = process.env.BENCH_ROUND_TRIPS_DIR;
  if (dir) writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify(counts));
});
