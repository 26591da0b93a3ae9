import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

/** A request header that pins one request to the instance with this index instead of the next in turn. */
export const INSTANCE_HEADER = 'x-cluster-instance';
/** The response header naming the index of the instance that answered. */
export const SERVED_BY_HEADER = 'x-served-by';

/**
 * A small HTTP load balancer on loopback, in front of several instances of the API: each request goes to
 * the next instance in turn (or the one named by `X-Cluster-Instance`), and the answer says which one
 * served it (`X-Served-By`). An instance that refuses the connection is skipped, since it cannot have
 * seen the request; one that fails after the request was sent (killed mid-request) answers 502, like a
 * real balancer, because only the client can tell whether retrying is safe. Requests without
 * `X-Forwarded-For` get `forwardedFor` as their client address.
 */
export interface RoundRobinProxy {
  url: string;
  /** Requests forwarded to each instance and not answered yet. */
  inFlight(index: number): number;
  /** Called when a request has been written in full to an instance. */
  onForwarded(listener: (index: number) => void): void;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(options: {
  targets: readonly URL[];
  forwardedFor: string;
}): Promise<RoundRobinProxy> {
  const { targets, forwardedFor } = options;
  const agent = new Agent({ keepAlive: true });
  const inFlight = targets.map(() => 0);
  const listeners: Array<(index: number) => void> = [];
  let next = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, index: number, tries: number) => {
    const target = targets[index]!;
    inFlight[index]! += 1;
    let settled = false;
    const settle = () => {
      if (!settled) inFlight[index]! -= 1;
      settled = true;
    };
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        agent,
        headers: {
          ...withoutHopByHop(req.headers),
          'x-forwarded-for': req.headers['x-forwarded-for'] ?? forwardedFor,
          'content-length': String(body.length),
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode!, { ...answer.headers, [SERVED_BY_HEADER]: String(index) });
        answer.pipe(res);
        answer.on('end', settle);
        answer.on('error', () => {
          settle();
          res.destroy();
        });
      },
    );
    upstream.on('finish', () => listeners.forEach((listener) => listener(index)));
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      settle();
      const pinned = req.headers[INSTANCE_HEADER] !== undefined;
      if (error.code === 'ECONNREFUSED' && !pinned && tries < targets.length) {
        forward(req, res, body, (index + 1) % targets.length, tries + 1);
      } else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain', [SERVED_BY_HEADER]: String(index) });
        res.end(`upstream ${index}: ${error.code ?? error.message}`);
      } else {
        res.destroy();
      }
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const pinned = req.headers[INSTANCE_HEADER];
      const index = pinned === undefined ? next++ % targets.length : Number(pinned);
      forward(req, res, Buffer.concat(chunks), index, 1);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    inFlight: (index) => inFlight[index]!,
    onForwarded: (listener) => listeners.push(listener),
    close: async () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
      await once(server, 'close');
    },
  };
}

function withoutHopByHop(headers: IncomingMessage['headers']): IncomingMessage['headers'] {
  const rest = { ...headers };
  delete rest['transfer-encoding'];
  delete rest.connection;
  return rest;
}
