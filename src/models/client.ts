import type { components } from '../../generated/api';

export type Client = components['schemas']['Client'];
export type ClientWithSecret = components['schemas']['ClientWithSecret'];
