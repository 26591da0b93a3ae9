import type { Scope } from './scopes';

/** Who is calling, resolved once per request from the bearer token and the database. */
export type Principal =
  | {
      kind: 'user';
      id: string;
      role: 'user' | 'admin';
      /** The session the token belongs to; absent for external identity provider tokens. */
      sessionId: string | undefined;
      scopes: ReadonlySet<Scope>;
    }
  | {
      kind: 'client';
      id: string;
      sessionId: string;
      scopes: ReadonlySet<Scope>;
    };
