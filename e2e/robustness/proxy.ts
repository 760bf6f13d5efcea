/**
 * A TCP proxy on 127.0.0.1 between the agent and the server, so the harness can drop the
 * agent's connection (every open socket destroyed at once) without touching either process.
 */
import net from 'node:net';

export interface Proxy {
  port: number;
  /** Destroys every open connection; new ones are accepted. Resolves with how many were cut. */
  drop(): number;
  close(): Promise<void>;
}

export async function startProxy(target: () => number): Promise<Proxy> {
  const open = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const upstream = net.connect(target(), '127.0.0.1');
    open.add(client);
    open.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (srv.address() as net.AddressInfo).port,
    drop() {
      const n = open.size;
      for (const s of [...open]) s.destroy();
      open.clear();
      return n;
    },
    close: () => new Promise((r) => {
      for (const s of open) s.destroy();
      srv.close(() => r());
    }),
  };
}
