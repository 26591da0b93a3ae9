/**
 * Compares two bundled OpenAPI 3.1 documents (internal `$ref`s only, as `make generate` writes them) and
 * classifies every difference a partner could notice:
 *
 * - breaking: removed operation, parameter, request media type, success response, response media type,
 *   response header or response field; a response field that may now be absent; a new required
 *   parameter, request field or request body; an optional parameter or field made required; a
 *   parameter moved to another location; a request enum, type, format, pattern or bound narrowed
 *   (values clients send today would be refused); a request field removed where unknown fields are
 *   refused; a response type changed; a security alternative removed or changed (unless another
 *   alternative takes the same credentials on the wire: oauth2 and http bearer are both a Bearer token);
 *   If-Match made required stays compatible where the operation already answered 428 without it;
 * - deprecated: an operation, parameter or field newly marked `deprecated`;
 * - added: new operations, optional parameters and request fields, response fields, statuses, headers;
 * - changed: everything else that is compatible (a relaxed constraint, a new enum value in a response,
 *   a new security alternative, a removed error response, the version).
 *
 * Webhooks (`webhooks`) are compared as the receiver sees them: the payload is data the receiver reads, so
 * it follows the response rules (a removed or now optional field, a removed event, a removed media type or
 * header is breaking; a new field or event is added).
 *
 * Descriptions, summaries and examples are ignored. `oneOf`/`anyOf` branches are compared by position;
 * `allOf` is merged first.
 *
 * With dated API versions, `compareVersions` runs this diff once per version: a supported version's bundle
 * may change only additively from one commit to the next (docs/versioning.md).
 */

export type ChangeKind = 'breaking' | 'deprecated' | 'added' | 'changed';

export interface Change {
  kind: ChangeKind;
  /** `GET /v1/items`, or undefined for document-level changes. */
  operation?: string;
  message: string;
}

type Json = Record<string, unknown>;
type Direction = 'request' | 'response';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const asObject = (value: unknown): Json => (isObject(value) ? value : {});
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const show = (value: unknown): string => JSON.stringify(value);

class Differ {
  readonly changes: Change[] = [];
  /** `$ref` pairs being compared right now, so recursive schemas terminate. */
  private readonly comparing = new Set<string>();

  constructor(
    private readonly base: Json,
    private readonly head: Json,
  ) {}

  private add(kind: ChangeKind, operation: string | undefined, message: string): void {
    this.changes.push(operation === undefined ? { kind, message } : { kind, operation, message });
  }

  /** Follows `#/...` references (repeatedly) within one document. */
  private resolve(document: Json, node: unknown): Json {
    let current = node;
    for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
      if (hops > 50 || !current.$ref.startsWith('#/')) throw new Error(`Cannot resolve ${current.$ref}`);
      let target: unknown = document;
      for (const raw of current.$ref.slice(2).split('/'))
        target = asObject(target)[decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')];
      if (target === undefined) throw new Error(`Unresolvable ${current.$ref}`);
      current = target;
    }
    return asObject(current);
  }

  run(): Change[] {
    const baseVersion = asObject(this.base.info).version;
    const headVersion = asObject(this.head.info).version;
    if (baseVersion !== headVersion)
      this.add('changed', undefined, `API version ${show(baseVersion)} -> ${show(headVersion)}`);
    const baseDate = asObject(this.base.info)['x-api-version'];
    const headDate = asObject(this.head.info)['x-api-version'];
    if (baseDate !== headDate)
      this.add('changed', undefined, `x-api-version ${show(baseDate)} -> ${show(headDate)}`);

    const baseOps = this.operations(this.base);
    const headOps = this.operations(this.head);
    for (const [key, operation] of baseOps) {
      const next = headOps.get(key);
      if (!next) this.add('breaking', key, 'operation removed');
      else this.operation(key, operation, next);
    }
    for (const [key, operation] of headOps)
      if (!baseOps.has(key))
        this.add(operation.op.deprecated === true ? 'deprecated' : 'added', key, 'operation added');
    this.webhooks();
    return this.changes;
  }

