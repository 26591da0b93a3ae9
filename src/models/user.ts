import type { components } from '../../generated/api';

export type User = components['schemas']['User'];
export type UserStatus = components['schemas']['UserStatus'];
