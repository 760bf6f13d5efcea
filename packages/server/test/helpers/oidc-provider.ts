import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/*
 * A real OpenID Provider on loopback (panva's certified oidc-provider) for the OIDC tests: one
 * confidential client with PKCE required, and accounts whose `groups` claim the test can change
 * between sign-ins. Its development interactions accept any password for a known login.
 */

export const CLIENT_ID = 'restic-manager';
export const CLIENT_SECRET = 'client-secret-for-oidc-tests-3f9a2c';

export interface TestAccount {
  groups: string[];
  email?: string;
}

export interface TestProvider {
  issuer: string;
  accounts: Map<string, TestAccount>;
  close(): Promise<void>;
}

/**
 * Starts the provider on 127.0.0.1; `redirectUri` is the one redirect URI the client may use.
 * `host` names it in the issuer ('localhost' makes it a different site from 127.0.0.1).
 */
export async function startProvider(redirectUri: string, accounts: Record<string, TestAccount>, host = '127.0.0.1'): Promise<TestProvider> {
  const map = new Map(Object.entries(accounts));
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri],
      grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    cookies: { keys: ['cookie-key-for-oidc-tests'] },
    ttl: { Grant: 600, Session: 600, Interaction: 600, AccessToken: 300, AuthorizationCode: 60, IdToken: 300 },
    findAccount: (_ctx: unknown, id: string) => {
      const a = map.get(id);
      if (!a) return undefined;
      return { accountId: id, claims: () => ({ sub: id, preferred_username: id, name: id, email: a.email ?? `${id}@example.test`, groups: [...(map.get(id)?.groups ?? [])] }) };
    },
  });
  provider.on('server_error', () => undefined);
  server.on('request', provider.callback());
  return {
    issuer,
    accounts: map,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
