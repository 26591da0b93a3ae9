import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, ENV_VARIABLES, loadConfig } from '../../src/internal/config';

describe('config', () => {
  it('when a variable is invalid, then loading fails naming it', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('when the token issuer is not an http(s) URL, then it refuses to start naming it (RFC 8414 metadata names it as one)', () => {
    expect(() => loadConfig({ AUTH_ISSUER: 'partner-api' })).toThrow(/AUTH_ISSUER/);
    expect(loadConfig({ AUTH_ISSUER: 'https://id.example/tenant' }).auth.issuer).toBe(
      'https://id.example/tenant',
    );
  });

  it('when production lacks the database, the signing keys or the public URL, then it refuses to start naming each', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.stringMatching(/^DATABASE_URL: required in production/),
      expect.stringMatching(/^AUTH_JWT_PRIVATE_KEY: required in production/),
      expect.stringMatching(/^WEBHOOK_SECRETS_KEY: required in production/),
      expect.stringMatching(/^PUBLIC_BASE_URL: required in production/),
    ]);
  });

  it('when only part of the external identity provider is configured, then it refuses to start', () => {
    expect(() => loadConfig({ AUTH_EXTERNAL_ISSUER: 'https://idp.example' })).toThrow(
      /set all three or none/,
    );
  });

  it('when a PEM arrives with escaped newlines, then they are restored', () => {
    const config = loadConfig({
      AUTH_JWT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
    });
    expect(config.auth.privateKeyPem).toBe('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----');
  });

  it('when DATABASE_URL is unset, then the embedded database is used and migrations run at start', () => {
    const config = loadConfig({});
    expect(config.database).toMatchObject({
      driver: 'pglite',
      dataDir: '.data/pglite',
      migrateOnStart: true,
    });
  });

  it('when DATABASE_URL is set in production, then pg is used and migrations do not run at start', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/app',
      DB_POOL_MAX: '4',
      AUTH_JWT_PRIVATE_KEY: 'pem',
      WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
      PUBLIC_BASE_URL: 'https://api.example.org/',
    });
    expect(config.auth.issuer).toBe('https://api.example.org');
    expect(config.database).toMatchObject({ driver: 'pg', poolMax: 4, migrateOnStart: false });
  });

  it('when no database timeout is set, then each follows the request deadline (production: 5, 5, 6 and 3 s)', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/app' })).toMatchObject({
      http: { requestDeadlineMs: 5000 },
      database: {
        statementTimeoutMs: 5000,
        acquireTimeoutMs: 5000,
        queryTimeoutMs: 6000,
        connectTimeoutMs: 3000,
      },
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://db/app', REQUEST_DEADLINE_MS: '2000' })).toMatchObject({
      http: { requestDeadlineMs: 2000 },
      database: { statementTimeoutMs: 2000, acquireTimeoutMs: 2000, queryTimeoutMs: 3000 },
    });
    expect(loadConfig({ REQUEST_DEADLINE_MS: '2000' }).database).toMatchObject({
      driver: 'pglite',
      statementTimeoutMs: 2000,
      acquireTimeoutMs: 2000,
    });
  });

  it('when a database timeout is set, then it is kept, and the query timeout still follows the statement timeout', () => {
    expect(
      loadConfig({
        DATABASE_URL: 'postgres://db/app',
        REQUEST_DEADLINE_MS: '2000',
        DB_STATEMENT_TIMEOUT_MS: '30000',
        DB_ACQUIRE_TIMEOUT_MS: '1000',
      }).database,
    ).toMatchObject({ statementTimeoutMs: 30_000, acquireTimeoutMs: 1000, queryTimeoutMs: 31_000 });
  });

  it('when the query timeout does not exceed the statement timeout, then it refuses to start saying where that came from', () => {
    expect(() => loadConfig({ DB_QUERY_TIMEOUT_MS: '4000' })).toThrow(
      /DB_QUERY_TIMEOUT_MS: must exceed DB_STATEMENT_TIMEOUT_MS \(5000, from REQUEST_DEADLINE_MS\)/,
    );
    expect(() => loadConfig({ DB_QUERY_TIMEOUT_MS: '4000', DB_STATEMENT_TIMEOUT_MS: '4000' })).toThrow(
      /DB_QUERY_TIMEOUT_MS: must exceed DB_STATEMENT_TIMEOUT_MS \(4000\)/,
    );
  });

  it('when the request deadline is out of range, then it refuses to start naming it', () => {
    expect(() => loadConfig({ REQUEST_DEADLINE_MS: '50' })).toThrow(/REQUEST_DEADLINE_MS/);
    expect(() => loadConfig({ REQUEST_DEADLINE_MS: '3600000' })).toThrow(/REQUEST_DEADLINE_MS/);
  });

  it('when loaded, then the result is deeply frozen', () => {
    const config = loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.http.corsOrigins)).toBe(true);
  });

  it('when .env.sample is read, then it documents every variable the config parses', () => {
    const sample = readFileSync(resolve(__dirname, '../../.env.sample'), 'utf8');
    const documented = new Set([...sample.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    expect(ENV_VARIABLES.filter((name) => !documented.has(name))).toEqual([]);
  });
});
