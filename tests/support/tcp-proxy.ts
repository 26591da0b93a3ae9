import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy a test can break: `blackHole()` drops every byte in both directions while keeping
 * the connections open (a network that silently loses packets: one side closing is not heard by the other
 * until `heal()`), `slow(ms)` holds every byte for `ms` in
 * each direction (a round trip of twice that, in order), `refuse()` resets every connection and each new
 * one (a database that is down), `heal()` forwards again (bytes already held still arrive, in order).
 */
export interface TcpProxy {
  port: number;
  blackHole(): void;
  slow(delayMsEachWay: number): void;
  refuse(): void;
  heal(): void;
  close(): Promise<void>;
}

type Mode =
  { kind: 'forward' } | { kind: 'black-hole' } | { kind: 'slow'; delayMs: number } | { kind: 'refuse' };

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: Mode = { kind: 'forward' };
  const pairs = new Set<[Socket, Socket]>();
  // Pairs one side of which closed in a black hole: the other side learns of it when the network is back.
  const severed = new Set<[Socket, Socket]>();
  const timers = new Set<NodeJS.Timeout>();

  /** Forwards `from` to `to` as the mode says; a byte held back leaves after those before it. */
  const forward = (from: Socket, to: Socket) => {
    const held: Array<{ chunk: Buffer; due: number }> = [];
    let timer: NodeJS.Timeout | undefined;
    const release = () => {
      if (timer) timers.delete(timer);
      timer = undefined;
      const now = performance.now();
      while (held.length > 0 && held[0]!.due <= now) {
        const { chunk } = held.shift()!;
        if (mode.kind !== 'black-hole' && to.writable) to.write(chunk);
      }
      if (held.length > 0) {
        timer = setTimeout(release, held[0]!.due - now);
        timers.add(timer);
      }
    };
    from.on('data', (chunk: Buffer) => {
      if (mode.kind === 'black-hole' || mode.kind === 'refuse') return;
      const delayMs = mode.kind === 'slow' ? mode.delayMs : 0;
      if (delayMs === 0 && held.length === 0) {
        to.write(chunk);
        return;
      }
      held.push({ chunk, due: Math.max(performance.now() + delayMs, held.at(-1)?.due ?? 0) });
      if (!timer) {
        timer = setTimeout(release, held[0]!.due - performance.now());
        timers.add(timer);
      }
    });
  };

  const server: Server = createServer((client) => {
    if (mode.kind === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      if (mode.kind === 'black-hole') {
        severed.add(pair);
        return;
      }
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    blackHole: () => {
      mode = { kind: 'black-hole' };
    },
    slow: (delayMs) => {
      mode = { kind: 'slow', delayMs };
    },
    refuse: () => {
      mode = { kind: 'refuse' };
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
    },
    heal: () => {
      mode = { kind: 'forward' };
      for (const pair of severed) {
        pairs.delete(pair);
        for (const socket of pair) socket.destroy();
      }
      severed.clear();
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      server.close();
      await once(server, 'close');
    },
  };
}
