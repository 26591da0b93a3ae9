/**
 * The partner journey every generated client runs against a live server (make sdk-matrix): what a partner
 * writes on top of a client generated from the served spec, configured with a base URL and a token only.
 * Each generator's file implements `PartnerCalls` with its own client; this file runs the same steps and
 * checks the same outcomes for all of them, and prints what happened.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export interface Item {
  id: string;
  name: string;
  version: number;
}

/** One call's outcome as the journey needs it: the status, and the headers it reads. */
export interface Answer<T> {
  status: number;
  body: T;
  etag?: string | null;
  replayed?: boolean;
}

export interface PartnerCalls {
  /** Client credentials grant; returns the access token the client is then configured with. */
  token(clientId: string, clientSecret: string): Promise<string>;
  /** Configures the generated client with the token (its own mechanism: a callback, a field, a header). */
  useToken(token: string): void;
  createItem(name: string, idempotencyKey: string): Promise<Answer<Item>>;
  /** Every item of the caller, page by page, as the generated client pages. */
  listAllItems(pageSize: number): Promise<{ pages: number; items: Item[] }>;
  renameItem(id: string, name: string, ifMatch: string): Promise<Answer<Item | undefined>>;
  createWebhookEndpoint(url: string): Promise<{ id: string; secret: string }>;
  sendTestEvent(endpointId: string): Promise<number>;
}

export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

export async function runJourney(generator: string, calls: PartnerCalls): Promise<void> {
  const started = Date.now();
  const log = (step: string, detail: string) =>
    console.log(`${generator.padEnd(28)} ${step.padEnd(24)} ${detail}`);
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`${generator}: ${what}`);
  };

  const token = await calls.token(env('CLIENT_ID'), env('CLIENT_SECRET'));
  check(token.split('.').length === 3, 'the token is a JWT');
  calls.useToken(token);
  log('token', 'client_credentials grant: 200');

  const key = randomUUID();
  const created = await calls.createItem(`matrix ${generator} ${key}`, key);
  check(created.status === 201, `create answered ${created.status}`);
  const replay = await calls.createItem(`matrix ${generator} ${key}`, key);
  check(replay.status === 201 && replay.body.id === created.body.id, 'the replay returns the same item');
  // A client that returns bodies only (openapi-typescript-codegen) cannot show the header; the same item is
  // the replay all the same.
  check(replay.replayed !== false, 'the replay says Idempotent-Replayed: true');
  const replayed = replay.replayed ? 'Idempotent-Replayed: true' : 'the same item (headers not exposed)';
  log('create + replay', `201 ${created.body.id}, replay 201 ${replayed}`);

  for (let n = 0; n < 4; n++) await calls.createItem(`matrix ${generator} extra ${n}`, randomUUID());
  const all = await calls.listAllItems(2);
  const ids = all.items.map((item) => item.id);
  check(ids.includes(created.body.id), 'listing every page finds the item');
  check(new Set(ids).size === ids.length, 'no item is listed twice');
  check(all.pages >= 3, `pages of 2 for ${ids.length} items: ${all.pages}`);
  log('list every page', `${ids.length} items in ${all.pages} pages of 2`);

  const etag = created.etag;
  check(typeof etag === 'string', 'create answers an ETag');
  const renamed = await calls.renameItem(created.body.id, `renamed ${key}`, etag ?? '');
  check(renamed.status === 200 && renamed.etag !== etag, `PATCH with If-Match answered ${renamed.status}`);
  const stale = await calls.renameItem(created.body.id, `stale ${key}`, etag ?? '');
  check(stale.status === 412, `PATCH with a stale ETag answered ${stale.status}`);
  log('PATCH If-Match', `200 ETag ${etag} -> ${renamed.etag}; stale ETag: 412`);

  const received = new Promise<{ body: string; headers: Record<string, string> }>((resolve) => {
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.writeHead(204).end();
        receiver.close();
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers))
          if (typeof value === 'string') headers[name] = value;
        resolve({ body, headers });
      });
    });
    receiver.listen(0, '127.0.0.1', () => {
      const { port } = receiver.address() as AddressInfo;
      void register(port);
    });
  });
  let endpointSecret = '';
  const register = async (port: number) => {
    const endpoint = await calls.createWebhookEndpoint(`http://127.0.0.1:${port}/hooks`);
    endpointSecret = endpoint.secret;
    const status = await calls.sendTestEvent(endpoint.id);
    check(status === 202, `test event answered ${status}`);
  };
  const delivery = await Promise.race([
    received,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no webhook delivery in 20 s')), 20_000),
    ),
  ]);
  const event = new Webhook(endpointSecret).verify(delivery.body, delivery.headers) as { type: string };
  check(event.type === 'webhook.test', 'the delivery is the test event');
  log('webhook', `delivery ${delivery.headers['webhook-id']} verified with standardwebhooks (${event.type})`);
  log('done', `${Date.now() - started} ms`);
}
