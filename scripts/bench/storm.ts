/** The login storm: GET /v1/users/me at a modest load, alone and then beside 20 concurrent password grants. */
import { drive } from './load';
import { currentUser, passwordGrants, type Fixtures } from './scenarios';

export interface StormResult {
  unloadedP99Ms: number;
  stormP99Ms: number;
  ratio: number;
}

export async function loginStorm(url: string, fixtures: Fixtures, seconds = 5): Promise<StormResult> {
  const probe = currentUser(fixtures, 10);
  const alone = await drive(url, probe, seconds);
  const [beside] = await Promise.all([
    drive(url, probe, seconds),
    drive(url, passwordGrants(fixtures, 20), seconds),
  ]);
  return {
    unloadedP99Ms: alone.latency.p99,
    stormP99Ms: beside.latency.p99,
    ratio: beside.latency.p99 / alone.latency.p99,
  };
}
