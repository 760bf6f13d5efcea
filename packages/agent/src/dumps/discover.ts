import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { DatabaseEngine } from '@restic-manager/protocol';
import { discoverContainers, dockerSocketPath, socketGet } from './docker.js';
import type { ContainerDatabase, ContainerVolume, Get } from './docker.js';

/** A database server found on this host (not in a container). */
export interface LocalDatabase {
  engine: DatabaseEngine;
  /** How it was found: a unix socket path or `127.0.0.1:<port>`. */
  via: string;
  /** Value for DatabaseTarget.host: the socket directory (postgres), socket file (mariadb) or 127.0.0.1. */
  host: string;
  port: number;
}

export interface Discovery {
  local: LocalDatabase[];
  containers: ContainerDatabase[];
  /** Why Docker discovery found nothing (no socket, permission, API error); null when it ran. */
  docker_error: string | null;
  /** Named volumes and bind mounts of running containers (paths on this host). */
  volumes: ContainerVolume[];
}

export interface DiscoverOptions {
  dockerSocket?: string;
  /** Directories holding the PostgreSQL socket `.s.PGSQL.<port>` (Debian: /var/run/postgresql). */
  pgSocketDirs?: string[];
  mysqlSockets?: string[];
  pgPorts?: number[];
  mysqlPorts?: number[];
  /** Test hook: replaces the Docker API client. */
  dockerGet?: Get;
}

function tcpOpen(port: number, host = '127.0.0.1', ms = 700): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Finds PostgreSQL and MariaDB/MySQL servers: unix sockets in their default places, servers on
 * the default loopback ports, and database containers through the Docker Engine API. Probes
 * only (a socket file check, a TCP connect); it never logs in. Never throws.
 */
export async function discoverDatabases(o: DiscoverOptions = {}): Promise<Discovery> {
  const local: LocalDatabase[] = [];
  const pgPorts = o.pgPorts ?? [5432];
  const seen = new Set<string>();
  const add = (d: LocalDatabase): void => {
    const key = `${d.engine}:${d.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    local.push(d);
  };
  for (const dir of o.pgSocketDirs ?? ['/var/run/postgresql', '/run/postgresql', '/tmp']) {
    for (const port of pgPorts) {
      const sock = path.join(dir, `.s.PGSQL.${port}`);
      if (existsSync(sock)) add({ engine: 'postgres', via: sock, host: dir, port });
    }
  }
  for (const sock of o.mysqlSockets ?? ['/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock', '/var/lib/mysql/mysql.sock', '/tmp/mysql.sock']) {
    if (existsSync(sock)) add({ engine: 'mariadb', via: sock, host: sock, port: 3306 });
  }
  for (const port of pgPorts) if (await tcpOpen(port)) add({ engine: 'postgres', via: `127.0.0.1:${port}`, host: '127.0.0.1', port });
  for (const port of o.mysqlPorts ?? [3306]) if (await tcpOpen(port)) add({ engine: 'mariadb', via: `127.0.0.1:${port}`, host: '127.0.0.1', port });

  const socket = o.dockerSocket ?? dockerSocketPath();
  if (!o.dockerGet && !existsSync(socket)) return { local, containers: [], volumes: [], docker_error: `${socket} does not exist (no Docker engine here)` };
  const r = await discoverContainers(o.dockerGet ?? socketGet(socket));
  return r.ok ? { local, containers: r.databases, volumes: r.volumes, docker_error: null } : { local, containers: [], volumes: [], docker_error: r.error };
}
