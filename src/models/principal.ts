import type { Scope } from './scopes';
import type { User } from './user';

/** An administrator: a user with the admin role (a partner client never is). */
export function isAdministrator(actor: Principal): boolean {
  return actor.kind === 'user' && actor.role === 'admin';
}

/** Who is calling, resolved once per request from the bearer token or API key and the database. */
export type Principal =
  | {
      kind: 'user';
      id: string;
      role: 'user' | 'admin';
      /** The session the token belongs to; absent for external identity provider tokens. */
      sessionId: string | undefined;
      scopes: ReadonlySet<Scope>;
      /** The account as read together with the session, when it was (spares GET /v1/users/me a query). */
      account?: User;
      /** Set when the request authenticated with one of the user's API keys rather than a token. */
      apiKeyId?: string;
      /** The user's pinned API version; the latest when absent. */
      apiVersion?: string;
    }
  | {
      kind: 'client';
      id: string;
      /** The session the token belongs to; absent when the request used one of the client's API keys. */
      sessionId: string | undefined;
      scopes: ReadonlySet<Scope>;
      apiKeyId?: string;
      /** The client's pinned API version; the latest when absent. */
      apiVersion?: string;
    };
