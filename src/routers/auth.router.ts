import type { AuthService } from '../services/auth.service';
import { requestIdOf } from '../dependencies/request-id';
import { parseBasicClientCredentials } from '../dependencies/basic-auth';
import type { HandlerMap } from '../dependencies/handler-map';

export function createAuthHandlers(deps: {
  auth: AuthService;
}): Pick<HandlerMap, 'registerUser' | 'createToken' | 'revokeToken'> {
  return {
    registerUser: async (req, context) => {
      const user = await deps.auth.register(req.body, context.unit, requestIdOf(req));
      return { status: 201, headers: { Location: `/v1/users/${user.id}` }, body: user };
    },
    createToken: async (req, context) => {
      const tokens = await deps.auth.issueToken(
        req.body,
        parseBasicClientCredentials(req.headers.authorization),
        context.unit,
        requestIdOf(req),
      );
      return { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, body: tokens };
    },
    revokeToken: async (req, context) => {
      await deps.auth.revoke(
        req.body.token,
        parseBasicClientCredentials(req.headers.authorization),
        req.body,
        context.unit,
        requestIdOf(req),
      );
      return { status: 200, headers: { 'Cache-Control': 'no-store' } };
    },
  };
}
