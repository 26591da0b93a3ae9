import { startTracing } from './internal/tracing';

// Tracing starts before the service is loaded: its instrumentations patch http, pg and knex as they
// are first required, which only the dynamic import below does.
startTracing()
  .then(async (tracing) => (await import('./start.js')).start(tracing))
  .catch((error: unknown) => {
    process.stderr.write(
      `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
