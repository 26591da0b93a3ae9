import type { AuthService } from '../services/auth.service';
import { requestIdOf } from '../utils/request-id';
import { parseBasicClientCredentials } from './basic-auth';
import type { HandlerMap } from './handler-map';

export function createAuthHandlers(deps: {
  auth: AuthService;
}): Pick<HandlerMap, 'registerUser' | 'createToken' | 'revokeToken'> {
  return {
    registerUser: async (req, res) => {
      const user = await deps.auth.register(req.body, requestIdOf(req));
      res.status(201).location(`/v1/users/${user.id}`).json(user);
    },
    createToken: async (req, res) => {
      const tokens = await deps.auth.issueToken(
        req.body,
        parseBasicClientCredentials(req.headers.authorization),
        requestIdOf(req),
      );
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(tokens);
    },
    revokeToken: async (req, res) => {
      await deps.auth.revoke(
        req.body.token,
        parseBasicClientCredentials(req.headers.authorization),
        req.body,
        requestIdOf(req),
      );
      res.set('Cache-Control', 'no-store').status(200).end();
    },
  };
}
