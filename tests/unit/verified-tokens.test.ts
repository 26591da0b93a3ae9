import { createVerifiedTokens } from '../../src/dependencies/verified-tokens';

describe('verified access tokens', () => {
  const claims = (exp: number) => ({ sub: 'user', exp });

  it('when a token is stored, then it is found until the second its exp names, and not from then on', () => {
    let now = 1_000_000;
    const tokens = createVerifiedTokens<{ sub: string; exp: number }>({ maxEntries: 10, now: () => now });
    tokens.set('token', claims(1_010));

    now = 1_009_999;
    expect(tokens.get('token')).toEqual(claims(1_010));
    now = 1_010_000;
    expect(tokens.get('token')).toBeUndefined();
    expect(tokens.size).toBe(0);
  });

  it('when a token is already expired or has no exp, then it is not stored', () => {
    const tokens = createVerifiedTokens<{ sub: string; exp?: number }>({ maxEntries: 10, now: () => 5_000 });
    tokens.set('expired', claims(5));
    tokens.set('no exp', { sub: 'user' });

    expect(tokens.size).toBe(0);
  });

  it('when more tokens are stored than the bound, then the oldest are dropped and the size stays at the bound', () => {
    const tokens = createVerifiedTokens<{ sub: string; exp: number }>({ maxEntries: 3, now: () => 0 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) tokens.set(name, claims(60));

    expect(tokens.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((name) => tokens.get(name) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
