import type { components } from '../../generated/api';
import type { OperationQuery } from './operation-query';

export type Item = components['schemas']['Item'];
export type CreateItemInput = components['schemas']['CreateItemRequest'];
export type ItemMergePatch = components['schemas']['ItemMergePatch'];
export type ItemStatus = components['schemas']['ItemStatus'];
export type ItemListQuery = OperationQuery<'listItems'>;
export type ItemSort = ItemListQuery['sort'];
