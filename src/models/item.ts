import type { components } from '../../generated/api';

export type Item = components['schemas']['Item'];
export type CreateItemInput = components['schemas']['CreateItemRequest'];
export type ItemMergePatch = components['schemas']['ItemMergePatch'];
export type ItemStatus = components['schemas']['ItemStatus'];
export type ItemSort = 'created_at' | '-created_at' | 'name' | '-name';

export interface ItemListQuery {
  limit: number;
  cursor?: string;
  status?: ItemStatus;
  tag?: string;
  created_after?: string;
  created_before?: string;
  q?: string;
  sort: ItemSort;
  owner_id?: string;
}
