import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import pino from 'pino';
import { createRequestLog } from '../../src/dependencies/request-log';
import type { NewRequestLogEntry } from '../../src/models/request-log';

const config = {
  enabled: true,
  retentionDays: 30,
  flushIntervalMs: 60_000,
  batchSize: 3,
  maxPerCallerPerDay: 2,
};

/** A finished request of `callerId` as Express hands it to the middleware. */
function finish(middleware: ReturnType<typeof createRequestLog>['middleware'], callerId: string) {
  const res = Object.assign(new EventEmitter(), {
    statusCode: 204,
    locals: {},
    getHeader: () => undefined,
  }) as unknown as Response;
  const req = {
    method: 'GET',
    path: '/v1/items',
    ip: '203.0.113.7',
    id: 'req-1',
    principal: { kind: 'user', id: callerId },
    openapi: { openApiRoute: '/v1/items', schema: { operationId: 'listItems' } },
    get: () => undefined,
  } as unknown as Request;
  middleware(req, res, () => undefined);
  (res as unknown as EventEmitter).emit('finish');
}

describe('the request log writer', () => {
  it('when entries are buffered, then nothing is written until a batch fills or a flush, in one call each', async () => {
    const batches: NewRequestLogEntry[][] = [];
    const log = createRequestLog({
      config: { ...config, maxPerCallerPerDay: 100 },
      insertMany: (entries) => {
        batches.push([...entries]);
        return Promise.resolve();
      },
      logger: pino({ level: 'silent' }),
    });
    finish(log.middleware, 'a');
    finish(log.middleware, 'b');
    expect(batches).toHaveLength(0);
    finish(log.middleware, 'c');
    await log.flush();
    expect(batches.map((batch) => batch.length)).toEqual([3]);
    finish(log.middleware, 'd');
    await log.close();
    expect(batches.map((batch) => batch.length)).toEqual([3, 1]);
  });

  it('when a caller passes its daily cap, then its further entries are dropped and others are kept', async () => {
    const written: NewRequestLogEntry[] = [];
    const log = createRequestLog({
      config,
      insertMany: (entries) => {
        written.push(...entries);
        return Promise.resolve();
      },
      logger: pino({ level: 'silent' }),
    });
    for (let i = 0; i < 4; i += 1) finish(log.middleware, 'busy');
    finish(log.middleware, 'quiet');
    await log.close();
    expect(written.map((entry) => entry.caller_id)).toEqual(['busy', 'busy', 'quiet']);
  });

  it('when the database refuses a batch, then it is dropped and the next one is written', async () => {
    let calls = 0;
    const log = createRequestLog({
      config: { ...config, maxPerCallerPerDay: 100 },
      insertMany: () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('database down')) : Promise.resolve();
      },
      logger: pino({ level: 'silent' }),
    });
    finish(log.middleware, 'a');
    await log.flush();
    finish(log.middleware, 'a');
    await log.close();
    expect(calls).toBe(2);
  });
});
