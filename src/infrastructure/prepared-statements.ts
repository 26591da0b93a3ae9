import { createHash } from 'node:crypto';
import { KnexPostgresClient, type KnexQueryObject } from './knex-postgres-client';

/** Distinct statement texts named per process; more stay unnamed, so no connection's cache grows without end. */
const MAX_NAMED_STATEMENTS = 2000;

/**
 * The name a statement text is prepared under, or undefined to send it unnamed. Only parameterised
 * statements (the ones the extended protocol carries anyway), and none that selects or returns `*`: a
 * prepared statement whose result columns change (another instance's migration adding one) fails with
 * "cached plan must not change result type".
 */
export function createStatementNamer(maxNamed = MAX_NAMED_STATEMENTS): (sql: string) => string | undefined {
  const names = new Map<string, string>();
  return (sql) => {
    const known = names.get(sql);
    if (known !== undefined) return known;
    if (sql.includes('*') || names.size >= maxNamed) return undefined;
    const name = `q_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
    names.set(sql, name);
    return name;
  };
}

/**
 * knex's PostgreSQL client with every parameterised statement sent as a named (prepared) one: the server
 * parses and plans it once per connection instead of on every execution, and pg sends only Bind and
 * Execute after the first time. Statements that already have a name keep it.
 */
export function createPreparingPgClient(): typeof KnexPostgresClient {
  const nameOf = createStatementNamer();
  class PreparingPgClient extends KnexPostgresClient {
    override _query(connection: unknown, obj: KnexQueryObject): Promise<unknown> {
      if (!obj.sql || !obj.bindings?.length || obj.options?.name !== undefined) {
        return super._query(connection, obj);
      }
      const name = nameOf(obj.sql);
      // A copy: knex's query events (and the metrics labelled by them) keep seeing the statement unnamed.
      return super._query(
        connection,
        name === undefined ? obj : { ...obj, options: { ...obj.options, name } },
      );
    }
  }
  return PreparingPgClient;
}
