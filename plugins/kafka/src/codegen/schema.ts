/**
 * Kafka's message-definition language (clients/src/main/resources/common/message/README.md)
 * parsed into a resolved model: version ranges as numbers, struct references followed, and
 * each struct annotated with the versions in which it can appear. The generator emits code
 * from this model and the round-trip tests build values from it.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Inclusive version range; `hi` is Infinity for "N+", and `lo > hi` is empty ("none"). */
export interface Range {
  readonly lo: number;
  readonly hi: number;
}

export const NONE: Range = { lo: 1, hi: 0 };

export function parseRange(spec: string | undefined, what: string): Range {
  if (spec === undefined || spec === 'none') return NONE;
  let m = /^(\d+)\+$/.exec(spec);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(spec);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(spec);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`${what}: bad version range ${JSON.stringify(spec)}`);
}

export function isEmpty(r: Range): boolean {
  return r.lo > r.hi;
}

export function intersect(a: Range, b: Range): Range {
  const r = { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
  return isEmpty(r) ? NONE : r;
}

export function contains(r: Range, v: number): boolean {
  return v >= r.lo && v <= r.hi;
}

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

const PRIMITIVES: ReadonlySet<string> = new Set<Primitive>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
]);

/** Fixed wire width of a primitive, or 0 when it is length-prefixed. */
export const FIXED_SIZE: Readonly<Record<Primitive, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
  string: 0,
  bytes: 0,
  records: 0,
};

export type FieldType =
  | { readonly kind: 'primitive'; readonly name: Primitive }
  | { readonly kind: 'struct'; readonly struct: StructSpec }
  | { readonly kind: 'array'; readonly element: Exclude<FieldType, { kind: 'array' }> };

export interface FieldSpec {
  /** As in the JSON (PascalCase, occasionally camelCase). */
  readonly name: string;
  /** Property name in TypeScript. */
  readonly prop: string;
  readonly type: FieldType;
  readonly versions: Range;
  readonly nullable: Range;
  /** Present only for tagged fields. */
  readonly tag: number | undefined;
  readonly tagged: Range;
  /** Field-level override of the message's flexible versions (RequestHeader.ClientId). */
  readonly flexible: Range | undefined;
  /** The JSON `default`, as written, if any. */
  readonly default: string | undefined;
  readonly ignorable: boolean;
  readonly about: string | undefined;
}

export interface StructSpec {
  /** Name in the JSON. */
  readonly name: string;
  /** TypeScript interface name: the message name, plus the struct name for nested structs. */
  readonly typeName: string;
  readonly fields: FieldSpec[];
  /** Hull of the versions in which the struct can occur (the message's, for the root). */
  versions: Range;
}

export interface MessageSpec {
  readonly file: string;
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | undefined;
  readonly valid: Range;
  readonly flexible: Range;
  readonly deprecated: Range;
  readonly latestVersionUnstable: boolean;
  readonly root: StructSpec;
  /** Every struct, root first, then in order of first appearance. */
  readonly structs: StructSpec[];
}

/** Removes `//` comments outside string literals. */
export function stripComments(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === '\\' && inString) i++;
        else if (c === '"') inString = !inString;
        else if (!inString && c === '/' && line[i + 1] === '/') return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

interface JsonField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  default?: string | number | boolean;
  ignorable?: boolean;
  about?: string;
  fields?: JsonField[];
}

interface JsonMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  deprecatedVersions?: string;
  latestVersionUnstable?: boolean;
  fields: JsonField[];
  commonStructs?: { name: string; versions?: string; fields: JsonField[] }[];
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

export function parseMessage(file: string, text: string): MessageSpec {
  const json = JSON.parse(stripComments(text)) as JsonMessage;
  const { name } = json;
  if (json.type !== 'request' && json.type !== 'response' && json.type !== 'header' && json.type !== 'data') {
    throw new Error(`${file}: unsupported message type ${json.type}`);
  }
  const valid = parseRange(json.validVersions, `${file} validVersions`);
  const structs: StructSpec[] = [];
  const byName = new Map<string, StructSpec>();

  const newStruct = (structName: string, typeName: string): StructSpec => {
    if (byName.has(structName)) throw new Error(`${file}: struct ${structName} defined twice`);
    const s: StructSpec = { name: structName, typeName, fields: [], versions: NONE };
    byName.set(structName, s);
    return s;
  };

  const common = new Map<string, JsonField[]>();
  for (const c of json.commonStructs ?? []) common.set(c.name, c.fields);

  const resolveStruct = (typeName: string, fields: JsonField[] | undefined, where: string): StructSpec => {
    if (fields !== undefined) {
      if (common.has(typeName)) throw new Error(`${where}: struct ${typeName} shadows a common struct`);
      const s = newStruct(typeName, name + typeName);
      structs.push(s);
      s.fields.push(...fields.map((f) => parseField(f, `${where}.${f.name}`)));
      return s;
    }
    const existing = byName.get(typeName);
    if (existing) return existing;
    const commonFields = common.get(typeName);
    if (commonFields === undefined) throw new Error(`${where}: unknown type ${typeName}`);
    const s = newStruct(typeName, name + typeName);
    structs.push(s);
    s.fields.push(...commonFields.map((f) => parseField(f, `${file}:${typeName}.${f.name}`)));
    return s;
  };

  const parseField = (f: JsonField, where: string): FieldSpec => {
    const isArray = f.type.startsWith('[]');
    const base = isArray ? f.type.slice(2) : f.type;
    const element: Exclude<FieldType, { kind: 'array' }> = PRIMITIVES.has(base)
      ? { kind: 'primitive', name: base as Primitive }
      : { kind: 'struct', struct: resolveStruct(base, f.fields, where) };
    if (isArray && element.kind === 'primitive' && element.name === 'records') throw new Error(`${where}: array of records`);
    const tagged = parseRange(f.taggedVersions, `${where} taggedVersions`);
    if ((f.tag === undefined) !== isEmpty(tagged)) throw new Error(`${where}: tag and taggedVersions must come together`);
    return {
      name: f.name,
      prop: lowerFirst(f.name),
      type: isArray ? { kind: 'array', element } : element,
      // Kafka lets a tagged field omit `versions`: it exists exactly where it is tagged.
      versions: f.versions === undefined && !isEmpty(tagged) ? tagged : parseRange(f.versions, `${where} versions`),
      nullable: parseRange(f.nullableVersions, `${where} nullableVersions`),
      tag: f.tag,
      tagged,
      flexible: f.flexibleVersions === undefined ? undefined : parseRange(f.flexibleVersions, `${where} flexibleVersions`),
      default: f.default === undefined ? undefined : String(f.default),
      ignorable: f.ignorable === true,
      about: f.about,
    };
  };

  const root: StructSpec = { name, typeName: name, fields: [], versions: NONE };
  byName.set(name, root);
  structs.push(root);
  root.fields.push(...json.fields.map((f) => parseField(f, `${file}:${f.name}`)));

  const message: MessageSpec = {
    file,
    name,
    type: json.type,
    apiKey: json.apiKey,
    valid,
    flexible: parseRange(json.flexibleVersions, `${file} flexibleVersions`),
    deprecated: parseRange(json.deprecatedVersions, `${file} deprecatedVersions`),
    latestVersionUnstable: json.latestVersionUnstable === true,
    root,
    structs,
  };
  markVersions(root, valid);
  for (const s of structs) checkStruct(message, s);
  return message;
}

