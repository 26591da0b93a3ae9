import type { components } from '../../generated/api';

export type Scope = components['schemas']['Scope'];
export type ClientScope = components['schemas']['ClientScope'];
export type UserRole = components['schemas']['UserRole'];

export const ALL_SCOPES: readonly Scope[] = [
  'profile',
  'items:read',
  'items:write',
  'users:read',
  'users:write',
  'clients:read',
  'clients:write',
];

export const ROLE_SCOPES: Readonly<Record<UserRole, readonly Scope[]>> = {
  user: ['profile', 'items:read', 'items:write'],
  admin: ALL_SCOPES,
};

export function parseScopeList(value: string | undefined): string[] {
  return value ? value.split(' ').filter(Boolean) : [];
}

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}
