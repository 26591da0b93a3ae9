import { requirePrincipal } from '../dependencies/authenticator';
import type { Idempotency } from '../dependencies/idempotency';
import { writeContextOf } from '../dependencies/write-context';
import type { UsersService } from '../services/users.service';
import { etagOf } from '../utils/etag';
import { sendVersioned } from './conditional-get';
import type { HandlerMap } from './handler-map';

export function createUsersHandlers(deps: {
  users: UsersService;
  idempotency: Idempotency;
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
  const { users, idempotency } = deps;
  return {
    getCurrentUser: async (req, res) => {
      sendVersioned(req, res, await users.getCurrent(requirePrincipal(req)));
    },
    getCurrentUserLegacy: async (req, res) => {
      sendVersioned(req, res, await users.getCurrent(requirePrincipal(req)));
    },
    updateCurrentUser: async (req, res) => {
      const user = await users.updateCurrent(req.body, req.get('If-Match'), writeContextOf(req));
      res.set('ETag', etagOf(user.version)).json(user);
    },
    changeCurrentUserPassword: async (req, res) => {
      await users.changePassword(
        req.body,
        idempotency.writeContext(req, () => ({ status: 204, headers: {}, body: null })),
      );
      res.status(204).end();
    },
    listUsers: async (req, res) => {
      const { limit, cursor, ...filters } = req.query;
      res.json(await users.list(filters, limit, cursor));
    },
    getUser: async (req, res) => {
      sendVersioned(req, res, await users.get(req.params.user_id));
    },
    updateUser: async (req, res) => {
      const user = await users.update(req.params.user_id, req.body, req.get('If-Match'), writeContextOf(req));
      res.set('ETag', etagOf(user.version)).json(user);
    },
    deleteUser: async (req, res) => {
      await users.delete(req.params.user_id, req.get('If-Match'), writeContextOf(req));
      res.status(204).end();
    },
  };
}
