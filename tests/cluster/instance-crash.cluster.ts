import request from 'supertest';
import { hashIdempotencyKey, openResponse } from '../../src/repositories/idempotency-sealing';
import { startCluster, type Cluster } from '../support/cluster';
import { createUser, type TestUser } from '../support/identity';
import { INSTANCE_HEADER, SERVED_BY_HEADER } from '../support/round-robin-proxy';

const SIZE = 3;
const VICTIM = 1;
const WRITES = 90;
const CONCURRENCY = 30;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ size: SIZE });
});

afterAll(async () => {
  await cluster?.close();
});

interface Write {
  n: number;
  key: string;
  status: number;
  servedBy: number;
  id?: string;
}

const writeKey = (user: TestUser, n: number) => `crash-${user.id}-${n}`;

const createItem = (user: TestUser, n: number, key: string) =>
  request(cluster.proxy.url)
    .post('/v1/items')
    .auth(user.accessToken, { type: 'bearer' })
    .set('Idempotency-Key', key)
    .send({ name: `Crash item ${n}`, tags: ['crash'] });

/** Sends `count` writes, `concurrency` at a time, round-robin over the instances. */
async function writeAll(
  user: TestUser,
  count: number,
  concurrency: number,
  onAnswer: () => void,
): Promise<Write[]> {
  const writes: Write[] = [];
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < count; n = next++) {
      const key = writeKey(user, n);
      const answer = await createItem(user, n, key);
      writes.push({
        n,
        key,
        status: answer.status,
        servedBy: Number(answer.headers[SERVED_BY_HEADER]),
        ...(answer.status === 201 ? { id: (answer.body as { id: string }).id } : {}),
      });
      onAnswer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return writes.sort((a, b) => a.n - b.n);
}

describe('an instance killed mid-request', () => {
  it('when one of three instances is SIGKILLed during a burst of writes, then nothing it answered is lost, nothing is half-written, the others go on and the retries complete', async () => {
    const user = await createUser({ app: cluster.proxy.url, database: { db: cluster.db } });
    const victim = cluster.instances[VICTIM]!;
    let answered = 0;
    let inFlightAtKill = 0;
    cluster.proxy.onForwarded((index) => {
      // Once the instances are warm, and while the victim holds several requests it has not answered.
      if (index === VICTIM && inFlightAtKill === 0 && answered >= 10 && cluster.proxy.inFlight(VICTIM) >= 3) {
        inFlightAtKill = cluster.proxy.inFlight(VICTIM);
        victim.child.kill('SIGKILL');
      }
    });

    const writes = await writeAll(user, WRITES, CONCURRENCY, () => (answered += 1));

    expect(inFlightAtKill).toBeGreaterThanOrEqual(3);
    expect(await victim.exited).toEqual([null, 'SIGKILL']);
    // The balancer answers 502 for what the victim took and never answered; everything else was created.
    const unanswered = writes.filter((write) => write.status !== 201);
    expect(unanswered.length).toBeGreaterThan(0);
    expect(new Set(unanswered.map((write) => `${write.status} from ${write.servedBy}`))).toEqual(
      new Set([`502 from ${VICTIM}`]),
    );

    // Every write that was answered 201 is committed, each with its audit row and its stored response.
    const ids = writes.flatMap((write) => (write.id ? [write.id] : []));
    const items = await committedItems(user);
    expect(items.map((item) => item.id)).toEqual(expect.arrayContaining(ids));
    await expectNothingHalfWritten(user, items);

    // The survivors go on serving; the balancer skips the dead instance.
    for (const index of [0, 1, 2].filter((index) => index !== VICTIM)) {
      await request(cluster.proxy.url).get('/health/ready').set(INSTANCE_HEADER, String(index)).expect(200);
    }
    await request(cluster.proxy.url).get('/health/ready').set(INSTANCE_HEADER, String(VICTIM)).expect(502);

    // Each unanswered write, retried once with its key through the survivors, completes exactly once:
    // replayed if the victim committed it before dying, created now if it did not. Its claim was in the
    // write's transaction, which died with the victim's connections: nothing is left to wait out.
    for (const write of unanswered) {
      const retried = await createItem(user, write.n, write.key);
      expect(retried.status).toBe(201);
      expect(Number(retried.headers[SERVED_BY_HEADER])).not.toBe(VICTIM);
    }
    const after = await committedItems(user);
    expect(after.map((item) => item.name).sort()).toEqual(
      Array.from({ length: WRITES }, (_, n) => `Crash item ${n}`).sort(),
    );
    await expectNothingHalfWritten(user, after);
  });
});

interface CommittedItem {
  id: string;
  name: string;
  audit_rows: number;
  stored_responses: number;
}

/** The user's items, each with how many audit rows and completed idempotency records name it. */
async function committedItems(user: TestUser): Promise<CommittedItem[]> {
  const { rows } = await cluster.db.raw<{ rows: Array<Omit<CommittedItem, 'stored_responses'>> }>(
    `SELECT i.id, i.name,
            (SELECT count(*) FROM audit_events a
              WHERE a.resource_id = i.id::text AND a.action = 'item.created')::int AS audit_rows
       FROM items i WHERE i.owner_user_id = ?`,
    [user.id],
  );
  const stored = await storedResponseItemIds(user);
  return rows.map((row) => ({ ...row, stored_responses: stored.filter((id) => id === row.id).length }));
}

/**
 * The item each completed idempotency record of the user answered with. Records are stored under the
 * key's hash with the response sealed under the key: only the holder of the keys (this test) can tell.
 */
async function storedResponseItemIds(user: TestUser): Promise<string[]> {
  const keys = new Map(
    Array.from({ length: WRITES }, (_, n) => writeKey(user, n)).map((key) => [hashIdempotencyKey(key), key]),
  );
  const records: Array<{
    key_hash: string;
    response_status: number;
    response_salt: Buffer;
    response_iv: Buffer;
    response_ciphertext: Buffer;
  }> = await cluster
    .db('idempotency_keys')
    .select('key_hash', 'response_status', 'response_salt', 'response_iv', 'response_ciphertext')
    .where({ principal_id: user.id })
    .whereNotNull('completed_at');
  return records.map((record) => {
    const key = keys.get(record.key_hash);
    if (!key) return `a record under an unknown key (${record.key_hash})`;
    const { body } = openResponse(user.id, key, record.response_status, {
      salt: record.response_salt,
      iv: record.response_iv,
      ciphertext: record.response_ciphertext,
    });
    return (JSON.parse(body ?? 'null') as { id: string }).id;
  });
}

/** Each item has its one audit row and its one stored response, and neither exists without its item. */
async function expectNothingHalfWritten(user: TestUser, items: CommittedItem[]): Promise<void> {
  expect(items.filter((item) => item.audit_rows !== 1 || item.stored_responses !== 1)).toEqual([]);
  const [audit] = await cluster
    .db('audit_events')
    .where({ actor_id: user.id, action: 'item.created' })
    .count();
  const [stored] = await cluster
    .db('idempotency_keys')
    .where({ principal_id: user.id })
    .whereNotNull('completed_at')
    .count();
  expect([Number(audit!.count), Number(stored!.count)]).toEqual([items.length, items.length]);
}
