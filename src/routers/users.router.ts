import { requirePrincipal } from '../dependencies/authenticator';
import type { UsersService } from '../services/users.service';
import { versioned } from './conditional-get';
import { updated } from './versioned-write';
import type { HandlerMap } from '../dependencies/handler-map';

export function createUsersHandlers(deps: {
  users: UsersService;
}): Pick<
  HandlerMap,
  | 'getCurrentUser'
  | 'getCurrentUserLegacy'
  | 'updateCurrentUser'
  | 'changeCurrentUserPassword'
  | 'listUsers'
  | 'getUser'
  | 'updateUser'
  | 'deleteUser'
> {
  const { users } = deps;
  return {
    getCurrentUser: async (req) => versioned(req, await users.getCurrent(requirePrincipal(req))),
    getCurrentUserLegacy: async (req) => versioned(req, await users.getCurrent(requirePrincipal(req))),
    updateCurrentUser: async (req, context) => {
      const user = await users.updateCurrent(req.body, req.get('If-Match'), context.writeContext());
      return updated(user);
    },
    changeCurrentUserPassword: async (req, context) => {
      await users.changePassword(req.body, context.writeContext());
      return { status: 204 };
    },
    listUsers: async (req) => {
      const { limit, cursor, ...filters } = req.query;
      return { status: 200, body: await users.list(filters, limit, cursor) };
    },
    getUser: async (req) => versioned(req, await users.get(req.params.user_id)),
    updateUser: async (req, context) => {
      const user = await users.update(
        req.params.user_id,
        req.body,
        req.get('If-Match'),
        context.writeContext(),
      );
      return updated(user);
    },
    deleteUser: async (req, context) => {
      await users.delete(req.params.user_id, req.get('If-Match'), context.writeContext());
      return { status: 204 };
    },
  };
}
