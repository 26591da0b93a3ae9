import type { VersionChange } from '../version-change';
import { itemOwnerObject } from './2026-12-07-item-owner';

/** Every version step in code, one per openapi/versions/*.yaml overlay, oldest first. */
export const VERSION_CHANGES: readonly VersionChange[] = [itemOwnerObject];
