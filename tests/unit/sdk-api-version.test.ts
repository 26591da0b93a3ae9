import bundle from '../../generated/openapi.json';
import { API_VERSION, createPartnerApiClient } from '../../sdk';

/** A fetch that answers 200 `{}` and remembers the Api-Version of every request it was given. */
function recordingFetch() {
  const sent: Array<string | null> = [];
  const fetch = (request: Request) => {
    sent.push(request.headers.get('Api-Version'));
    return Promise.resolve(Response.json({}));
  };
  return { fetch, sent };
}

describe('the SDK names its API version', () => {
  it('when a client is created with defaults, then every request sends the x-api-version of the spec it was generated from', async () => {
    const { fetch, sent } = recordingFetch();
    const api = createPartnerApiClient({ baseUrl: 'http://api.test', fetch });
    await api.GET('/health/live');
    await api.GET('/v1/items');
    expect(API_VERSION).toBe(bundle.info['x-api-version']);
    expect(sent).toEqual([API_VERSION, API_VERSION]);
  });

  it('when the client or a request names another version, then that one is sent; null sends none', async () => {
    const { fetch, sent } = recordingFetch();
    const older = createPartnerApiClient({ baseUrl: 'http://api.test', fetch, apiVersion: '2026-11-30' });
    await older.GET('/health/live');
    await older.GET('/health/live', { headers: { 'Api-Version': '2026-12-07' } });
    await createPartnerApiClient({ baseUrl: 'http://api.test', fetch, apiVersion: null }).GET('/health/live');
    expect(sent).toEqual(['2026-11-30', '2026-12-07', null]);
  });
});
