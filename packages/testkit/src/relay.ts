import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';

/** A plain TCP relay on 127.0.0.1 that counts the connections clients open through it. */
export interface CountingRelay {
  /** `http://127.0.0.1:<port>`: point the client here. */
  readonly url: string;
  readonly port: number;
  /** Client connections accepted so far. */
  readonly opened: number;
  /** Client connections the client has not closed yet (a FIN from the client counts as closed). */
  readonly open: number;
  /** Stops listening and destroys every relayed connection. */
  close(): Promise<void>;
}

/**
 * Relays raw TCP to `target` (an `http://host:port` URL), byte for byte. It knows nothing of HTTP, so what it counts
 * is what the client really holds open: an idle keep-alive socket in a pool nobody closed shows up as open.
 */
export async function createCountingRelay(target: string): Promise<CountingRelay> {
  const { hostname, port: targetPort } = new URL(target);
  const clients = new Set<Socket>();
  const sockets = new Set<Socket>();
  let opened = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    opened++;
    clients.add(client);
    const gone = () => clients.delete(client);
    client.once('end', gone);
    client.once('close', gone);
    const upstream = connect({ host: hostname, port: Number(targetPort), allowHalfOpen: true });
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // A failure on either side ends the pair, the way a direct connection would fail.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get opened() {
      return opened;
    },
    get open() {
      return clients.size;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      })),
  };
}
