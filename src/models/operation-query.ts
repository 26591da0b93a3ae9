import type { operations } from '../../generated/api';

/**
 * The query parameters this spec gives a `default`. The validator fills defaults in before any handler
 * runs, so handlers see these as always present; a contract test keeps this list equal to the spec's.
 */
export const DEFAULTED_QUERY_PARAMETERS = ['limit', 'sort'] as const;
type Defaulted = (typeof DEFAULTED_QUERY_PARAMETERS)[number];

type SpecQuery<K extends keyof operations> = NonNullable<operations[K]['parameters']['query']>;

/** An operation's query parameters as a handler receives them: from the generated types, defaults applied. */
export type OperationQuery<K extends keyof operations> = [SpecQuery<K>] extends [never]
  ? never
  : Omit<SpecQuery<K>, Defaulted> & {
      [P in Extract<keyof SpecQuery<K>, Defaulted>]-?: NonNullable<SpecQuery<K>[P]>;
    };
