import type { AuthService } from '../services/auth.service';
import type { RegistrationService } from '../services/registration.service';
import { parseBasicClientCredentials } from '../dependencies/basic-auth';
import type { HandlerMap } from '../dependencies/handler-map';

export function createAuthHandlers(deps: {
  auth: AuthService;
  registration: RegistrationService;
}): Pick<HandlerMap, 'registerUser' | 'createToken' | 'revokeToken' | 'introspectToken'> {
  return {
    registerUser: async (req, context) => {
      const user = await deps.registration.register(req.body, context.anonymousWriteContext());
      return { status: 201, headers: { Location: `/v1/users/${user.id}` }, body: user };
    },
    createToken: async (req, context) => {
      const tokens = await deps.auth.issueToken(
        req.body,
        parseBasicClientCredentials(req.headers.authorization),
        context.anonymousWriteContext(),
      );
      return { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, body: tokens };
    },
    introspectToken: async (req, context) => {
      const answer = await deps.auth.introspect(
        req.body,
        parseBasicClientCredentials(req.headers.authorization),
        context.anonymousWriteContext(),
      );
      return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: answer };
    },
    revokeToken: async (req, context) => {
      await deps.auth.revoke(
        req.body.token,
        parseBasicClientCredentials(req.headers.authorization),
        req.body,
        context.anonymousWriteContext(),
      );
      return { status: 200, headers: { 'Cache-Control': 'no-store' } };
    },
  };
}
