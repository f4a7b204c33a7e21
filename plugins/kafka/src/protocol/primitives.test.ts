import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, Reader } from './reader.js';
import { uuidFromString, uuidToString } from './uuid.js';
import { Writer, sizeString, uvarintSize } from './writer.js';

function roundTrip<T>(size: number, write: (w: Writer) => void, read: (r: Reader) => T): T {
  const w = new Writer(Buffer.alloc(size));
  write(w);
  const r = new Reader(w.buf.subarray(0, w.pos));
  const out = read(r);
  r.expectEnd();
  return out;
}

describe('reader and writer primitives', () => {
  it('fixed-width integers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger(), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (i32, i64, u32) => {
        const [a, b, c, d, e] = roundTrip(
          19,
          (w) => {
            w.int32(i32);
            w.int64(i64);
            w.uint32(u32);
            w.int16(i32 >> 16);
            w.int8(i32 >> 24);
          },
          (r) => [r.int32(), r.int64(), r.uint32(), r.int16(), r.int8()],
        );
        expect([a, b, c, d, e]).toEqual([i32, i64, u32, i32 >> 16, i32 >> 24]);
      }),
    );
  });

  it('int64 beyond 2^53 is a ProtocolError, not a rounded number', () => {
    expect(() => new Reader(Buffer.from('0020000000000000', 'hex')).int64()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('ffe0000000000000', 'hex')).int64()).toThrow(ProtocolError);
    expect(new Reader(Buffer.from('001fffffffffffff', 'hex')).int64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(new Reader(Buffer.from('ffe0000000000001', 'hex')).int64()).toBe(Number.MIN_SAFE_INTEGER);
    expect(new Reader(Buffer.from('ffffffffffffffff', 'hex')).int64()).toBe(-1);
  });

  it('varints: unsigned, zigzag 32 and zigzag 64', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger(), (u, s, l) => {
        expect(roundTrip(5, (w) => w.uvarint(u), (r) => r.uvarint())).toBe(u);
        const w = new Writer(Buffer.alloc(5));
        w.uvarint(u);
        expect(uvarintSize(u)).toBe(w.pos);
        expect(roundTrip(5, (w) => w.varint(s), (r) => r.varint())).toBe(s);
        expect(roundTrip(10, (w) => w.varlong(l), (r) => r.varlong())).toBe(l);
      }),
    );
    const w = new Writer(Buffer.alloc(1));
    w.varint(-1);
    expect(w.finish().toString('hex')).toBe('01');
  });

  it('varints longer than their type are rejected', () => {
    expect(() => new Reader(Buffer.from('ffffffff10', 'hex')).uvarint()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('ffffffffff01', 'hex')).uvarint()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).varlong()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('8080', 'hex')).uvarint()).toThrow(/truncated/);
  });

  it('strings, compact and not, ASCII or not', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        for (const compact of [false, true]) {
          const size = sizeString(s, compact);
          const out = roundTrip(size, (w) => w.string(s, compact), (r) => (compact ? r.compactString() : r.string()));
          expect(out).toBe(s);
        }
      }),
    );
  });

  it('nulls where nulls are allowed, ProtocolError where not', () => {
    expect(roundTrip(2, (w) => w.nullableString(null, false), (r) => r.nullableString())).toBeNull();
    expect(roundTrip(1, (w) => w.nullableBytes(null, true), (r) => r.compactNullableBytes())).toBeNull();
    expect(() => new Reader(Buffer.from('ffff', 'hex')).string()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('00', 'hex')).compactBytes()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('ffffffff', 'hex')).arrayLength(1)).toThrow(ProtocolError);
    expect(() => new Writer(Buffer.alloc(4)).string(null, false)).toThrow(TypeError);
  });

  it('truncated reads throw ProtocolError', () => {
    expect(() => new Reader(Buffer.from('000000', 'hex')).int32()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from('0005616263', 'hex')).string()).toThrow(/truncated/);
    expect(() => new Reader(Buffer.from('00000010', 'hex')).bytes()).toThrow(/truncated/);
  });

  it('bytes are views of the input', () => {
    const input = Buffer.from('0000000301020304', 'hex');
    const b = new Reader(input).bytes();
    expect(b.buffer).toBe(input.buffer);
    expect([...b]).toEqual([1, 2, 3]);
  });

  it('uuids in Kafka string form', () => {
    const s = 'AAAAAAAAAAAAAAAAAAAAAQ';
    expect(uuidToString(uuidFromString(s))).toBe(s);
    expect(() => uuidFromString('short')).toThrow(RangeError);
  });

  it('chunked writer passes records through uncopied', () => {
    const records = Buffer.from('deadbeef', 'hex');
    const w = Writer.chunked(4 + 1);
    w.int32(7);
    w.records(records, true, true);
    const chunks = w.finishChunks();
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toBe(records);
    expect(Buffer.concat(chunks).toString('hex')).toBe('0000000705deadbeef');
  });
});
