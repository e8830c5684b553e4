import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A person the provider signs in, as its claims say them; changed in place between sign-ins. */
export interface ProviderUser {
  email: string;
  name: string;
  groups: string[];
}

export interface OpenIdProvider {
  /** The issuer URL (also where discovery starts). */
  issuer: string;
  /** Registers the client, once the app's address (its redirect URL) is known. */
  register(client: { clientId: string; clientSecret: string; redirectUri: string }): void;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (oidc-provider) on a free loopback port, with its development login and
 * consent pages: any login whose name is in `users` signs in, with any password. PKCE is required
 * of every client. The HTTP server listens first so the app can be configured with the issuer;
 * the provider itself is made when the client registers, with the app's redirect URL.
 */
export async function startOpenIdProvider(users: Record<string, ProviderUser>): Promise<OpenIdProvider> {
  let handle: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
  const server = createServer((request, response) => {
    if (handle) return handle(request, response);
    response.writeHead(503).end('the test provider has no client yet');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    register({ clientId, clientSecret, redirectUri }) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            response_types: ['code'],
            grant_types: ['authorization_code'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
        pkce: { required: () => true },
        // Each key is a scope: `groups` is asked for like email and profile.
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
        cookies: { keys: ['test-provider-cookie-key'] },
        features: { devInteractions: { enabled: true } },
        async findAccount(_ctx: unknown, sub: string) {
          if (!users[sub]) return undefined;
          return {
            accountId: sub,
            // Read at each sign-in: a group changed between two sign-ins shows in the second.
            claims: async () => ({ sub, email_verified: true, ...users[sub] }),
          };
        },
      });
      handle = provider.callback();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
