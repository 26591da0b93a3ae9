import type { components } from '../../generated/api';

export type Client = components['schemas']['Client'];
export type ClientWithSecret = components['schemas']['ClientWithSecret'];
export type ClientJwks = components['schemas']['ClientJwks'];
export type TokenEndpointAuthMethod = components['schemas']['TokenEndpointAuthMethod'];
