import type { Logger } from 'pino';
import type { EventsRepository } from '../repositories/events.repository';
import type { IdempotencyRepository } from '../repositories/idempotency.repository';
import type { RequestLogsRepository } from '../repositories/request-logs.repository';

export interface RecordRetention {
  /** Sweeps every `intervalMs` from now on (an unref'd timer: it never keeps the process alive). */
  start(): void;
  /** Deletes every expired record now, batch by batch; resolves with how many went. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** One kind of record the sweep bounds: a delete of up to `limit` expired rows, however old "expired" is. */
interface Sweepable {
  name: string;
  deleteExpired(limit: number): Promise<number>;
}

/**
 * Records that would otherwise grow for ever, deleted once nothing should read them: idempotency records
 * after their 24 hours; with their repositories given, events (and their deliveries) after the events
 * retention, and request log entries after theirs. Every instance sweeps on its own timer: the deletes skip
 * rows another instance holds, so sweeps at once share the work instead of waiting.
 */
export function createRecordRetention(deps: {
  idempotency: Pick<IdempotencyRepository, 'deleteExpired'>;
  events?: { repository: Pick<EventsRepository, 'deleteExpired'>; retentionDays: number };
  requestLogs?: { repository: Pick<RequestLogsRepository, 'deleteExpired'>; retentionDays: number };
  logger: Logger;
  intervalMs?: number;
  /** Rows per delete statement: short transactions, however large the backlog. */
  batchSize?: number;
  now?: () => Date;
}): RecordRetention {
  const { logger } = deps;
  const intervalMs = deps.intervalMs ?? 10 * 60_000;
  const batchSize = deps.batchSize ?? 1000;
  const now = deps.now ?? (() => new Date());
  const olderThan = (days: number) => new Date(now().getTime() - days * DAY_MS);
  const sweepables: Sweepable[] = [
    { name: 'idempotency records', deleteExpired: (limit) => deps.idempotency.deleteExpired(limit) },
  ];
  const { events, requestLogs } = deps;
  if (events)
    sweepables.push({
      name: 'events',
      deleteExpired: (limit) => events.repository.deleteExpired(olderThan(events.retentionDays), limit),
    });
  if (requestLogs)
    sweepables.push({
      name: 'request log entries',
      deleteExpired: (limit) =>
        requestLogs.repository.deleteExpired(olderThan(requestLogs.retentionDays), limit),
    });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function sweepOne(sweepable: Sweepable): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await sweepable.deleteExpired(batchSize);
      total += deleted;
      if (deleted < batchSize) break;
    }
    if (total > 0) logger.info({ deleted: total }, `retention: expired ${sweepable.name} deleted`);
    return total;
  }

  async function sweepAll(): Promise<number> {
    let total = 0;
    for (const sweepable of sweepables) total += await sweepOne(sweepable);
    return total;
  }

  function sweep(): Promise<number> {
    running ??= sweepAll().finally(() => (running = undefined));
    return running;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        sweep().catch((error: unknown) =>
          logger.error({ err: error }, 'retention: sweep failed; it runs again later'),
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
