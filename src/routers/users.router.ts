import { requirePrincipal } from '../dependencies/authenticator';
import type { UsersService } from '../services/users.service';
import type { HandlerMap } from './handler-map';

const DEFAULT_PAGE_SIZE = 20;

export function createUsersHandlers(deps: {
  users: UsersService;
}): Pick<
  HandlerMap,
  | 'getCurrentUser'
  | 'updateCurrentUser'
  | 'changeCurrentUserPassword'
  | 'listUsers'
  | 'getUser'
  | 'updateUser'
  | 'deleteUser'
> {
  const { users } = deps;
  return {
    getCurrentUser: async (req, res) => {
      res.json(await users.getCurrent(requirePrincipal(req)));
    },
    updateCurrentUser: async (req, res) => {
      res.json(await users.updateCurrent(requirePrincipal(req), req.body));
    },
    changeCurrentUserPassword: async (req, res) => {
      await users.changePassword(requirePrincipal(req), req.body);
      res.status(204).end();
    },
    listUsers: async (req, res) => {
      const { limit, cursor, ...filters } = req.query;
      res.json(await users.list(filters, limit ?? DEFAULT_PAGE_SIZE, cursor));
    },
    getUser: async (req, res) => {
      res.json(await users.get(req.params.user_id));
    },
    updateUser: async (req, res) => {
      res.json(await users.update(requirePrincipal(req), req.params.user_id, req.body));
    },
    deleteUser: async (req, res) => {
      await users.delete(requirePrincipal(req), req.params.user_id);
      res.status(204).end();
    },
  };
}
