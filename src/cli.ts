import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createDomain } from './composition';
import { openDatabase } from './infrastructure/database';
import { withUnitOfWork } from './infrastructure/unit-of-work';
import { migrateToLatest, rollbackAll } from './infrastructure/migrations';
import { loadConfig } from './internal/config';
import { createLogger } from './internal/logger';
import { seedItems, seedUsers } from './services/seed.service';

const USAGE = `usage: npm run cli -- <command> [options]

commands:
  migrate                                  apply every pending migration
  rollback                                 undo every migration (refused in production)
  create-admin --email <email> [--name <name>]
                                           create an administrator; the password is read from
                                           ADMIN_PASSWORD or, if unset, the first line of stdin
  seed --items <n> [--email <email>] [--users <n>]
                                           load n items for a user (created if missing, password from
                                           SEED_PASSWORD or printed once) and, with --users, n more
                                           users seed-user-<i>@example.com (password SEED_PASSWORD)`;

async function readPassword(): Promise<string> {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

function optionalPassword(password: string | undefined): { password?: string } {
  return password ? { password } : {};
}

async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      items: { type: 'string' },
      users: { type: 'string' },
    },
  });
  const [command] = positionals;
  if (!['migrate', 'rollback', 'create-admin', 'seed'].includes(command ?? '')) {
    process.stderr.write(`${USAGE}\n`);
    return 64; // EX_USAGE
  }
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config.database, logger);
  const { db } = database;
  // Every row this run writes to the audit trail carries this id where a request's would be.
  const runId = `cli:${randomUUID()}`;
  // The same repositories and services the server builds, so the CLI keeps the server's rules.
  const { repositories, outbox, services } = createDomain({ config, db });
  const { userCreation } = services;
  try {
    if (command === 'migrate') {
      const applied = await migrateToLatest(database.db);
      logger.info({ applied }, `migrations: ${applied.length} applied`);
    } else if (command === 'rollback') {
      if (config.isProduction) throw new Error('rollback is refused in production');
      await rollbackAll(database.db);
      logger.info('migrations: all rolled back');
    } else if (command === 'seed') {
      if (config.database.migrateOnStart) await migrateToLatest(database.db);
      const count = Number(values.items);
      if (!Number.isInteger(count) || count < 1) throw new Error('seed needs --items <positive integer>');
      const userCount = Number(values.users ?? 0);
      if (!Number.isInteger(userCount) || userCount < 0) throw new Error('--users needs a whole number');
      if (userCount > 0 && !process.env.SEED_PASSWORD) throw new Error('seed --users needs SEED_PASSWORD');
      const result = await seedItems(
        { db, ...repositories, outbox, userCreation },
        {
          email: values.email ?? 'seed@example.com',
          count,
          runId,
          ...optionalPassword(process.env.SEED_PASSWORD),
        },
      );
      logger.info(result, `seeded ${count} items`);
      if (userCount > 0) {
        const seeded = await seedUsers(
          { db, userCreation },
          { count: userCount, password: process.env.SEED_PASSWORD!, runId },
        );
        logger.info(seeded, `seeded ${seeded.created} of ${userCount} users`);
      }
      if (result.generatedPassword)
        process.stdout.write(`password for ${result.email}: ${result.generatedPassword}\n`);
    } else {
      if (!values.email) throw new Error('create-admin needs --email');
      if (config.database.migrateOnStart) await migrateToLatest(database.db);
      // The same rules as registration (the spec's length limits, the common-password list), from one place.
      const password = await userCreation.preparePassword(await readPassword());
      const { email, name = 'Administrator' } = values;
      const admin = await withUnitOfWork(db, (unit) =>
        userCreation.create(unit, { email, name, password, role: 'admin' }, { via: 'cli', runId }),
      );
      logger.info({ id: admin.id, email: admin.email, run_id: runId }, 'administrator created');
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
