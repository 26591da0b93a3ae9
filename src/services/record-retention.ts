import type { Logger } from 'pino';
import type { IdempotencyRepository } from '../repositories/idempotency.repository';

export interface RecordRetention {
  /** Sweeps every `intervalMs` from now on (an unref'd timer: it never keeps the process alive). */
  start(): void;
  /** Deletes every expired record now, batch by batch; resolves with how many went. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

/**
 * Idempotency records answer retries for 24 hours; after that nothing reads them, and left alone they
 * would grow the table by one row per keyed write for ever. Every instance sweeps on its own timer: the
 * deletes skip rows another instance holds, so sweeps at once share the work instead of waiting.
 */
export function createRecordRetention(deps: {
  idempotency: Pick<IdempotencyRepository, 'deleteExpired'>;
  logger: Logger;
  intervalMs?: number;
  /** Rows per delete statement: short transactions, however large the backlog. */
  batchSize?: number;
}): RecordRetention {
  const { idempotency, logger } = deps;
  const intervalMs = deps.intervalMs ?? 10 * 60_000;
  const batchSize = deps.batchSize ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function sweepAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await idempotency.deleteExpired(batchSize);
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }

  function sweep(): Promise<number> {
    running ??= sweepAll().finally(() => (running = undefined));
    return running;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        sweep().then(
          (deleted) => {
            if (deleted > 0) logger.info({ deleted }, 'retention: expired idempotency records deleted');
          },
          (error: unknown) => logger.error({ err: error }, 'retention: sweep failed; it runs again later'),
        );
      }, intervalMs);
      timer.unref();
    },
    sweep,
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
