import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './internal/config';
import type { Lifecycle } from './internal/lifecycle';
import { PROBLEM_TYPES, problemTypeUri, type ProblemKind } from './utils/problem-types';
import { REQUEST_ID_HEADER } from './dependencies/request-id';

export interface RunningServer {
  server: Server;
  url: string;
  /**
   * Drains: readiness turns 503 at once; after the configured delay the listener closes, idle keep-alive
   * connections are closed, and every accepted request is answered (with `Connection: close`) before the
   * promise resolves. Connections still open at the shutdown timeout are cut.
   */
  stop(): Promise<void>;
}

export async function startServer(
  app: Express,
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<RunningServer> {
  const server = createServer(app);
  server.requestTimeout = config.http.requestTimeoutMs;
  server.headersTimeout = config.http.headersTimeoutMs;
  // Longer than typical load balancer idle timeouts so the balancer, not us, closes idle connections.
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(error, socket),
  );
  const connections = trackConnections(server, lifecycle);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://${config.http.host === '0.0.0.0' ? 'localhost' : config.http.host}:${port}`;

  return {
    server,
    url,
    stop: async () => {
      lifecycle.beginDrain();
      if (config.http.shutdownDelayMs > 0) {
        logger.info({ delay_ms: config.http.shutdownDelayMs }, 'shutdown: readiness is 503, waiting');
        await new Promise((resolve) => setTimeout(resolve, config.http.shutdownDelayMs));
      }
      await acceptPendingConnections(server);
      // Not server.close(): since Node 19 it also resets every connection without a request in progress,
      // including those whose first request is on the wire but not parsed yet. The net close only stops
      // accepting and calls back once the last connection has ended.
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      connections.closeIdle();
      const forceTimer = setTimeout(() => {
        logger.warn('shutdown: timeout reached, closing remaining connections');
        server.closeAllConnections();
      }, config.http.shutdownTimeoutMs);
      forceTimer.unref();
      await closed;
      clearTimeout(forceTimer);
    },
  };
}

// Enough loop turns to take every connection a burst left in the backlog, few enough that a client
// that keeps connecting cannot hold the listener open.
const MAX_ACCEPT_TURNS = 100;

/**
 * The kernel completes TCP handshakes before Node accepts them; closing the listener resets those, and the
 * requests their clients already sent are lost. libuv accepts the whole backlog each time the event loop
 * polls, so the listener closes after a loop turn in which no connection arrived.
 */
async function acceptPendingConnections(server: Server): Promise<void> {
  for (let turn = 0; turn < MAX_ACCEPT_TURNS; turn += 1) {
    let accepted = false;
    const onConnection = () => {
      accepted = true;
    };
    server.on('connection', onConnection);
    // A timer, then an immediate: the event loop polls for I/O (and accepts) between the two.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setImmediate(resolve));
    server.off('connection', onConnection);
    if (!accepted) return;
  }
}

/** Knows which connections carry a request, so a drain closes only those that are really idle. */
function trackConnections(server: Server, lifecycle: Lifecycle): { closeIdle(): void } {
  const inFlight = new Map<Socket, number>();
  const served = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    served.add(socket);
    if (lifecycle.draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      const remaining = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, remaining);
      if (lifecycle.draining && remaining === 0) socket.end();
    });
  });
  return {
    // A connection that has not carried a request yet may have one on the wire, unread: it stays open,
    // gets its answer with `Connection: close`, and the shutdown timeout bounds one that never speaks.
    closeIdle() {
      for (const [socket, requests] of inFlight) if (requests === 0 && served.has(socket)) socket.end();
    },
  };
}

/** Node's HTTP parser refuses some requests before Express sees them; answer those with a problem too. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const kind: ProblemKind =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'headers-too-large'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request-timeout'
        : 'validation-error';
  const { status, title } = PROBLEM_TYPES[kind];
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: problemTypeUri(kind),
    title,
    status,
    detail:
      kind === 'validation-error'
        ? 'The request is not valid HTTP/1.1 (for example a control character in a header value).'
        : kind === 'headers-too-large'
          ? 'The request headers exceed 16 KiB.'
          : 'The request did not arrive in time.',
    instance: '/',
    request_id: requestId,
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