  /** A webhook's payload is read by the receiver: it follows the response rules. */
  private webhooks(): void {
    const events = (document: Json) => {
      const found = new Map<string, Json>();
      for (const [name, rawItem] of Object.entries(asObject(document.webhooks))) {
        const item = this.resolve(document, rawItem);
        for (const method of METHODS)
          if (isObject(item[method])) found.set(`webhook ${name} (${method.toUpperCase()})`, item[method]);
      }
      return found;
    };
    const was = events(this.base);
    const is = events(this.head);
    for (const [key, before] of was) {
      const after = is.get(key);
      if (!after) {
        this.add('breaking', key, 'webhook no longer sent');
        continue;
      }
      if (before.deprecated !== true && after.deprecated === true)
        this.add('deprecated', key, 'webhook deprecated');
      this.webhookPayload(key, before.requestBody, after.requestBody);
    }
    for (const [key, after] of is)
      if (!was.has(key)) this.add(after.deprecated === true ? 'deprecated' : 'added', key, 'webhook added');
  }

  private webhookPayload(key: string, rawBefore: unknown, rawAfter: unknown): void {
    if (rawBefore === undefined) {
      if (rawAfter !== undefined) this.add('added', key, 'payload added');
      return;
    }
    if (rawAfter === undefined) return this.add('breaking', key, 'payload removed');
    const was = asObject(this.resolve(this.base, rawBefore).content);
    const is = asObject(this.resolve(this.head, rawAfter).content);
    for (const [type, media] of Object.entries(was)) {
      if (!(type in is)) this.add('breaking', key, `payload no longer sent as ${type}`);
      else
        this.schema(key, `payload (${type})`, asObject(media).schema, asObject(is[type]).schema, 'response');
    }
    for (const type of Object.keys(is))
      if (!(type in was)) this.add('added', key, `payload also sent as ${type}`);
  }

  private operations(document: Json): Map<string, { op: Json; item: Json; document: Json }> {
    const found = new Map<string, { op: Json; item: Json; document: Json }>();
    for (const [path, rawItem] of Object.entries(asObject(document.paths))) {
      const item = this.resolve(document, rawItem);
      for (const method of METHODS) {
        const op = item[method];
        if (isObject(op)) found.set(`${method.toUpperCase()} ${path}`, { op, item, document });
      }
    }
    return found;
  }

  private operation(key: string, before: { op: Json; item: Json }, after: { op: Json; item: Json }): void {
    if (before.op.deprecated !== true && after.op.deprecated === true)
      this.add('deprecated', key, 'operation deprecated');
    this.security(key, before.op, after.op);
    this.parameters(key, before, after);
    this.requestBody(key, before.op.requestBody, after.op.requestBody);
    this.responses(key, asObject(before.op.responses), asObject(after.op.responses));
  }

  private security(key: string, before: Json, after: Json): void {
    // No requirement at all (`security: []`) and an empty one (`{}`) both mean anonymous access.
    const alternatives = (document: Json, op: Json): string[] => {
      const requirements = asArray(op.security ?? document.security ?? []);
      if (requirements.length === 0) return [''];
      return requirements.map((requirement) =>
        Object.entries(asObject(requirement))
          .map(([scheme, scopes]) => `${scheme}[${asArray(scopes).map(String).sort().join(' ')}]`)
          .sort()
          .join(' + '),
      );
    };
    const was = alternatives(this.base, before);
    const is = alternatives(this.head, after);
    const label = (alternative: string) => (alternative === '' ? 'anonymous access' : alternative);
    // What a client puts on the wire for an alternative: an oauth2 and an http bearer requirement with the
    // same scopes are both `Authorization: Bearer` with the same token, so dropping one of the two while the
    // other stays changes the document, not what any client sends.
    const wireForms = (document: Json, requirements: string[], op: Json) =>
      new Map(requirements.map((alternative, index) => [alternative, this.wireForm(document, op, index)]));
    const wireWas = wireForms(this.base, was, before);
    const wireIs = new Set(wireForms(this.head, is, after).values());
    for (const alternative of was)
      if (!is.includes(alternative)) {
        const wire = wireWas.get(alternative);
        if (wire !== undefined && wireIs.has(wire))
          this.add(
            'changed',
            key,
            `security: ${label(alternative)} is no longer listed; another alternative takes the same credentials (${wire})`,
          );
        else this.add('breaking', key, `security changed: ${label(alternative)} is no longer accepted`);
      }
    for (const alternative of is)
      if (!was.includes(alternative))
        this.add('changed', key, `security: ${label(alternative)} is now accepted`);
  }

