import { ConfigError, loadConfig } from '../../src/internal/config';

describe('config', () => {
  it('when a variable is invalid, then loading fails naming it', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('when production has no DATABASE_URL, then it refuses to start', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL: required in production/);
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
    });
    expect(config.database).toMatchObject({ driver: 'pg', poolMax: 4, migrateOnStart: false });
  });

  it('when loaded, then the result is deeply frozen', () => {
    const config = loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.http.corsOrigins)).toBe(true);
  });
});
