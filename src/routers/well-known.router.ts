import type { components } from '../../generated/api';
import type { SigningKeys } from '../infrastructure/signing-keys';
import type { AuthConfig } from '../internal/config';
import { ALL_SCOPES } from '../models/scopes';
import type { HandlerMap } from '../dependencies/handler-map';
import { CLIENT_ASSERTION_ALGORITHMS } from '../services/token-grants/client-assertion';

export function createWellKnownHandlers(deps: {
  keys: SigningKeys;
  auth: Pick<AuthConfig, 'issuer'>;
  publicBaseUrl: string;
}): Pick<HandlerMap, 'getJwks' | 'getAuthorizationServerMetadata'> {
  const metadata: components['schemas']['AuthorizationServerMetadata'] = {
    issuer: deps.auth.issuer,
    token_endpoint: `${deps.publicBaseUrl}/v1/auth/token`,
    revocation_endpoint: `${deps.publicBaseUrl}/v1/auth/revoke`,
    introspection_endpoint: `${deps.publicBaseUrl}/v1/auth/introspect`,
    introspection_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ],
    jwks_uri: `${deps.publicBaseUrl}/.well-known/jwks.json`,
    response_types_supported: [],
    grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    scopes_supported: [...ALL_SCOPES],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGORITHMS],
    revocation_endpoint_auth_methods_supported: [
      'none',
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ],
  };
  return {
    getJwks: () => ({
      status: 200,
      headers: { 'Cache-Control': 'public, max-age=300' },
      body: deps.keys.jwks,
    }),
    getAuthorizationServerMetadata: () => ({
      status: 200,
      headers: { 'Cache-Control': 'public, max-age=3600' },
      body: metadata,
    }),
  };
}
