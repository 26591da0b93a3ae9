import { requirePrincipal } from '../dependencies/authenticator';
import type { ApiKeysService } from '../services/api-keys.service';
import { versioned } from './conditional-get';
import { created, updated, NO_STORE } from './versioned-write';
import type { HandlerMap } from '../dependencies/handler-map';

export function createApiKeysHandlers(deps: {
  apiKeys: ApiKeysService;
}): Pick<
  HandlerMap,
  'createApiKey' | 'listApiKeys' | 'getApiKey' | 'updateApiKey' | 'revokeApiKey' | 'rotateApiKey'
> {
  const { apiKeys } = deps;
  return {
    createApiKey: async (req, context) => {
      const key = await apiKeys.create(req.body, context.writeContext());
      return created(key, `/v1/api-keys/${key.id}`, NO_STORE);
    },
    listApiKeys: async (req) => ({ status: 200, body: await apiKeys.list(requirePrincipal(req), req.query) }),
    getApiKey: async (req) => versioned(req, await apiKeys.get(requirePrincipal(req), req.params.key_id)),
    updateApiKey: async (req, context) =>
      updated(await apiKeys.rename(req.params.key_id, req.body, req.get('If-Match'), context.writeContext())),
    revokeApiKey: async (req, context) => {
      await apiKeys.revoke(req.params.key_id, req.get('If-Match'), context.writeContext());
      return { status: 204 };
    },
    rotateApiKey: async (req, context) => {
      const overlapSeconds = req.query.overlap_seconds;
      const key = await apiKeys.rotate(
        req.params.key_id,
        req.get('If-Match'),
        overlapSeconds === undefined ? undefined : overlapSeconds * 1000,
        context.writeContext(),
      );
      return updated(key, NO_STORE);
    },
  };
}
