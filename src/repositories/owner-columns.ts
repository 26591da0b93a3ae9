import type { Knex } from 'knex';
import type { ResourceOwner } from '../models/owner';

/** The owner as `owner_user_id` / `owner_client_id` hold it: exactly one of the two is set. */
export function ownerColumns(owner: ResourceOwner) {
  return 'userId' in owner
    ? { owner_user_id: owner.userId, owner_client_id: null }
    : { owner_user_id: null, owner_client_id: owner.clientId };
}

export function whereOwned(query: Knex.QueryBuilder, owner: ResourceOwner): Knex.QueryBuilder {
  return 'userId' in owner
    ? query.where('owner_user_id', owner.userId)
    : query.where('owner_client_id', owner.clientId);
}
