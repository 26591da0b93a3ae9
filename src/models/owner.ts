import type { Principal } from './principal';

/** Who owns a resource a caller keeps (a webhook endpoint, an API key): exactly one of a user or a partner client. */
export type ResourceOwner = { userId: string } | { clientId: string };

export const ownerOf = (actor: Principal): ResourceOwner =>
  actor.kind === 'user' ? { userId: actor.id } : { clientId: actor.id };
