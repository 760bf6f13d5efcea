/**
 * A TCP proxy on 127.0.0.1 between the agent and the server, so a test can cut the agent's
 * connection without touching either process: drop every open socket at once, swallow what the
 * server sends (a command lost in flight), or refuse new connections for a while.
 */
import net from 'node:net';

export interface Proxy {
  port: number;
  /** Destroys every open connection; new ones are accepted. Returns how many sockets were cut. */
  drop(): number;
  /**
   * While on, bytes from the server to the agent are read and thrown away (counted in
   * `swallowed`), as if lost on a dying link; the agent's own frames still reach the server.
   */
  blackhole(on: boolean): void;
  /** Bytes thrown away by `blackhole` so far. */
  swallowed(): number;
  /** While on, new connections are closed at once (the agent keeps retrying). */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startProxy(target: () => number, listenPort = 0): Promise<Proxy> {
  const open = new Set<net.Socket>();
  let hole = false;
  let refusing = false;
  let swallowed = 0;
  const srv = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
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
    upstream.on('data', (d: Buffer) => {
      if (hole) swallowed += d.length;
      else if (!client.write(d)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(listenPort, '127.0.0.1', () => resolve());
  });
  return {
    port: (srv.address() as net.AddressInfo).port,
    drop() {
      const n = open.size;
      for (const s of [...open]) s.destroy();
      open.clear();
      return n;
    },
    blackhole(on) {
      hole = on;
    },
    swallowed: () => swallowed,
    refuse(on) {
      refusing = on;
    },
    close: () => new Promise((r) => {
      for (const s of open) s.destroy();
      srv.close(() => r());
    }),
  };
}
