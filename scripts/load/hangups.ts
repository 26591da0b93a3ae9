/**
 * The clients of `make load` that time out and retry: each creates items with an Idempotency-Key, hangs
 * up on its first attempts after a random 0-20 ms (before, during or after the server's write), then
 * waits for the answer with the same key. Afterwards every item they created is listed by its run's tag,
 * and a key that left two items (or an answered key with none) is counted: both must stay 0.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Session } from './workload';

const HANGUPS_PER_KEY = 3;
const HANGUP_WINDOW_MS = 20;

export interface HangupReport {
  clients: number;
  keys: number;
  hangUps: number;
  /** Final answers by status. */
  statuses: Record<string, number>;
  /** Keys whose name is on more than one item. */
  writtenTwice: number;
  /** Keys answered 201 whose item is not there. */
  answeredWithoutItem: number;
}

/** One attempt; undefined when it hung up after `hangUpAfterMs` before the answer arrived. */
async function attempt(
  base: string,
  session: Session,
  key: string,
  body: string,
  hangUpAfterMs?: number,
): Promise<number | undefined> {
  const signal =
    hangUpAfterMs === undefined ? AbortSignal.timeout(30_000) : AbortSignal.timeout(hangUpAfterMs);
  try {
    const res = await fetch(`${base}/v1/items`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body,
      signal,
    });
    await res.arrayBuffer();
    return res.status;
  } catch (error) {
    if (hangUpAfterMs !== undefined && signal.aborted) return undefined;
    throw error;
  }
}

async function itemNamesTagged(base: string, session: Session, tag: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ tag, limit: '100', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${base}/v1/items?${query.toString()}`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    if (res.status !== 200) throw new Error(`GET /v1/items answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { data: Array<{ name: string }>; next_cursor: string | null };
    names.push(...page.data.map((item) => item.name));
    cursor = page.next_cursor;
  } while (cursor);
  return names;
}

/** Runs `clients` hanging-up clients until `deadline` (performance.now()), then checks what they left. */
export async function driveHangups(
  base: string,
  session: Session,
  clients: number,
  deadline: number,
): Promise<HangupReport> {
  const tag = `hangup-${randomUUID().slice(0, 8)}`;
  const answered: string[] = [];
  const statuses: Record<string, number> = {};
  let keys = 0;
  let hangUps = 0;
  const client = async () => {
    while (performance.now() < deadline) {
      const key = randomUUID();
      const name = `Hang-up ${key}`;
      const body = JSON.stringify({ name, tags: [tag] });
      keys += 1;
      for (let n = 0; ; n += 1) {
        const status = await attempt(
          base,
          session,
          key,
          body,
          n < HANGUPS_PER_KEY ? randomInt(HANGUP_WINDOW_MS + 1) : undefined,
        );
        if (status === undefined) {
          hangUps += 1;
          continue;
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 201) answered.push(name);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));

  const perName = new Map<string, number>();
  for (const name of await itemNamesTagged(base, session, tag))
    perName.set(name, (perName.get(name) ?? 0) + 1);
  return {
    clients,
    keys,
    hangUps,
    statuses,
    writtenTwice: [...perName.values()].filter((count) => count > 1).length,
    answeredWithoutItem: answered.filter((name) => !perName.has(name)).length,
  };
}
