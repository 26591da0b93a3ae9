import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import { limitConcurrency } from '../utils/limit-concurrency';

/** OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane. Runs on the libuv pool, off the event loop. */
// `algorithm: 2` is Argon2id: the package exports the enum as a const enum, which isolated modules cannot read.
const ARGON2_OPTIONS = {
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the time of one verification, so an unknown account answers as slowly as a wrong password. */
  verifyAgainstDummy(password: string): Promise<void>;
  isCommon(password: string): boolean;
}

/**
 * `maxConcurrent` bounds the argon2 computations in flight. Each takes a core for milliseconds; the
 * server leaves one core to the event loop, so a burst of logins queues here instead of stalling
 * every other request. Unbounded when not given (the CLI, tests).
 */
export function createPasswordHasher(options: { maxConcurrent?: number } = {}): PasswordHasher {
  const limited = limitConcurrency(options.maxConcurrent ?? Number.POSITIVE_INFINITY);
  const commonPasswords = new Set(
    dictionary['passwords-common'].filter((word) => word.length >= 8).map((word) => word.toLowerCase()),
  );
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => limited(() => hash(password, ARGON2_OPTIONS)),
    verify: async (passwordHash, password) => {
      try {
        return await limited(() => verify(passwordHash, password));
      } catch {
        return false;
      }
    },
    verifyAgainstDummy: async (password) => {
      dummyHash ??= hash('dummy password for timing equalisation', ARGON2_OPTIONS);
      const known = await dummyHash;
      await limited(() => verify(known, password)).catch(() => false);
    },
    isCommon: (password) => commonPasswords.has(password.toLowerCase()),
  };
}
