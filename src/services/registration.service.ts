import type { User } from '../models/user';
import type { AnonymousWriteContext } from '../infrastructure/unit-of-work';
import type { UserCreation } from './user-creation.service';

export interface RegistrationService {
  /** A new account with the `user` role that signs in with its password; it is its own creator. */
  register(
    input: { email: string; password: string; name: string },
    context: AnonymousWriteContext,
  ): Promise<User>;
}

export function createRegistrationService(deps: { userCreation: UserCreation }): RegistrationService {
  const { userCreation } = deps;
  return {
    async register(input, context) {
      const password = await userCreation.preparePassword(input.password);
      return userCreation.create(
        context,
        { email: input.email, name: input.name, password, role: 'user' },
        { via: 'registration', requestId: context.requestId },
      );
    },
  };
}