  /** The credentials one security alternative takes, as sent: `header Authorization Bearer [scopes]`. */
  private wireForm(document: Json, op: Json, index: number): string | undefined {
    const requirements = asArray(op.security ?? document.security ?? []);
    if (requirements.length === 0) return '';
    const schemes = asObject(asObject(document.components).securitySchemes);
    const parts: string[] = [];
    for (const [name, scopes] of Object.entries(asObject(requirements[index]))) {
      const scheme = this.resolve(document, schemes[name]);
      const scopeList = asArray(scopes).map(String).sort().join(' ');
      const bearer =
        scheme.type === 'oauth2' ||
        scheme.type === 'openIdConnect' ||
        (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer');
      if (bearer) parts.push(`header Authorization Bearer [${scopeList}]`);
      else if (scheme.type === 'apiKey')
        parts.push(`${String(scheme.in)} ${String(scheme.name).toLowerCase()} [${scopeList}]`);
      else return undefined;
    }
    return parts.sort().join(' + ');
  }

  private parameters(key: string, before: { op: Json; item: Json }, after: { op: Json; item: Json }): void {
    const collect = (document: Json, side: { op: Json; item: Json }) => {
      const byKey = new Map<string, Json>();
      for (const raw of [...asArray(side.item.parameters), ...asArray(side.op.parameters)]) {
        const parameter = this.resolve(document, raw);
        const location = String(parameter.in);
        const name = location === 'header' ? String(parameter.name).toLowerCase() : String(parameter.name);
        byKey.set(`${location}:${name}`, parameter);
      }
      return byKey;
    };
    const was = collect(this.base, before);
    const is = collect(this.head, after);
    const label = (parameter: Json) => `${String(parameter.in)} parameter ${String(parameter.name)}`;
    const moved = new Set<string>();
    for (const [id, parameter] of was) {
      const next = is.get(id);
      if (next) {
        if (parameter.required !== true && next.required === true) {
          // RFC 6585: 428 is the answer to a request without the precondition the operation needs. When
          // the operation already answered it, no request that worked before omitted the header.
          const enforced =
            id === 'header:if-match' &&
            '428' in asObject(before.op.responses) &&
            '428' in asObject(after.op.responses);
          if (enforced)
            this.add(
              'changed',
              key,
              `${label(next)} is now marked required (already answered 428 without it)`,
            );
          else this.add('breaking', key, `${label(next)} is now required`);
        }
        if (parameter.required === true && next.required !== true)
          this.add('changed', key, `${label(next)} is now optional`);
        if (parameter.deprecated !== true && next.deprecated === true)
          this.add('deprecated', key, `${label(next)} deprecated`);
        this.schema(key, label(next), parameter.schema, next.schema, 'request');
        continue;
      }
      const name = String(parameter.name).toLowerCase();
      const elsewhere = [...is.entries()].find(
        ([otherId, other]) => !was.has(otherId) && String(other.name).toLowerCase() === name,
      );
      if (elsewhere) {
        moved.add(elsewhere[0]);
        this.add(
          'breaking',
          key,
          `parameter ${String(parameter.name)} moved from ${String(parameter.in)} to ${String(elsewhere[1].in)}`,
        );
      } else this.add('breaking', key, `${label(parameter)} removed`);
    }
    for (const [id, parameter] of is) {
      if (was.has(id) || moved.has(id)) continue;
      if (parameter.required === true) this.add('breaking', key, `new required ${label(parameter)}`);
      else this.add('added', key, `optional ${label(parameter)}`);
    }
  }

  private requestBody(key: string, rawBefore: unknown, rawAfter: unknown): void {
    if (rawBefore === undefined && rawAfter === undefined) return;
    const before = rawBefore === undefined ? undefined : this.resolve(this.base, rawBefore);
    const after = rawAfter === undefined ? undefined : this.resolve(this.head, rawAfter);
    if (!after) return this.add('breaking', key, 'request body removed');
    if (!before) {
      this.add(
        after.required === true ? 'breaking' : 'added',
        key,
        `${after.required === true ? 'required' : 'optional'} request body added`,
      );
      return;
    }
    if (before.required !== true && after.required === true)
      this.add('breaking', key, 'request body is now required');
    const was = asObject(before.content);
    const is = asObject(after.content);
    for (const [type, media] of Object.entries(was)) {
      if (!(type in is)) this.add('breaking', key, `request media type ${type} no longer accepted`);
      else
        this.schema(
          key,
          `request body (${type})`,
          asObject(media).schema,
          asObject(is[type]).schema,
          'request',
        );
    }
    for (const type of Object.keys(is))
      if (!(type in was)) this.add('added', key, `request media type ${type} accepted`);
  }

  private responses(key: string, was: Json, is: Json): void {
    const addedHeaders: Record<string, string[]> = {};
    for (const [status, rawBefore] of Object.entries(was)) {
      const before = this.resolve(this.base, rawBefore);
      if (!(status in is)) {
        this.add(/^2/.test(status) ? 'breaking' : 'changed', key, `response ${status} removed`);
        continue;
      }
      const after = this.resolve(this.head, is[status]);
      const headersBefore = asObject(before.headers);
      const headersAfter = asObject(after.headers);
      for (const name of Object.keys(headersBefore))
        if (!(name in headersAfter)) this.add('breaking', key, `response ${status} header ${name} removed`);
      for (const name of Object.keys(headersAfter))
        if (!(name in headersBefore)) (addedHeaders[name] ??= []).push(status);
      const contentBefore = asObject(before.content);
      const contentAfter = asObject(after.content);
      for (const [type, media] of Object.entries(contentBefore)) {
        if (!(type in contentAfter)) this.add('breaking', key, `response ${status} no longer ${type}`);
        else
          this.schema(
            key,
            `response ${status} (${type})`,
            asObject(media).schema,
            asObject(contentAfter[type]).schema,
            'response',
          );
      }
      for (const type of Object.keys(contentAfter))
        if (!(type in contentBefore)) this.add('added', key, `response ${status} as ${type}`);
    }
    for (const status of Object.keys(is)) if (!(status in was)) this.add('added', key, `response ${status}`);
    for (const [name, statuses] of Object.entries(addedHeaders))
      this.add('added', key, `response header ${name} (${statuses.join(', ')})`);
  }

  /** Merges `allOf` branches into one schema (properties, required, and the rest shallowly). */
  private flatten(document: Json, raw: unknown): Json {
    const schema = this.resolve(document, raw);
    if (!Array.isArray(schema.allOf)) return schema;
    const merged: Json = { ...schema, allOf: undefined };
    for (const part of schema.allOf) {
      const flat = this.flatten(document, part);
      merged.properties = { ...asObject(merged.properties), ...asObject(flat.properties) };
      merged.required = [...asArray(merged.required), ...asArray(flat.required)];
      for (const [keyword, value] of Object.entries(flat))
        if (!['properties', 'required'].includes(keyword) && merged[keyword] === undefined)
          merged[keyword] = value;
    }
    return merged;
  }

  private schema(
    key: string,
    where: string,
    rawBefore: unknown,
    rawAfter: unknown,
    direction: Direction,
  ): void {
    if (rawBefore === undefined || rawAfter === undefined) return;
    const refs = `${direction}|${String(asObject(rawBefore).$ref)}|${String(asObject(rawAfter).$ref)}`;
    const isRefPair = refs !== `${direction}|undefined|undefined`;
    if (isRefPair && this.comparing.has(refs)) return;
    if (isRefPair) this.comparing.add(refs);
    try {
      this.compareSchemas(key, where, rawBefore, rawAfter, direction);
    } finally {
      if (isRefPair) this.comparing.delete(refs);
    }
  }

  private compareSchemas(
    key: string,
    where: string,
    rawBefore: unknown,
    rawAfter: unknown,
    direction: Direction,
  ): void {
    const before = this.flatten(this.base, rawBefore);
    const after = this.flatten(this.head, rawAfter);
    const request = direction === 'request';

    const typesBefore = typesOf(before);
    const typesAfter = typesOf(after);
    if (typesBefore && typesAfter) {
      const lost = typesBefore.filter((type) => !covers(typesAfter, type));
      const gained = typesAfter.filter((type) => !covers(typesBefore, type));
      if (request && lost.length)
        this.add('breaking', key, `${where}: type narrowed (${lost.join(', ')} refused)`);
      if (!request && gained.length)
        this.add('breaking', key, `${where}: type changed (may now be ${gained.join(', ')})`);
      if (request && gained.length)
        this.add('changed', key, `${where}: now also accepts ${gained.join(', ')}`);
    } else if (request && !typesBefore && typesAfter)
      this.add('breaking', key, `${where}: type narrowed to ${typesAfter.join(', ')}`);

    const enumBefore = valuesOf(before);
    const enumAfter = valuesOf(after);
    if (enumAfter && (!enumBefore || enumBefore.some((value) => !includes(enumAfter, value)))) {
      const refused = enumBefore ? enumBefore.filter((value) => !includes(enumAfter, value)) : undefined;
      if (request)
        this.add(
          'breaking',
          key,
          `${where}: enum narrowed${refused ? ` (${refused.map(show).join(', ')} refused)` : ''}`,
        );
    }
    if (enumBefore && (!enumAfter || enumAfter.some((value) => !includes(enumBefore, value)))) {
      const added = enumAfter ? enumAfter.filter((value) => !includes(enumBefore, value)) : undefined;
      this.add(
        'changed',
        key,
        `${where}: ${added ? `new values ${added.map(show).join(', ')}` : 'enum lifted'}`,
      );
    }

    if (request) this.constraints(key, where, before, after);
    if (before.deprecated !== true && after.deprecated === true)
      this.add('deprecated', key, `${where} deprecated`);

    this.properties(key, where, before, after, direction);
    if (before.items !== undefined && after.items !== undefined)
      this.schema(key, `${where}[]`, before.items, after.items, direction);
    if (isObject(before.additionalProperties) && isObject(after.additionalProperties))
      this.schema(key, `${where}.*`, before.additionalProperties, after.additionalProperties, direction);
    for (const keyword of ['oneOf', 'anyOf'] as const) {
      const branchesBefore = asArray(before[keyword]);
      const branchesAfter = asArray(after[keyword]);
      branchesBefore.forEach((branch, i) => {
        if (i < branchesAfter.length)
          this.schema(key, `${where} (${keyword}[${i}])`, branch, branchesAfter[i], direction);
        else if (request) this.add('breaking', key, `${where}: ${keyword} alternative ${i} removed`);
      });
    }
  }

  /** Request constraints only: a tighter one refuses values that are valid today. */
  private constraints(key: string, where: string, before: Json, after: Json): void {
    const bounds: Array<[string, 'upper' | 'lower']> = [
      ['maxLength', 'upper'],
      ['maximum', 'upper'],
      ['exclusiveMaximum', 'upper'],
      ['maxItems', 'upper'],
      ['maxProperties', 'upper'],
      ['minLength', 'lower'],
      ['minimum', 'lower'],
      ['exclusiveMinimum', 'lower'],
      ['minItems', 'lower'],
      ['minProperties', 'lower'],
    ];
    // An object with n required properties already had at least n: a minProperties up to n refuses nothing new.
    const impliedMinimum = (schema: Json) => {
      const required = Array.isArray(schema.required) ? schema.required.length : 0;
      const declared = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
      return required > 0 || declared > 0 ? Math.max(required, declared) : undefined;
    };
    for (const [keyword, side] of bounds) {
      // Required properties that change are the required-field rule's to report.
      if (
        keyword === 'minProperties' &&
        before.minProperties === undefined &&
        after.minProperties === undefined
      )
        continue;
      const was = keyword === 'minProperties' ? impliedMinimum(before) : before[keyword];
      const is = keyword === 'minProperties' ? impliedMinimum(after) : after[keyword];
      if (was === is) continue;
      const tighter =
        typeof is === 'number' && (typeof was !== 'number' || (side === 'upper' ? is < was : is > was));
      this.add(
        tighter ? 'breaking' : 'changed',
        key,
        `${where}: ${keyword} ${tighter ? 'narrowed ' : ''}(${show(was)} -> ${show(is)})`,
      );
    }
    if (after.pattern !== undefined && after.pattern !== before.pattern)
      this.add(
        'breaking',
        key,
        `${where}: pattern ${before.pattern === undefined ? 'added' : 'changed'} (${show(after.pattern)})`,
      );
    else if (before.pattern !== undefined && after.pattern === undefined)
      this.add('changed', key, `${where}: pattern lifted`);
    // A format on a string refuses values; on numbers (int32, int64) it only documents the range.
    if (
      after.format !== undefined &&
      after.format !== before.format &&
      (typesOf(after) ?? ['string']).includes('string')
    )
      this.add('breaking', key, `${where}: format ${show(after.format)} required`);
    if (before.uniqueItems !== true && after.uniqueItems === true)
      this.add('breaking', key, `${where}: items must now be unique`);
  }

  private properties(key: string, where: string, before: Json, after: Json, direction: Direction): void {
    const propsBefore = asObject(before.properties);
    const propsAfter = asObject(after.properties);
    const requiredBefore = new Set(asArray(before.required).map(String));
    const requiredAfter = new Set(asArray(after.required).map(String));
    const field = (name: string) => `${where}.${name}`;
    const request = direction === 'request';
    for (const name of Object.keys(propsBefore)) {
      if (!(name in propsAfter)) {
        if (!request) this.add('breaking', key, `${field(name)}: response field removed`);
        else if (after.additionalProperties === false)
          this.add('breaking', key, `${field(name)}: request field removed (now refused)`);
        else this.add('changed', key, `${field(name)}: request field removed (ignored)`);
        continue;
      }
      if (request && !requiredBefore.has(name) && requiredAfter.has(name))
        this.add('breaking', key, `${field(name)}: request field is now required`);
      if (!request && requiredBefore.has(name) && !requiredAfter.has(name))
        this.add('breaking', key, `${field(name)}: response field may now be absent`);
      this.schema(key, field(name), propsBefore[name], propsAfter[name], direction);
    }
    for (const name of Object.keys(propsAfter)) {
      if (name in propsBefore) continue;
      if (request && requiredAfter.has(name))
        this.add('breaking', key, `${field(name)}: new required request field`);
      else this.add('added', key, `${field(name)}: ${request ? 'optional request' : 'response'} field`);
    }
    if (request && before.additionalProperties !== false && after.additionalProperties === false)
      this.add('breaking', key, `${where}: unknown fields are now refused`);
  }
}

/** The JSON types a schema admits, or undefined when it does not say (any). */
function typesOf(schema: Json): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.map(String);
  return undefined;
}

