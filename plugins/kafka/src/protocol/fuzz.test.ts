import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, definitionDirs } from '../codegen/generate.js';
import { loadMessages } from '../codegen/schema.js';
import { decodeRequestBody, isKnownApiKey, readRequestFrame, readResponseFrame } from './frame.js';
import * as generated from './generated/index.js';
import { ProtocolError, Reader } from './reader.js';

/**
 * Hostile input: every decoder either decodes or throws ProtocolError. Anything else (a
 * TypeError, a RangeError from a huge allocation, a hang caught by the test timeout) fails.
 */

function rejectsOnlyWithProtocolError(decode: () => unknown): void {
  try {
    decode();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
}

const messages = definitionDirs().flatMap((d) => loadMessages(d));

describe('decoders on random bytes', () => {
  for (const m of messages) {
    it(m.name, () => {
      const decode = (generated as unknown as Record<string, (r: Reader, v: number) => unknown>)[`decode${m.name}`]!;
      fc.assert(
        fc.property(
          fc.integer({ min: m.valid.lo, max: m.valid.hi }),
          fc.uint8Array({ maxLength: 96 }),
          (v, bytes) => rejectsOnlyWithProtocolError(() => decode(new Reader(Buffer.from(bytes)), v)),
        ),
        { numRuns: 150, seed: 7 },
      );
    });
  }
});

interface Capture {
  protocol: string;
  api_key: number;
  version: number;
  file: string;
  direction: 'request' | 'response';
}

const CAPTURES = join(REPO_ROOT, '../shared/protocol-captures');
const captures = (JSON.parse(readFileSync(join(CAPTURES, 'index.json'), 'utf8')) as { files: Capture[] }).files
  .filter((c) => c.protocol === 'kafka')
  .map((c) => ({ ...c, bytes: readFileSync(join(CAPTURES, c.file)) }));

/** Overwrites, truncations and insertions at random places, in a copy of the frame. */
const mutation = (frame: Buffer): fc.Arbitrary<Buffer> =>
  fc
    .array(
      fc.tuple(fc.constantFrom('set', 'cut', 'insert'), fc.nat({ max: Math.max(0, frame.length - 1) }), fc.integer({ min: 0, max: 255 })),
      { minLength: 1, maxLength: 4 },
    )
    .map((edits) => {
      let b = Buffer.from(frame);
      for (const [kind, at, byte] of edits) {
        if (kind === 'set') b[at] = byte;
        else if (kind === 'cut') b = b.subarray(0, at);
        else b = Buffer.concat([b.subarray(0, at), Buffer.from([byte, 0xff, 0xff, 0xff]), b.subarray(at)]);
      }
      return b;
    });

describe('decoders on mutated captured frames', () => {
  it('requests', () => {
    for (const c of captures.filter((c) => c.direction === 'request')) {
      fc.assert(
        fc.property(mutation(c.bytes), (frame) =>
          rejectsOnlyWithProtocolError(() => {
            const { header, body } = readRequestFrame(frame);
            const apiKey = header.requestApiKey;
            if (isKnownApiKey(apiKey)) decodeRequestBody(apiKey, header.requestApiVersion, body);
          }),
        ),
        { numRuns: 40, seed: 11 },
      );
    }
  });

  it('responses', () => {
    for (const c of captures.filter((c) => c.direction === 'response')) {
      const apiKey = c.api_key;
      if (!isKnownApiKey(apiKey)) throw new Error(`${c.file}: unknown api key`);
      fc.assert(
        fc.property(mutation(c.bytes), (frame) => rejectsOnlyWithProtocolError(() => readResponseFrame(frame, apiKey, c.version))),
        { numRuns: 40, seed: 13 },
      );
    }
  });

  it('a forged array count cannot allocate beyond the frame', () => {
    // Metadata v1 request: Topics count 0x7fffffff with no bytes behind it.
    const frame = Buffer.from('00030001000000010001' + '78' + '7fffffff', 'hex');
    const { body } = readRequestFrame(frame);
    expect(() => decodeRequestBody(3, 1, body)).toThrow(/cannot fit/);
  });
});
