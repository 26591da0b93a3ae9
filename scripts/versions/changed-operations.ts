/**
 * The operations whose contract differs between two bundles: those whose parameters, request body or
 * responses, with every `$ref` followed, are not the same once descriptions, summaries and examples are
 * left out (and those missing from the other bundle). `make fuzz` fuzzes an older version on these only
 * (plus a fixed sample): the rest is the latest's contract, fuzzed in full at the latest.
 *
 *   tsx scripts/versions/changed-operations.ts generated/openapi.2026-11-30.json generated/openapi.json
 *
 * prints one operationId a line, sorted.
 */
import { readFileSync } from 'node:fs';

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PROSE = new Set(['description', 'summary', 'example', 'examples', 'x-codeSamples']);

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function pointer(document: Json, ref: string): unknown {
  let target: unknown = document;
  for (const raw of ref.slice(2).split('/'))
    target = isObject(target) ? target[raw.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return target;
}

/** The node with its references inlined and its prose dropped; a reference met again inside itself stays a `$ref`. */
function contract(
  document: Json,
  node: unknown,
  open: ReadonlySet<string> = new Set(),
  names = false,
): unknown {
  if (Array.isArray(node)) return node.map((entry) => contract(document, entry, open));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    if (open.has(ref)) return { $ref: ref };
    return contract(document, pointer(document, ref), new Set([...open, ref]));
  }
  return Object.fromEntries(
    Object.entries(node)
      // The keys of `properties` are field names (an item has a `description`), not prose.
      .filter(([key]) => names || !PROSE.has(key))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => [key, contract(document, value, open, !names && key === 'properties')]),
  );
}

function operations(document: Json): Map<string, { id: string; contract: string }> {
  const found = new Map<string, { id: string; contract: string }>();
  for (const [path, rawItem] of Object.entries((document.paths ?? {}) as Json)) {
    const item = contract(document, rawItem) as Json;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const shape = {
        shared: item.parameters,
        parameters: op.parameters,
        body: op.requestBody,
        responses: op.responses,
      };
      found.set(`${method} ${path}`, { id: String(op.operationId), contract: JSON.stringify(shape) });
    }
  }
  return found;
}

export function changedOperations(older: Json, latest: Json): string[] {
  const latestOps = operations(latest);
  const changed = [...operations(older)]
    .filter(([key, op]) => latestOps.get(key)?.contract !== op.contract)
    .map(([, op]) => op.id);
  return [...new Set(changed)].sort();
}

if (process.argv[1]?.endsWith('changed-operations.ts')) {
  const [olderPath, latestPath] = process.argv.slice(2);
  if (!olderPath || !latestPath) throw new Error('usage: changed-operations.ts OLDER.json LATEST.json');
  const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;
  for (const id of changedOperations(read(olderPath), read(latestPath))) process.stdout.write(`${id}\n`);
}
