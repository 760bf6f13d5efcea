import { ConfigError, loadConfigFromEnv, startServer } from '@restic-manager/server';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';
import { backupCommand } from '../server-admin/backup.js';
import { recoveryKit } from '../server-admin/recovery-kit.js';
import { restoreCommand } from '../server-admin/restore.js';

export const command: Command = {
  summary: 'Run the control-plane server (configured by RM_* environment variables)',
  help: `Usage: restic-manager server [--print-config]
       restic-manager server backup | restore | recovery-kit [combine] ...   (each has --help)

Runs the restic-manager control plane: REST API, agent WebSocket gateway, web UI.
Configuration comes from the environment (and an optional YAML file):

  RM_LISTEN            bind address, e.g. :8080 or 127.0.0.1:8080 (port 0 = ephemeral)  [:8080]
  RM_DATA_DIR          directory for the database and key file (created 0700)         [required]
  RM_DATABASE_URL      postgres://user:password@host:5432/db: PostgreSQL store  [SQLite in RM_DATA_DIR]
  RM_CLUSTER_URL       several replicas: URL the other replicas reach this one at (downloads);
                       required on 0.0.0.0/:: when replicas share the database  [http://<RM_LISTEN>]
  RM_BASE_URL          public URL agents and browsers use           [http://<bound address>]
  RM_SECRET_KEY_FILE   AES-256 key file, created 0600 on first run      [$RM_DATA_DIR/secret.key]
  RM_TRUSTED_PROXY     comma-separated CIDRs whose X-Forwarded-For is honoured      [none]
  RM_COOKIE_SECURE     mark session cookies Secure (false only for plain-HTTP testing) [true]
  RM_ADMIN_PASSWORD    first-run password of 'admin' (generated and printed once if unset)
  RM_METRICS_TOKEN     bearer token for GET /metrics
  RM_METRICS_ALLOW     CIDRs allowed to scrape /metrics without the token  [127.0.0.0/8,::1/128]
  RM_INSTALL_DIR       directory with install.sh    [the package's install/; in a checkout deploy/install]
  RM_AGENT_TARBALL     agent.tgz served at /install/agent.tgz  [the package's install/agent.tgz;
                       in a checkout packages/agent/pack/agent.tgz]
  RM_LOG_LEVEL         fatal|error|warn|info|debug|trace|silent                      [info]
  RM_OIDC_ISSUER       OIDC provider (Authelia, Keycloak, Authentik) issuer URL; enables SSO  [off]
  RM_OIDC_CLIENT_ID    client id registered at the provider      [required with the issuer]
  RM_OIDC_CLIENT_SECRET  client secret (or RM_OIDC_CLIENT_SECRET_FILE: a file holding it)
  RM_OIDC_SCOPES       scopes requested                                 [openid profile email]
  RM_OIDC_NAME         label of the "Sign in with ..." button                                [SSO]
  RM_OIDC_ROLE_CLAIM   claim listing the user's groups                                    [groups]
  RM_OIDC_ADMIN_GROUPS, RM_OIDC_OPERATOR_GROUPS, RM_OIDC_VIEWER_GROUPS
                       comma-separated groups mapped to each role (highest match wins)
  RM_OIDC_DEFAULT_ROLE role of a user in none of the groups        [none: such users are refused]
  RM_OIDC_ALLOW_PASSWORD_LOGIN  keep the username/password form next to SSO              [true]
                       (the redirect URI to register is <RM_BASE_URL>/auth/oidc/callback)
  RM_CONFIG_FILE       optional YAML file with the same settings in snake_case (listen, data_dir, ...)

On start it prints one line 'restic-manager server listening on <url>' to stderr (logs are JSON
lines on stdout). SIGTERM / SIGINT shut down gracefully: stop accepting, close agent sockets
(1001), flush heartbeats, close the database.

  --print-config   print the resolved configuration as JSON and exit (secrets omitted)

Subcommands (docs/operations.md):
  backup         back up the database and secret key into a restic repository
  restore        rebuild a data directory from such a backup
  recovery-kit   split the secret key into Shamir shares; 'recovery-kit combine' restores it

Exit status:
  0  stopped by SIGTERM/SIGINT after a clean shutdown
  1  start-up failed (data directory in use by another server, port in use, unreadable key
     file, migration error, ...)
  2  invalid configuration (one line names the variable and the problem)`,
  subcommands: { backup: backupCommand, restore: restoreCommand, 'recovery-kit': recoveryKit },
  async run(argv) {
    const unknown = argv.filter((a) => a !== '--print-config');
    if (unknown.length) {
      process.stderr.write(`restic-manager server: unknown argument '${unknown[0]}' (see --help)\n`);
      return EXIT.usage;
    }
    let config;
    try {
      config = loadConfigFromEnv(process.env);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`restic-manager server: ${e.message}\n`);
        return EXIT.usage;
      }
      throw e;
    }
    if (argv.includes('--print-config')) {
      const { adminPassword: _a, metricsToken, oidc, databaseUrl, ...rest } = config;
      const oidcShown = oidc ? { ...oidc, clientSecret: '[set]' } : null;
      const dbShown = databaseUrl ? databaseUrl.replace(/^(\w+:\/\/[^:/@]*):[^@]*@/, '$1:[set]@').replace(/([?&]password=)[^&]*/, '$1[set]') : null;
      process.stdout.write(`${JSON.stringify({ ...rest, databaseUrl: dbShown, metricsToken: metricsToken ? '[set]' : null, oidc: oidcShown }, null, 2)}\n`);
      return EXIT.ok;
    }
    let server;
    try {
      server = await startServer(config);
    } catch (e) {
      // A setting that proves wrong only at start-up (a weak RM_ADMIN_PASSWORD, RM_CLUSTER_URL needed): still exit 2.
      if (e instanceof ConfigError) {
        process.stderr.write(`restic-manager server: ${e.message}\n`);
        return EXIT.usage;
      }
      process.stderr.write(`restic-manager server: start-up failed: ${(e as Error).message}\n`);
      return EXIT.failed;
    }
    if (server.generatedAdminPassword) {
      process.stderr.write(`restic-manager server: created user 'admin' with password: ${server.generatedAdminPassword}\n` + `  (shown once; change it after signing in)\n`);
    }
    const s = server;
    const stopped = new Promise<number>((resolve) => {
      const stop = (sig: string) => {
        process.stderr.write(`restic-manager server: ${sig} received, shutting down\n`);
        s.close().then(
          () => resolve(EXIT.ok),
          (e: unknown) => {
            process.stderr.write(`restic-manager server: shutdown failed: ${(e as Error).message}\n`);
            resolve(EXIT.failed);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    // Handlers first, then the line scripts wait for: a SIGTERM right after it is handled.
    process.stderr.write(`restic-manager server listening on ${server.url}\n`);
    return stopped;
  },
};
