/**
 * `npm run generate` (last step): generated/openapi-3.0.json, an OpenAPI 3.0.3 rendition of the bundled
 * 3.1 document for tools that still lack 3.1, made by @apiture/openapi-down-convert (type arrays with null
 * become `nullable`, `const` an `enum`, schema `examples` an `example`; `webhooks` and the 3.1-only
 * `info.summary` and `license.identifier` are dropped). The API serves it at /openapi-3.0.json, and
 * `make lint` validates it as 3.0 (scripts/openapi-3.0/redocly.yaml).
 */
import { Converter } from '@apiture/openapi-down-convert';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

type Json = Record<string, unknown>;

export function toOpenApi30(document: Json): Json {
  const converted = new Converter(structuredClone(document), { allOfTransform: false }).convert() as Json;
  const info = converted.info as Json & { license?: Json };
  delete info.summary;
  // 3.0 names a license by URL only (3.1's SPDX `identifier` is gone).
  if (info.license?.name === 'MIT') info.license.url = 'https://opensource.org/license/mit';
  return converted;
}

if (require.main === module) {
  const root = resolve(__dirname, '../..');
  const bundled = JSON.parse(readFileSync(resolve(root, 'generated/openapi.json'), 'utf8')) as Json;
  writeFileSync(
    resolve(root, 'generated/openapi-3.0.json'),
    `${JSON.stringify(toOpenApi30(bundled), null, 2)}\n`,
  );
}
