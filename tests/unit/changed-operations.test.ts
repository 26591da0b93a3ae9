import { readFileSync } from 'node:fs';
import { changedOperations } from '../../scripts/versions/changed-operations';

type Json = Record<string, unknown>;
const bundle = (file: string) => JSON.parse(readFileSync(`generated/${file}`, 'utf8')) as Json;

describe('changed operations between version bundles (what make fuzz runs at an older version)', () => {
  it('when a bundle is compared with itself, then no operation changed', () => {
    expect(changedOperations(bundle('openapi.json'), bundle('openapi.json'))).toEqual([]);
  });

  it('when 2026-11-30 is compared with the latest, then exactly the operations carrying an item, or an event of one, changed', () => {
    expect(changedOperations(bundle('openapi.2026-11-30.json'), bundle('openapi.json'))).toEqual([
      'createItem',
      'getEvent',
      'getItem',
      'listEvents',
      'listItems',
      'updateItem',
    ]);
  });

  it('when only a description or an example differs, then the operation is unchanged; a field named description is not prose', () => {
    const latest = bundle('openapi.json');
    const edited = structuredClone(latest) as { components: { schemas: Record<string, Json> } };
    const item = edited.components.schemas.Item as { description: string; properties: Json };
    item.description = 'Reworded.';
    expect(changedOperations(edited as unknown as Json, latest)).toEqual([]);
    delete item.properties.description;
    expect(changedOperations(edited as unknown as Json, latest)).toContain('getItem');
  });
});
