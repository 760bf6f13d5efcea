import http from 'node:http';
import type { DatabaseEngine } from '@restic-manager/protocol';

/**
 * Docker Engine API over its unix socket (read-only calls): `GET /containers/json` lists the
 * running containers, `GET /containers/{id}/json` gives each database container's `Config.Env`
 * (the list does not carry it). API reference: https://docs.docker.com/reference/api/engine/
 * ("Containers" → "List containers", "Inspect a container"). Errors are values.
 */
export type Get = (path: string) => Promise<{ ok: true; status: number; body: unknown } | { ok: false; error: string }>;

export function socketGet(socketPath: string, timeoutMs = 5000): Get {
  return (path) =>
    new Promise((resolve) => {
      const req = http.get({ socketPath, path, headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 8_000_000) text += d;
        });
        res.on('end', () => {
          try {
            resolve({ ok: true, status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
          } catch {
            resolve({ ok: false, error: `GET ${path}: not JSON (status ${res.statusCode ?? '?'})` });
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e) => resolve({ ok: false, error: `${socketPath}: ${e.message}` }));
    });
}

/** A database found in a container. `password_env` names the variable holding it, never its value. */
export interface ContainerDatabase {
  engine: DatabaseEngine;
  container: string;
  container_id: string;
  image: string;
  user: string | null;
  database: string | null;
  password_env: string | null;
  /** Host port published for the server's port, if any. */
  published_port: number | null;
}

const IMAGE_ENGINES: [RegExp, DatabaseEngine][] = [
  [/(^|\/)(postgres|postgis\/postgis|timescale\/timescaledb[\w-]*|bitnami\/postgresql)(:|@|$)/, 'postgres'],
  [/(^|\/)(mariadb|bitnami\/mariadb)(:|@|$)/, 'mariadb'],
  [/(^|\/)(mysql|mysql\/mysql-server|bitnami\/mysql|percona)(:|@|$)/, 'mysql'],
];

export function engineOfImage(image: string): DatabaseEngine | null {
  for (const [re, engine] of IMAGE_ENGINES) if (re.test(image)) return engine;
  return null;
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

function envMap(env: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (!Array.isArray(env)) return m;
  for (const e of env) {
    if (typeof e !== 'string') continue;
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

/** What the image's documented environment says about user, database and password. */
export function fromEnv(engine: DatabaseEngine, env: Map<string, string>): Pick<ContainerDatabase, 'user' | 'database' | 'password_env'> {
  const has = (k: string): string | null => (env.has(k) ? k : null);
  if (engine === 'postgres') {
    const user = env.get('POSTGRES_USER') ?? env.get('POSTGRESQL_USERNAME') ?? 'postgres';
    return { user, database: env.get('POSTGRES_DB') ?? env.get('POSTGRESQL_DATABASE') ?? user, password_env: has('POSTGRES_PASSWORD') ?? has('POSTGRESQL_PASSWORD') };
  }
  const p = engine === 'mariadb' ? 'MARIADB_' : 'MYSQL_';
  const user = env.get(`${p}USER`) ?? env.get('MYSQL_USER') ?? 'root';
  const rootPw = has(`${p}ROOT_PASSWORD`) ?? has('MYSQL_ROOT_PASSWORD');
  const userPw = has(`${p}PASSWORD`) ?? has('MYSQL_PASSWORD');
  return { user: user === 'root' ? 'root' : user, database: env.get(`${p}DATABASE`) ?? env.get('MYSQL_DATABASE') ?? null, password_env: user === 'root' ? rootPw : userPw ?? rootPw };
}

function publishedPort(ports: unknown, engine: DatabaseEngine): number | null {
  const want = engine === 'postgres' ? 5432 : 3306;
  if (!Array.isArray(ports)) return null;
  for (const p of ports) if (isObj(p) && p.PrivatePort === want && typeof p.PublicPort === 'number') return p.PublicPort;
  return null;
}

/**
 * Labels that declare a container's database whatever its image: `restic-manager.engine`
 * (postgres, mariadb, mysql), and optionally `restic-manager.database`, `restic-manager.user`,
 * `restic-manager.password-env` (the name of the container variable holding the password).
 */
export const LABEL = { engine: 'restic-manager.engine', database: 'restic-manager.database', user: 'restic-manager.user', passwordEnv: 'restic-manager.password-env' } as const;
const LABEL_ENGINES: readonly DatabaseEngine[] = ['postgres', 'mariadb', 'mysql'];

/** The string labels of a listed container (`Labels` of `GET /containers/json`). */
export function labelsOf(c: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(c.Labels)) for (const [k, v] of Object.entries(c.Labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A listed container's name (`Names[0]` without its `/`), else its short id. */
export function nameOf(c: Record<string, unknown>): string {
  return (Array.isArray(c.Names) ? c.Names.map(str).find(Boolean) : null)?.replace(/^\//, '') ?? (str(c.Id) ?? '?').slice(0, 12);
}

/** The engine of a listed container: its `restic-manager.engine` label, else its image. */
export function engineOf(c: Record<string, unknown>): DatabaseEngine | null {
  const label = labelsOf(c)[LABEL.engine];
  if (label) return (LABEL_ENGINES as readonly string[]).includes(label) ? (label as DatabaseEngine) : null;
  return engineOfImage(str(c.Image) ?? '');
}

/** Parses the list and inspect bodies into database containers (pure; the fixture test calls it). */
export function parseContainers(list: unknown, inspect: (id: string) => unknown): ContainerDatabase[] {
  if (!Array.isArray(list)) return [];
  const out: ContainerDatabase[] = [];
  for (const c of list) {
    if (!isObj(c)) continue;
    const id = str(c.Id);
    const image = str(c.Image) ?? '';
    const engine = engineOf(c);
    if (!id || !engine) continue;
    const name = nameOf(c);
    const detail = inspect(id);
    const cfg = isObj(detail) && isObj(detail.Config) ? detail.Config : {};
    const env = envMap(cfg.Env);
    const labels = labelsOf(c);
    const guess = fromEnv(engine, env);
    const pwEnv = labels[LABEL.passwordEnv];
    out.push({
      engine, container: name, container_id: id, image,
      user: labels[LABEL.user] ?? guess.user,
      database: labels[LABEL.database] ?? guess.database,
      password_env: pwEnv && env.has(pwEnv) ? pwEnv : guess.password_env,
      published_port: publishedPort(c.Ports, engine),
    });
  }
  return out;
}

/**
 * The Docker socket the agent talks to: RM_AGENT_DOCKER_SOCKET, else DOCKER_HOST when it is a
 * `unix://` address (the docker CLI the dumps run uses the same), else /var/run/docker.sock.
 */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RM_AGENT_DOCKER_SOCKET) return env.RM_AGENT_DOCKER_SOCKET;
  if (env.DOCKER_HOST?.startsWith('unix://')) return env.DOCKER_HOST.slice('unix://'.length);
  return '/var/run/docker.sock';
}

/**
 * The value of variable `name` in a container's configured environment (`GET /containers/{id}/json`,
 * `Config.Env`), for a dump whose password lives there. The value is returned to the caller only;
 * errors name the container and the variable, never a value.
 */
export async function containerEnvValue(get: Get, container: string, name: string): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  const d = await get(`/containers/${encodeURIComponent(container)}/json`);
  if (!d.ok) return { ok: false, error: `cannot read the environment of container ${container}: ${d.error}` };
  if (d.status === 404) return { ok: false, error: `container ${container} does not exist` };
  if (d.status !== 200) return { ok: false, error: `cannot read the environment of container ${container}: GET /containers/{id}/json: status ${d.status}` };
  const cfg = isObj(d.body) && isObj(d.body.Config) ? d.body.Config : {};
  const v = envMap(cfg.Env).get(name);
  if (v === undefined || v === '') return { ok: false, error: `container ${container} has no variable ${name}` };
  return { ok: true, value: v };
}

/** A named volume or bind mount of a running container (`Mounts` of `GET /containers/json`). */
export interface ContainerVolume {
  container: string;
  type: 'volume' | 'bind';
  name: string | null;
  /** The path on the host. */
  source: string;
  destination: string;
  read_only: boolean;
}

/** The volumes and bind mounts of the listed containers (tmpfs and others skipped; pure). */
export function parseVolumes(list: unknown): ContainerVolume[] {
  if (!Array.isArray(list)) return [];
  const out: ContainerVolume[] = [];
  for (const c of list) {
    if (!isObj(c) || !Array.isArray(c.Mounts)) continue;
    const container = nameOf(c);
    for (const m of c.Mounts) {
      if (!isObj(m) || (m.Type !== 'volume' && m.Type !== 'bind')) continue;
      const source = str(m.Source);
      const destination = str(m.Destination);
      if (!source || !destination) continue;
      out.push({ container, type: m.Type, name: m.Type === 'volume' ? str(m.Name) : null, source, destination, read_only: m.RW === false });
    }
  }
  return out;
}

/** Lists running database containers, and every running container's volumes, through the API. */
export async function discoverContainers(get: Get): Promise<{ ok: true; databases: ContainerDatabase[]; volumes: ContainerVolume[] } | { ok: false; error: string }> {
  const list = await get('/containers/json');
  if (!list.ok) return list;
  if (list.status !== 200) return { ok: false, error: `GET /containers/json: status ${list.status}` };
  const details = new Map<string, unknown>();
  for (const c of Array.isArray(list.body) ? list.body : []) {
    if (!isObj(c) || !str(c.Id) || !engineOf(c)) continue;
    const id = c.Id as string;
    const d = await get(`/containers/${encodeURIComponent(id)}/json`);
    if (d.ok && d.status === 200) details.set(id, d.body);
  }
  return { ok: true, databases: parseContainers(list.body, (id) => details.get(id)), volumes: parseVolumes(list.body) };
}

/**
 * A target whose password is the container's variable `password_env`: the same target with
 * `password` filled from the container's environment (an explicit `password` wins). The value
 * goes to the tool's environment only (docker exec -e), like a typed password.
 */
export async function withContainerPassword<T extends { container?: string | undefined; password?: string | undefined; password_env?: string | undefined }>(t: T, get?: Get): Promise<{ ok: true; target: T } | { ok: false; error: string }> {
  if (!t.container || !t.password_env || t.password) return { ok: true, target: t };
  const r = await containerEnvValue(get ?? socketGet(dockerSocketPath()), t.container, t.password_env);
  return r.ok ? { ok: true, target: { ...t, password: r.value } } : r;
}
