import { loadApiVersions } from '../../src/versions/api-versions';
import { createVersionTranslator } from '../../src/versions/translator';
import type { VersionChange } from '../../src/versions/version-change';

const bundle = (name: string) => [name, { info: { 'x-api-version': name } }] as const;

/** Three versions, two steps: each change tags what it touched, so the order it ran in shows. */
const changes: VersionChange[] = [
  {
    version: '2026-02-01',
    description: 'second',
    requestUp: { createItem: (request) => void (request.body as { trail: string[] }).trail.push('up 02') },
    responseDown: { getItem: (body) => ({ ...body, trail: [...(body.trail as string[]), 'down 02'] }) },
    webhookDown: {
      'item.created': (payload) => ({ ...payload, trail: [...(payload.trail as string[]), 'down 02'] }),
    },
  },
  {
    version: '2026-03-01',
    description: 'third',
    requestUp: { createItem: (request) => void (request.body as { trail: string[] }).trail.push('up 03') },
    responseDown: { getItem: (body) => ({ ...body, trail: [...(body.trail as string[]), 'down 03'] }) },
  },
];

describe('moving between versions', () => {
  const versions = loadApiVersions([bundle('2026-02-01'), bundle('2026-01-01')], '2026-03-01', changes);
  const translator = createVersionTranslator(versions);

  it('when a caller two versions back sends a request, then both changes move it up, oldest first', () => {
    const request = { body: { trail: [] as string[] }, query: {} };
    translator.requestUp('2026-01-01', 'createItem', request);
    expect(request.body.trail).toEqual(['up 02', 'up 03']);
  });

  it('when an answer goes to a caller two versions back, then both changes move it down, newest first; one version back only the newest', () => {
    expect(translator.responseDown('2026-01-01', 'getItem', 200, { trail: [] })).toEqual({
      trail: ['down 03', 'down 02'],
    });
    expect(translator.responseDown('2026-02-01', 'getItem', 200, { trail: [] })).toEqual({
      trail: ['down 03'],
    });
    expect(translator.responseDown('2026-03-01', 'getItem', 200, { trail: [] })).toEqual({ trail: [] });
    expect(translator.webhookDown('2026-01-01', 'item.created', { trail: [] })).toEqual({
      trail: ['down 02'],
    });
  });

  it('when an operation no change touches is answered, then its body is the same object', () => {
    const body = { id: 'x' };
    expect(translator.responseDown('2026-01-01', 'listItems', 200, body)).toBe(body);
  });

  it('when a pin names no supported version, then it is served at the newest version not after it, or the oldest', () => {
    expect(versions.servedAt('2026-02-01')).toBe('2026-02-01');
    expect(versions.servedAt('2026-02-15')).toBe('2026-02-01');
    expect(versions.servedAt('2027-01-01')).toBe('2026-03-01');
    expect(versions.servedAt('2025-01-01')).toBe('2026-01-01');
    expect(versions.get('2026-1-01')).toBeUndefined();
  });

  it("when the changes in code do not match the spec's steps, then loading refuses", () => {
    expect(() =>
      loadApiVersions([bundle('2026-02-01'), bundle('2026-01-01')], '2026-03-01', changes.slice(1)),
    ).toThrow(/do not match the spec's version steps/);
  });
});
