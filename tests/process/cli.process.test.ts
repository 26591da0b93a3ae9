import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { openDatabase } from '../../src/infrastructure/database';

// Each test starts the CLI (and PGlite) as a child process; this timeout only guards against a hang.
jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../..');

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function runCli(
  args: string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_PRETTY: 'false', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(stdin);
  const [code] = (await once(child, 'exit')) as [number];
  return { code, output };
}

describe('the create-admin command', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('when given an email and a password on stdin, then an admin with an argon2id hash exists, and a common password is refused', async () => {
    const env = { PGLITE_DATA_DIR: dataDir };
    const created = await runCli(
      ['create-admin', '--email', 'Boss@Example.com', '--name', 'Boss'],
      env,
      'violet-kettle-orbit-42\n',
    );
    expect(created.output).toContain('administrator created');
    expect(created.code).toBe(0);

    const refused = await runCli(['create-admin', '--email', 'weak@example.com'], {
      ...env,
      ADMIN_PASSWORD: 'password1',
    });
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('The password is too common.');

    const database = await openDatabase(
      { driver: 'pglite', dataDir, statementTimeoutMs: 5000, acquireTimeoutMs: 5000, migrateOnStart: false },
      pino({ level: 'silent' }),
    );
    try {
      const rows = await database.db('users').select('id', 'email', 'role', 'password_hash');
      expect(rows).toEqual([
        {
          id: expect.any(String),
          email: 'Boss@example.com',
          role: 'admin',
          password_hash: expect.stringMatching(/^\$argon2id\$/),
        },
      ]);
      expect(await database.db('audit_events')).toEqual([
        expect.objectContaining({
          actor_type: 'cli',
          actor_id: null,
          action: 'user.created',
          resource_type: 'user',
          resource_id: rows[0].id,
          request_id: expect.stringMatching(/^cli:[0-9a-f-]{36}$/),
          details: { via: 'cli' },
        }),
      ]);
      expect(JSON.stringify(await database.db('audit_events'))).not.toContain('violet-kettle-orbit-42');
    } finally {
      await database.close();
    }
  });

  const pgliteConfig = () => ({
    driver: 'pglite' as const,
    dataDir,
    statementTimeoutMs: 5000,
    acquireTimeoutMs: 5000,
    migrateOnStart: false,
  });

  it('when the embedded database is open in another process, then the CLI refuses, says what to do instead and writes nothing', async () => {
    const holder = await openDatabase(pgliteConfig(), pino({ level: 'silent' }));
    let refused: { code: number; output: string };
    try {
      refused = await runCli(['create-admin', '--email', 'second@example.com'], {
        PGLITE_DATA_DIR: dataDir,
        ADMIN_PASSWORD: 'violet-kettle-orbit-42',
      });
    } finally {
      await holder.close();
    }
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/open in another process.*DATABASE_URL/s);
    const reopened = await openDatabase(pgliteConfig(), pino({ level: 'silent' }));
    try {
      expect(await reopened.db('users').where({ email: 'second@example.com' })).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  it('when the process holding the embedded database was killed, then the next one takes it over at once', async () => {
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `require('./src/infrastructure/database')
           .openDatabase(${JSON.stringify(pgliteConfig())}, require('pino')({ level: 'silent' }))
           .then(() => process.stdout.write('open\\n'));
         setInterval(() => {}, 60_000);`,
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    started.push(holder);
    await once(holder.stdout, 'data');
    holder.kill('SIGKILL');
    await once(holder, 'exit');

    // Its lock is seconds old (refreshed every 5 s), far from the 10 s after which it would count as stale.
    const takenOver = await openDatabase(pgliteConfig(), pino({ level: 'silent' }));
    try {
      expect(await takenOver.db.raw('select 1 as one')).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await takenOver.close();
    }
  });
});
