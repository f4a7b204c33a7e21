import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { definitionDirs } from '../codegen/generate.js';
import {
  type FieldSpec,
  type FieldType,
  type MessageSpec,
  type StructSpec,
  contains,
  defaultOf,
  loadMessages,
} from '../codegen/schema.js';
import * as generated from './generated/index.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

/**
 * Every version of every message: a value built from the message's own schema is encoded,
 * decoded and compared, with the fields the version lacks expected back as their defaults.
 */

interface MessageCodec {
  decode(r: Reader, v: number): unknown;
  sizeOf(m: unknown, v: number): number;
  write(w: Writer, m: unknown, v: number): void;
  encode(m: unknown, v: number): Buffer;
  recordsBytes: ((m: unknown, v: number) => number) | undefined;
}

function codecOf(name: string): MessageCodec {
  const g = generated as unknown as Record<string, unknown>;
  const fn = <T>(prefix: string): T => g[prefix + name] as T;
  return {
    decode: fn('decode'),
    sizeOf: fn('sizeOf'),
    write: fn('write'),
    encode: fn('encode'),
    recordsBytes: fn('recordsBytes'),
  };
}

type Obj = Record<string, unknown>;

const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

function primitive(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64':
      return fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-1, 0, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 32, -(2 ** 32)));
    case 'float64':
      return fc.double();
    case 'string':
      return fc.oneof(
        { arbitrary: fc.string({ maxLength: 12 }), weight: 4 },
        { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 2 },
        { arbitrary: fc.string({ minLength: 40, maxLength: 200 }), weight: 1 },
      );
    case 'bytes':
    case 'records':
      return fc.oneof({ arbitrary: bytes(24), weight: 4 }, { arbitrary: bytes(300), weight: 1 });
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
    default:
      throw new Error(`no arbitrary for ${name}`);
  }
}

function typeArb(t: FieldType, v: number, depth: number): fc.Arbitrary<unknown> {
  if (t.kind === 'array') return fc.array(typeArb(t.element, v, depth + 1), { maxLength: depth > 2 ? 1 : 3 });
  if (t.kind === 'struct') return structArb(t.struct, v, depth + 1);
  return primitive(t.name);
}

function fieldArb(f: FieldSpec, v: number, depth: number): fc.Arbitrary<unknown> {
  const onWire = contains(f.versions, v);
  const base = typeArb(f.type, v, depth);
  const value = onWire && contains(f.nullable, v) ? fc.option(base, { nil: null, freq: 4 }) : base;
  // Fields a version lacks, and tagged fields, may be left out or set: the encoder must cope.
  return onWire && f.tag === undefined ? value : fc.option(value, { nil: undefined });
}

function structArb(s: StructSpec, v: number, depth = 0): fc.Arbitrary<Obj> {
  const fields = Object.fromEntries(s.fields.map((f) => [f.prop, fieldArb(f, v, depth)]));
  return fc.record(fields) as fc.Arbitrary<Obj>;
}

function defaultValue(f: FieldSpec): unknown {
  const d = defaultOf(f);
  switch (d.kind) {
    case 'number':
    case 'bool':
    case 'string':
      return d.value;
    case 'null':
      return null;
    case 'emptyBytes':
      return Buffer.alloc(0);
    case 'zeroUuid':
      return Buffer.alloc(16);
    case 'emptyArray':
      return [];
    case 'struct':
      return Object.fromEntries(d.struct.fields.map((g) => [g.prop, defaultValue(g)]));
  }
}

/** What decoding should give back for `value` encoded at version `v`. */
function expected(f: FieldSpec, value: unknown, v: number): unknown {
  if (!contains(f.versions, v) || value === undefined) return defaultValue(f);
  if (value === null) return null;
  const t = f.type;
  if (t.kind === 'array' && t.element.kind === 'struct') {
    const s = t.element.struct;
    return (value as Obj[]).map((e) => expectedStruct(s, e, v));
  }
  if (t.kind === 'struct') return expectedStruct(t.struct, value as Obj, v);
  return value;
}

function expectedStruct(s: StructSpec, value: Obj, v: number): Obj {
  return Object.fromEntries(s.fields.map((f) => [f.prop, expected(f, value[f.prop], v)]));
}

/** Bytes compared by content whatever their class (Buffer from the decoder, views, ...). */
function normalize(x: unknown): unknown {
  if (x instanceof Uint8Array) return `bytes:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`;
  if (Array.isArray(x)) return x.map(normalize);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).filter(([, e]) => e !== undefined).map(([k, e]) => [k, normalize(e)]));
  }
  return x;
}

function versions(m: MessageSpec): number[] {
  return Array.from({ length: m.valid.hi - m.valid.lo + 1 }, (_, i) => m.valid.lo + i);
}

const messages = definitionDirs().flatMap((d) => loadMessages(d));

describe('round trip of every version of every message', () => {
  it('covers all message files and the group and transaction coordinators\' storage formats', () => {
    expect(messages.length).toBe(186 + 30 + 2);
  });

  for (const m of messages) {
    it(`${m.name} v${m.valid.lo}-${m.valid.hi}`, () => {
      const codec = codecOf(m.name);
      for (const v of versions(m)) {
        fc.assert(
          fc.property(structArb(m.root, v), (value) => {
            const buf = codec.encode(value, v);
            expect(codec.sizeOf(value, v)).toBe(buf.length);
            const r = new Reader(buf);
            const decoded = codec.decode(r, v);
            r.expectEnd();
            expect(normalize(decoded)).toEqual(normalize(expectedStruct(m.root, value, v)));
            // Decoding and encoding again is a fixed point.
            expect(codec.encode(decoded, v).equals(buf)).toBe(true);
            if (codec.recordsBytes !== undefined) {
              const w = Writer.chunked(buf.length - codec.recordsBytes(value, v));
              codec.write(w, value, v);
              expect(Buffer.concat(w.finishChunks()).equals(buf)).toBe(true);
            }
          }),
          { numRuns: 8, seed: 42 ^ v ^ (m.apiKey ?? 0) },
        );
      }
    });
  }
});
