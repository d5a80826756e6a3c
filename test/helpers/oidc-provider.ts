//! A real OpenID provider (the oidc-provider package) on 127.0.0.1 for end-to-end tests: discovery,
//! keys, authorization code flow with its development login and consent pages, client credentials,
//! token introspection and revocation. Every request it gets is counted by path.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface TestClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly redirect_uris?: string[];
  readonly post_logout_redirect_uris?: string[];
  readonly grant_types?: string[];
  readonly response_types?: string[];
  readonly scope?: string;
}

export interface TestProvider {
  readonly issuer: string;
  readonly provider: Provider;
  /** Requests received, by path (without query). */
  readonly hits: Map<string, number>;
  hitsOf(path: string): number;
  /** While true, every request gets its connection cut: the provider is "down" without freeing its port. */
  down: boolean;
  close(): Promise<void>;
}

export const USERS: Readonly<Record<string, { name: string; email: string }>> = {
  alice: { name: 'Alice Liddell', email: 'alice@example.test' },
  bob: { name: 'Bob', email: 'bob@example.test' },
};

export async function startProvider(clients: readonly TestClient[], port = 0): Promise<TestProvider> {
  const hits = new Map<string, number>();
  const state = { down: false };
  let handler: http.RequestListener = () => undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (state.down) {
      req.socket.destroy();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ grant_types: [], response_types: [], redirect_uris: [], ...c })),
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-provider-cookie-key'] },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, name: USERS[id]?.name ?? id, email: USERS[id]?.email ?? `${id}@example.test` }),
    }),
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    // Scope claims in the ID token itself, as many providers send them; windrose reads the ID token, not userinfo.
    conformIdTokenClaims: false,
    scopes: ['openid', 'email', 'profile', 'orders:read', 'orders:write'],
    features: { introspection: { enabled: true }, clientCredentials: { enabled: true }, revocation: { enabled: true } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
  });
  handler = provider.callback();
  return {
    issuer, provider, hits,
    hitsOf: (path) => hits.get(path) ?? 0,
    get down() { return state.down; },
    set down(v: boolean) { state.down = v; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** An access token for `client` from the client credentials grant, over HTTP as any client would get it. */
export async function clientCredentialsToken(issuer: string, client: TestClient, scope: string): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const body = await res.json() as { access_token?: string; error?: string };
  if (body.access_token === undefined) throw new Error(`client credentials grant failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function revokeToken(issuer: string, client: TestClient, token: string): Promise<void> {
  const res = await fetch(`${issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
  });
  if (res.status !== 200) throw new Error(`revocation failed: ${res.status}`);
}

/** An access token for user `accountId`, issued through the provider's own models as its login flow would. */
export async function userAccessToken(p: TestProvider, clientID: string, accountId: string, scope: string): Promise<string> {
  const { provider } = p;
  const client = await provider.Client.find(clientID);
  const grant = new provider.Grant({ accountId, clientId: clientID });
  grant.addOIDCScope('openid');
  const grantId = await grant.save();
  const token = new provider.AccessToken({ accountId, client, grantId, scope, gty: 'authorization_code' });
  return token.save();
}
