import { EXIT, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { discoverDatabases } from '../dumps/discover.js';
import type { Discovery } from '../dumps/discover.js';

function text(d: Discovery): string {
  const lines: string[] = [];
  for (const l of d.local) lines.push(`local      ${l.engine.padEnd(9)} ${l.via}`);
  for (const c of d.containers) {
    const what = [c.user ? `user ${c.user}` : null, c.database ? `database ${c.database}` : null, c.password_env ? `password in $${c.password_env}` : 'no password variable'].filter(Boolean).join(', ');
    lines.push(`container  ${c.engine.padEnd(9)} ${c.container} (${c.image}): ${what}`);
  }
  if (lines.length === 0) lines.push('no databases found');
  if (d.docker_error) lines.push(`docker: ${d.docker_error}`);
  return lines.join('\n') + '\n';
}

export const command: AgentCommand = {
  summary: 'list PostgreSQL and MariaDB/MySQL servers on this host and in Docker containers',
  help: `Usage: restic-manager-agent discover-databases [--json] [--docker-socket PATH]

Looks for database servers to dump (docs/databases.md): PostgreSQL and MariaDB/MySQL unix
sockets in their default places, servers on 127.0.0.1:5432 and :3306, and running containers
whose image is postgres, mariadb or mysql (Docker Engine API on the socket: GET /containers/json
and GET /containers/{id}/json). It only probes: it never logs in to a database, and it prints
the NAME of the variable holding a container's password, never its value.

Flags:
  --json                 one JSON object: {"local":[...],"containers":[...],"docker_error"}
  --docker-socket PATH   Docker Engine socket (default /var/run/docker.sock)

Exit status: 0 when the search ran (also when it found nothing), 2 on a usage error.`,
  async run(argv) {
    const f = parseFlags(argv, { bools: ['json'], values: ['docker-socket'] });
    const d = await discoverDatabases(typeof f['docker-socket'] === 'string' ? { dockerSocket: f['docker-socket'] } : {});
    process.stdout.write(f.json ? JSON.stringify(d) + '\n' : text(d));
    return EXIT.ok;
  },
};
