import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './internal/config';

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops accepting connections, lets in-flight requests finish for up to the shutdown timeout, then cuts the rest. */
  stop(): Promise<void>;
}

export async function startServer(app: Express, config: Config, logger: Logger): Promise<RunningServer> {
  const server = createServer(app);
  server.requestTimeout = config.http.requestTimeoutMs;
  server.headersTimeout = config.http.headersTimeoutMs;
  // Longer than typical load balancer idle timeouts so the balancer, not us, closes idle connections.
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;

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
    stop: () =>
      new Promise<void>((resolve) => {
        const forceTimer = setTimeout(() => {
          logger.warn('shutdown: timeout reached, closing remaining connections');
          server.closeAllConnections();
        }, config.http.shutdownTimeoutMs);
        forceTimer.unref();
        server.close(() => {
          clearTimeout(forceTimer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
