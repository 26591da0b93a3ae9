import { parseArgs } from 'node:util';
import { openDatabase } from './dependencies/database';
import { migrateToLatest, rollbackAll } from './dependencies/migrations';
import { loadConfig } from './internal/config';
import { createLogger } from './internal/logger';

const USAGE = `usage: npm run cli -- <command>

commands:
  migrate     apply every pending migration
  rollback    undo every migration (development only)`;

async function run(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  const [command] = positionals;
  const config = loadConfig();
  const logger = createLogger(config);
  if (command !== 'migrate' && command !== 'rollback') {
    process.stderr.write(`${USAGE}\n`);
    return 64; // EX_USAGE
  }
  const database = await openDatabase(config.database, logger);
  try {
    if (command === 'migrate') {
      const applied = await migrateToLatest(database.db);
      logger.info({ applied }, `migrations: ${applied.length} applied`);
    } else {
      if (config.isProduction) throw new Error('rollback is refused in production');
      await rollbackAll(database.db);
      logger.info('migrations: all rolled back');
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