/** `integer` is a subset of `number`. */
function covers(types: string[], type: string): boolean {
  return types.includes(type) || (type === 'integer' && types.includes('number'));
}

function valuesOf(schema: Json): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  if ('const' in schema) return [schema.const];
  return undefined;
}

function includes(values: unknown[], value: unknown): boolean {
  return values.some((candidate) => show(candidate) === show(value));
}

export function diffSpecs(base: Json, head: Json): Change[] {
  return new Differ(base, head).run();
}

/** One version's bundle at a ref; `version` is undefined for a ref from before dated versions. */
export interface VersionBundle {
  version: string | undefined;
  spec: Json;
}

export interface VersionComparison {
  version: string;
  /** compared: the version exists at both refs; new: only at head; dropped: only at base. */
  status: 'compared' | 'new' | 'dropped';
  changes: Change[];
  /** What fails the gate: the breaking changes of a compared version, or a version dropped before its sunset. */
  failures: string[];
}

/**
 * The gate's rule for dated versions: every version supported at both refs is diffed base bundle against
 * head bundle, and any breaking change fails. So a breaking change to the latest spec without a new version
 * step fails (the latest date is the same at both refs), and a new step passes only when the previous
 * latest, now produced by its overlay, is unchanged or additively changed. A base from before versions
 * (`version` undefined) stands for head's oldest version. A version may leave head only after its sunset
 * (`info.x-sunset` at base, compared with `today`, YYYY-MM-DD).
 */
