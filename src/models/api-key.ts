import type { components } from '../../generated/api';
import type { OperationQuery } from './operation-query';

export type ApiKey = components['schemas']['ApiKey'];
export type ApiKeyWithSecret = components['schemas']['ApiKeyWithSecret'];
export type ApiKeyScope = components['schemas']['ApiKeyScope'];
export type CreateApiKeyInput = components['schemas']['CreateApiKeyRequest'];
export type ApiKeyMergePatch = components['schemas']['ApiKeyMergePatch'];
export type ApiKeyListQuery = OperationQuery<'listApiKeys'>;
