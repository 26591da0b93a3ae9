/** Seeds the bench database through the project's CLI and signs in through the API for tokens. */
import { execFileSync } from 'node:child_process';
import type { Fixtures } from './scenarios';

export const OWNER_EMAIL = 'bench-owner@example.com';
export const seededEmail = (n: number) => `seed-user-${n}@example.com`;

/** `cli seed`: 100,000 items for the owner, 10,000 users; all with one password. */
export function seed(options: { node: string; env: NodeJS.ProcessEnv; items: number; users: number }): void {
  execFileSync(
    options.node,
    [
      'dist/src/cli.js',
      'seed',
      '--items',
      String(options.items),
      '--users',
      String(options.users),
      '--email',
      OWNER_EMAIL,
    ],
    { env: options.env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

async function tokenGrant(base: string, form: Record<string, string>) {
  const res = await fetch(`${base}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  if (res.status !== 200) throw new Error(`token grant answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

export async function signIn(base: string, email: string, password: string) {
  return tokenGrant(base, { grant_type: 'password', username: email, password });
}

export async function collectFixtures(base: string, password: string, users: number): Promise<Fixtures> {
  const emails = Array.from({ length: Math.min(users, 1000) }, (_, n) => seededEmail(n));
  const grants = [];
  for (const email of emails.slice(0, 100)) grants.push(await signIn(base, email, password));
  const owner = await signIn(base, OWNER_EMAIL, password);
  const ids: string[] = [];
  let cursor: string | null = null;
  while (ids.length < 1000) {
    const page = await fetch(`${base}/v1/items?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${owner.access_token}` },
    });
    const body = (await page.json()) as { data: Array<{ id: string }>; next_cursor: string | null };
    ids.push(...body.data.map((item) => item.id));
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
  }
  return {
    password,
    userTokens: grants.slice(0, 50).map((grant) => grant.access_token),
    ownerToken: owner.access_token,
    itemIds: ids,
    emails,
    refreshTokens: grants.map((grant) => grant.refresh_token),
  };
}