export function compareVersions(
  base: readonly VersionBundle[],
  head: readonly VersionBundle[],
  today: string,
): VersionComparison[] {
  const oldest = head.at(-1)?.version;
  const baseByVersion = new Map(base.map((bundle) => [bundle.version ?? oldest, bundle.spec]));
  const headVersions = new Set(head.map((bundle) => bundle.version));
  const results: VersionComparison[] = [];
  for (const { version, spec } of head) {
    if (version === undefined) throw new Error('Every bundle at head names its x-api-version');
    const before = baseByVersion.get(version);
    if (!before) {
      results.push({ version, status: 'new', changes: [], failures: [] });
      continue;
    }
    const changes = diffSpecs(before, spec);
    const failures = changes
      .filter((change) => change.kind === 'breaking')
      .map((change) => `${change.operation ? `${change.operation}: ` : ''}${change.message}`);
    results.push({ version, status: 'compared', changes, failures });
  }
  for (const [version, spec] of baseByVersion) {
    if (version === undefined || headVersions.has(version)) continue;
    const sunset = asObject(spec.info)['x-sunset'];
    const failures =
      typeof sunset === 'string' && sunset <= today
        ? []
        : [
            `version ${version} is no longer supported but its sunset ${typeof sunset === 'string' ? `(${sunset}) has not passed` : 'was never announced'}: ` +
              'a breaking change to the latest needs a version step (openapi/versions/<previous latest>.yaml)',
          ];
    results.push({ version, status: 'dropped', changes: [], failures });
  }
  return results;
}

const SECTIONS: Array<[ChangeKind, string]> = [
  ['added', 'Added'],
  ['changed', 'Changed'],
  ['deprecated', 'Deprecated'],
  ['breaking', 'Breaking'],
];

/** The changes as a Markdown changelog with Added, Changed, Deprecated and Breaking sections. */
export function toMarkdown(changes: Change[], title: string): string {
  const lines = [`# ${title}`, ''];
  if (changes.length === 0) lines.push('No changes to the API contract.', '');
  for (const [kind, heading] of SECTIONS) {
    const entries = changes.filter((change) => change.kind === kind);
    if (entries.length === 0) continue;
    lines.push(`## ${heading}`, '');
    for (const change of entries)
      lines.push(
        `- ${change.operation ? `\`${change.operation}\`: ` : ''}${change.message.replace(/`/g, "'")}`,
      );
    lines.push('');
  }
  return lines.join('\n');
}
