import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader, FrameTooLargeError, InvalidFrameSizeError } from './frame-reader.js';

function framed(bodies: Buffer[]): Buffer {
  return Buffer.concat(bodies.flatMap((b) => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(b.length);
    return [size, b];
  }));
}

describe('FrameReader', () => {
  it('returns the same frames however the stream is cut into chunks', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 50 }),
      (bodies, cuts) => {
        const stream = framed(bodies.map((b) => Buffer.from(b)));
        const reader = new FrameReader(1024);
        const out: Buffer[] = [];
        let pos = 0;
        let i = 0;
        while (pos < stream.length) {
          const n = cuts[i++ % cuts.length]!;
          out.push(...reader.push(stream.subarray(pos, pos + n)));
          pos += n;
        }
        expect(out.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')));
        expect(reader.bufferedBytes).toBe(0);
      },
    ), { numRuns: 200 });
  });

  it('refuses oversized and non-positive sizes before buffering the body', () => {
    const reader = new FrameReader(100);
    const big = Buffer.alloc(4);
    big.writeInt32BE(101);
    expect(() => reader.push(big)).toThrow(FrameTooLargeError);
    const neg = Buffer.alloc(4);
    neg.writeInt32BE(-5);
    expect(() => new FrameReader(100).push(neg)).toThrow(InvalidFrameSizeError);
    expect(() => new FrameReader(100).push(Buffer.alloc(4))).toThrow(InvalidFrameSizeError);
  });
});
