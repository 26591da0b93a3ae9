import { randomBytes, randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createWebhookSender } from '../../src/webhooks/webhook-sender';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver on a loopback port of its own; the test closes it in `finally`. */
async function startReceiver(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
  host = '127.0.0.1',
) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ path: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${host}:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const loopback = { allowLoopbackHttp: true };

describe('sending one webhook delivery', () => {
  it('when the receiver answers 204, then each of the rotating secrets verifies the delivery with standardwebhooks', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    try {
      const [current, previous] = [newSecret(), newSecret()];
      const id = `msg_${randomUUID()}`;
      const payload = { type: 'item.created', data: { id: randomUUID(), name: 'Zoë ✓' } };
      const send = createWebhookSender({ policy: loopback });

      const result = await send({
        url: `${receiver.url}/hooks`,
        secrets: [current, previous],
        id,
        payload,
      });

      expect(result).toMatchObject({ ok: true, status: 204, responseExcerpt: '' });
      const [delivery] = receiver.received;
      expect(delivery!.headers['content-type']).toBe('application/json');
      expect(delivery!.headers['webhook-id']).toBe(id);
      expect(String(delivery!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      const headers = delivery!.headers as Record<string, string>;
      expect(new Webhook(current).verify(delivery!.body, headers)).toEqual(payload);
      expect(new Webhook(previous).verify(delivery!.body, headers)).toEqual(payload);
      expect(() => new Webhook(newSecret()).verify(delivery!.body, headers)).toThrow('No matching signature');
    } finally {
      await receiver.close();
    }
  });

  it('when the receiver answers 500, then the attempt is not ok and keeps the status and body excerpt', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(500).end('database down'));
    try {
      const send = createWebhookSender({ policy: loopback });

      const result = await send({ url: receiver.url, secrets: [newSecret()], id: randomUUID(), payload: {} });

      expect(result).toMatchObject({
        ok: false,
        status: 500,
        failure: 'status',
        responseExcerpt: 'database down',
      });
    } finally {
      await receiver.close();
    }
  });

  it('when the receiver redirects, then the attempt fails and the Location is never fetched', async () => {
    const receiver = await startReceiver((req, res) => {
      if (req.url === '/hooks') res.writeHead(302, { location: '/elsewhere' }).end();
      else res.writeHead(200).end();
    });
    try {
      const send = createWebhookSender({ policy: loopback });

      const result = await send({
        url: `${receiver.url}/hooks`,
        secrets: [newSecret()],
        id: randomUUID(),
        payload: {},
      });

      expect(result).toMatchObject({ ok: false, status: 302, failure: 'redirect' });
      expect(receiver.received.map((r) => r.path)).toEqual(['/hooks']);
    } finally {
      await receiver.close();
    }
  });

  it('when the receiver never answers, then the attempt ends with a timeout error', async () => {
    const receiver = await startReceiver(() => undefined);
    try {
      const send = createWebhookSender({ policy: loopback, timeoutMs: 150 });

      const result = await send({ url: receiver.url, secrets: [newSecret()], id: randomUUID(), payload: {} });

      expect(result).toMatchObject({ ok: false, status: null, failure: 'timeout' });
      expect(result.durationMs).toBeGreaterThanOrEqual(140);
    } finally {
      await receiver.close();
    }
  });

  it('when the host name never resolves, then the attempt ends with a timeout error', async () => {
    const resolve = () => new Promise<never>(() => undefined);
    const send = createWebhookSender({ timeoutMs: 100, policy: { resolve } });

    const result = await send({
      url: 'https://hooks.example.com/in',
      secrets: [newSecret()],
      id: randomUUID(),
      payload: {},
    });

    expect(result).toMatchObject({ ok: false, status: null, failure: 'timeout' });
  });

  it('when the response body is large, then only the first bytes are kept', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end('x'.repeat(5 * 1024 * 1024)));
    try {
      const send = createWebhookSender({ policy: loopback, maxResponseBytes: 4096 });

      const result = await send({ url: receiver.url, secrets: [newSecret()], id: randomUUID(), payload: {} });

      expect(result).toMatchObject({ ok: true, status: 200 });
      expect(result.responseExcerpt).toBe('x'.repeat(4096));
    } finally {
      await receiver.close();
    }
  });

  it('when the policy refuses the URL, then nothing is sent', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    try {
      const send = createWebhookSender();

      const result = await send({ url: receiver.url, secrets: [newSecret()], id: randomUUID(), payload: {} });

      expect(result).toMatchObject({ ok: false, status: null, failure: 'target-refused' });
      expect(receiver.received).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });

  it('when the host resolved to a checked address, then the connection goes to that address and not to a fresh lookup', async () => {
    // The system resolver says localhost is 127.0.0.1; the receiver only listens on 127.0.0.2, so the
    // delivery arrives only if the sender connects to the address the policy checked.
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end(), '127.0.0.2');
    try {
      const resolve = () => Promise.resolve([{ address: '127.0.0.2', family: 4 as const }]);
      const send = createWebhookSender({ policy: { allowLoopbackHttp: true, resolve } });

      const result = await send({
        url: `http://localhost:${receiver.port}/hooks`,
        secrets: [newSecret()],
        id: randomUUID(),
        payload: {},
      });

      expect(result).toMatchObject({ ok: true, status: 204 });
      expect(receiver.received[0]!.headers.host).toBe(`localhost:${receiver.port}`);
    } finally {
      await receiver.close();
    }
  });
});