/** Widens each struct's version hull by the versions in which a field reaches it. */
function markVersions(s: StructSpec, within: Range): void {
  const old = s.versions;
  if (!isEmpty(old) && within.lo >= old.lo && within.hi <= old.hi) return;
  s.versions = isEmpty(old) ? within : { lo: Math.min(old.lo, within.lo), hi: Math.max(old.hi, within.hi) };
  for (const f of s.fields) {
    const t = f.type.kind === 'array' ? f.type.element : f.type;
    if (t.kind === 'struct') {
      const reach = intersect(f.versions, s.versions);
      if (!isEmpty(reach)) markVersions(t.struct, reach);
    }
  }
}

function checkStruct(m: MessageSpec, s: StructSpec): void {
  const props = new Set<string>();
  const tags = new Set<number>();
  for (const f of s.fields) {
    const where = `${m.file}:${s.name}.${f.name}`;
    if (props.has(f.prop)) throw new Error(`${where}: duplicate property ${f.prop}`);
    props.add(f.prop);
    if (f.tag !== undefined) {
      if (tags.has(f.tag)) throw new Error(`${where}: duplicate tag ${f.tag}`);
      tags.add(f.tag);
      if (f.tagged.lo !== f.versions.lo || f.tagged.hi !== f.versions.hi) {
        throw new Error(`${where}: tagged fields must be tagged in every version they exist`);
      }
    }
    const t = f.type;
    const nullableType =
      t.kind === 'array' || t.kind === 'struct' || ['string', 'bytes', 'records', 'uuid'].includes(t.name);
    if (!isEmpty(f.nullable) && !nullableType) throw new Error(`${where}: type cannot be nullable`);
    if (t.kind === 'primitive' && t.name === 'uuid' && !isEmpty(intersect(f.nullable, f.versions))) {
      throw new Error(`${where}: nullable uuid is not supported`);
    }
  }
}

/** Every message file in `dir` (requests, responses, headers, data), sorted by file name. */
export function loadMessages(dir: string): MessageSpec[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseMessage(f, readFileSync(join(dir, f), 'utf8')));
}

/** The value a field takes in versions without it, as Kafka's generated code sets it. */
export type DefaultValue =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'null' }
  | { readonly kind: 'emptyBytes' }
  | { readonly kind: 'zeroUuid' }
  | { readonly kind: 'emptyArray' }
  | { readonly kind: 'struct'; readonly struct: StructSpec };

export function defaultOf(f: FieldSpec): DefaultValue {
  const d = f.default;
  const t = f.type;
  if (d === 'null') return { kind: 'null' };
  if (t.kind === 'array') {
    if (d !== undefined) throw new Error(`${f.name}: arrays take only a null default`);
    return { kind: 'emptyArray' };
  }
  if (t.kind === 'struct') {
    if (d !== undefined) throw new Error(`${f.name}: structs take only a null default`);
    return { kind: 'struct', struct: t.struct };
  }
  switch (t.name) {
    case 'bool':
      return { kind: 'bool', value: d === 'true' };
    case 'string':
      return { kind: 'string', value: d ?? '' };
    case 'bytes':
      return { kind: 'emptyBytes' };
    case 'records':
      return { kind: 'null' };
    case 'uuid':
      return { kind: 'zeroUuid' };
    default: {
      if (d === undefined) return { kind: 'number', value: 0 };
      const value = /^-?0x/i.test(d) ? Number.parseInt(d, 16) : Number(d);
      if (!Number.isSafeInteger(value) && t.name !== 'float64') throw new Error(`${f.name}: bad default ${d}`);
      return { kind: 'number', value };
    }
  }
}
