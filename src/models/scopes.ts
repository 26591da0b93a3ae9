import type { components } from '../../generated/api';

export type Scope = components['schemas']['Scope'];
export type ClientScope = components['schemas']['ClientScope'];
export type UserRole = components['schemas']['UserRole'];

// A record keyed by the spec's Scope enum: adding a scope to the spec without listing it here fails to compile.
const KNOWN_SCOPES: Record<Scope, true> = {
  profile: true,
  'items:read': true,
  'items:write': true,
  'users:read': true,
  'users:write': true,
  'clients:read': true,
  'clients:write': true,
  'audit:read': true,
  'webhooks:read': true,
  'webhooks:write': true,
  'apikeys:read': true,
  'apikeys:write': true,
  'events:read': true,
  'logs:read': true,
};

export const ALL_SCOPES = Object.keys(KNOWN_SCOPES) as Scope[];

export const ROLE_SCOPES: Readonly<Record<UserRole, readonly Scope[]>> = {
  user: [
    'profile',
    'items:read',
    'items:write',
    'webhooks:read',
    'webhooks:write',
    'apikeys:read',
    'apikeys:write',
    'events:read',
    'logs:read',
  ],
  admin: ALL_SCOPES,
};

export function parseScopeList(value: string | undefined): string[] {
  return value ? value.split(' ').filter(Boolean) : [];
}

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}
