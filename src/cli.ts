import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openDatabase } from './dependencies/database';
import { migrateToLatest, rollbackAll } from './dependencies/migrations';
import { createPasswordHasher } from './dependencies/password-hasher';
import { loadConfig } from './internal/config';
import { createLogger } from './internal/logger';
import { UsersRepository } from './repositories/users.repository';

const USAGE = `usage: npm run cli -- <command> [options]

commands:
  migrate                                  apply every pending migration
  rollback                                 undo every migration (refused in production)
  create-admin --email <email> [--name <name>]
                                           create an administrator; the password is read from
                                           ADMIN_PASSWORD or, if unset, the first line of stdin`;

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 128;

async function readPassword(): Promise<string> {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { email: { type: 'string' }, name: { type: 'string' } },
  });
  const [command] = positionals;
  if (command !== 'migrate' && command !== 'rollback' && command !== 'create-admin') {
    process.stderr.write(`${USAGE}\n`);
    return 64; // EX_USAGE
  }
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config.database, logger);
  try {
    if (command === 'migrate') {
      const applied = await migrateToLatest(database.db);
      logger.info({ applied }, `migrations: ${applied.length} applied`);
    } else if (command === 'rollback') {
      if (config.isProduction) throw new Error('rollback is refused in production');
      await rollbackAll(database.db);
      logger.info('migrations: all rolled back');
    } else {
      if (!values.email) throw new Error('create-admin needs --email');
      if (config.database.migrateOnStart) await migrateToLatest(database.db);
      const password = await readPassword();
      const hasher = createPasswordHasher();
      if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD || hasher.isCommon(password)) {
        throw new Error(
          `the password must be ${MIN_PASSWORD}-${MAX_PASSWORD} characters and not a common one`,
        );
      }
      const users = new UsersRepository({ db: database.db });
      const admin = await users.create({
        email: values.email,
        name: values.name ?? 'Administrator',
        passwordHash: await hasher.hash(password),
        role: 'admin',
      });
      logger.info({ id: admin.id, email: admin.email }, 'administrator created');
    }
    return 0;
  } finally {
    await database.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
