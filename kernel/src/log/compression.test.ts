import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressSync as rawSnappy } from 'snappy';
import { ErrorCode } from '../errors.js';
import { buildBatch } from './batch-builder.js';
import {
  CODEC_GZIP, CODEC_LZ4, CODEC_NAMES, CODEC_NONE, CODEC_SNAPPY, CODEC_ZSTD, codecFor, recompressBatch,
} from './compression.js';
import * as rb from './record-batch.js';
import { emptyRecordView, readRecord } from './records.js';

const CODECS = [CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD];
const CAPTURES = new URL('../../../../shared/protocol-captures/', import.meta.url);
const FIXTURES = new URL('../../test/fixtures/codecs/', import.meta.url);

/** JSON lines, the input of the files in test/fixtures/codecs (see its README). */
function sampleText(bytes: number): Buffer {
  const events = ['click', 'view', 'purchase', 'signup', 'search'];
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `{"seq":${i % 100},"user":"user-${i % 10}","event":"${events[i % 5]}"}\n`;
  return Buffer.from(s.slice(0, bytes));
}

function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

function errorCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: number }).code;
  }
  return undefined;
}

interface CapturedBatch {
  client: string;
  file: string;
  buf: Buffer;
  pos: number;
  size: number;
}

/**
 * The record batches in a Produce request frame (request header v1/v2, then the body),
 * for the versions captured (3 to 11; flexible from 9). Checks that nothing is left over.
 */
function produceBatches(frame: Buffer): Array<{ buf: Buffer; pos: number; size: number }> {
  let at = 0;
  const i16 = (): number => { at += 2; return frame.readInt16BE(at - 2); };
  const i32 = (): number => { at += 4; return frame.readInt32BE(at - 4); };
  const uvarint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = frame[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
  };
  // Not `at += read()`: that reads `at` before the read moves it.
  const skip = (bytes: number): void => { at += Math.max(bytes, 0); };
  const skipTags = (): void => {
    for (let n = uvarint(); n > 0; n--) {
      uvarint();
      skip(uvarint());
    }
  };
  const apiKey = i16();
  const version = i16();
  expect(apiKey).toBe(0);
  const flexible = version >= 9;
  i32(); // correlation id
  skip(i16()); // client id: a nullable string in both header versions
  if (flexible) skipTags();
  const length = (): number => (flexible ? uvarint() - 1 : i16());
  const count = (): number => (flexible ? uvarint() - 1 : i32());
  skip(length()); // transactional id
  i16(); // acks
  i32(); // timeout
  const out: Array<{ buf: Buffer; pos: number; size: number }> = [];
  for (let topics = count(); topics > 0; topics--) {
    skip(length()); // topic name
    for (let partitions = count(); partitions > 0; partitions--) {
      i32(); // partition index
      const bytes = flexible ? uvarint() - 1 : i32();
      for (let pos = at; pos < at + bytes; pos += rb.batchSize(frame, pos)) {
        out.push({ buf: frame, pos, size: rb.batchSize(frame, pos) });
      }
      skip(bytes);
      if (flexible) skipTags();
    }
    if (flexible) skipTags();
  }
  if (flexible) skipTags();
  expect(at).toBe(frame.length);
  return out;
}

function capturedBatches(): CapturedBatch[] {
  const index = JSON.parse(readFileSync(new URL('index.json', CAPTURES), 'utf8')) as {
    files: Array<{ protocol: string; client: string; api_key?: number; direction: string; file: string }>;
  };
  return index.files
    .filter((f) => f.protocol === 'kafka' && f.api_key === 0 && f.direction === 'request')
    .flatMap((f) => produceBatches(readFileSync(new URL(f.file, CAPTURES)))
      .map((b) => ({ client: f.client, file: f.file, ...b })));
}

/** The batch's records: decompressed, walked, each returned as its bytes. */
function recordsOf(buf: Buffer, pos: number, size: number): Buffer[] {
  const codec = rb.batchCompression(buf, pos);
  let data = buf.subarray(pos + rb.BATCH_HEADER_BYTES, pos + size);
  if (codec !== CODEC_NONE) data = codecFor(codec).decompress(data, 64 << 20);
  const view = emptyRecordView();
  const records: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    at = readRecord(data, at, data.length, view);
    records.push(data.subarray(view.start, view.end));
  }
  expect(records).toHaveLength(rb.batchRecordCount(buf, pos));
  return records;
}

describe('codecs', () => {
  const sizes = [0, 1, 1000, 100_000, 300_000];

  it.each(CODECS.map((id) => [CODEC_NAMES[id], id] as const))('%s round-trips', (_name, id) => {
    const codec = codecFor(id);
    for (const size of sizes) {
      const data = sampleText(size);
      expect(codec.decompress(codec.compress(data), size).equals(data)).toBe(true);
    }
  });

  it('writes the formats Kafka clients expect', () => {
    const data = sampleText(100_000);
    const snappy = codecFor(CODEC_SNAPPY).compress(data);
    expect(snappy.subarray(0, 16).toString('hex')).toBe('82534e415050590000000001' + '00000001');
    const lz4 = codecFor(CODEC_LZ4).compress(data);
    // Magic, then FLG: version 1, independent blocks (Java refuses linked ones), no checksums.
    expect(lz4.subarray(0, 5).toString('hex')).toBe('04224d1860');
    expect(codecFor(CODEC_ZSTD).compress(data).readUInt32LE(0)).toBe(0xfd2fb528);
    expect(codecFor(CODEC_GZIP).compress(data).subarray(0, 2).toString('hex')).toBe('1f8b');
  });

  it('reads raw snappy, as librdkafka and sarama write it', () => {
    const data = sampleText(100_000);
    expect(codecFor(CODEC_SNAPPY).decompress(rawSnappy(data), data.length).equals(data)).toBe(true);
  });

  it.each([
    ['lz4-linked-content-size-checksum.lz4', CODEC_LZ4],
    ['lz4-block-checksums.lz4', CODEC_LZ4],
    ['lz4-skippable-and-two-frames.lz4', CODEC_LZ4],
    ['zstd-two-frames.zst', CODEC_ZSTD],
    ['snappy-xerial.bin', CODEC_SNAPPY],
  ] as const)('reads %s from another encoder', (file, id) => {
    const data = sampleText(100_000);
    expect(codecFor(id).decompress(fixture(file), data.length).equals(data)).toBe(true);
  });

  it.each(CODECS.map((id) => [CODEC_NAMES[id], id] as const))('%s refuses output past the bound', (_name, id) => {
    const codec = codecFor(id);
    const bomb = codec.compress(Buffer.alloc(4 << 20));
    expect(bomb.length).toBeLessThan(1 << 20);
    expect(codec.decompress(bomb, 4 << 20).length).toBe(4 << 20);
    expect(errorCodeOf(() => codec.decompress(bomb, (4 << 20) - 1))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(errorCodeOf(() => codec.decompress(bomb, 1000))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('refuses declared sizes past the bound before decoding', () => {
    // A raw snappy block whose preamble claims 4 GiB - 1.
    const snappyBomb = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    expect(errorCodeOf(() => codecFor(CODEC_SNAPPY).decompress(snappyBomb, 1 << 20))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    // An LZ4 frame header declaring 1 TiB of content.
    const lz4Bomb = Buffer.from('04224d186840' + '0000000000010000' + '00' + '00000000', 'hex');
    expect(errorCodeOf(() => codecFor(CODEC_LZ4).decompress(lz4Bomb, 1 << 20))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    // zstd: the declared content size is not trusted, the stream stops at the bound.
    const zstdFrame = codecFor(CODEC_ZSTD).compress(Buffer.alloc(2 << 20));
    expect(errorCodeOf(() => codecFor(CODEC_ZSTD).decompress(zstdFrame, 1 << 20))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it.each(CODECS.map((id) => [CODEC_NAMES[id], id] as const))('%s refuses malformed input', (_name, id) => {
    const codec = codecFor(id);
    const good = codec.compress(sampleText(100_000));
    expect(errorCodeOf(() => codec.decompress(good.subarray(0, good.length - 7), 1 << 20))).toBe(ErrorCode.INVALID_RECORD);
    expect(errorCodeOf(() => codec.decompress(Buffer.from('not compressed at all'), 1 << 20))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('leaves the zstd context usable after a failure', () => {
    const codec = codecFor(CODEC_ZSTD);
    const good = codec.compress(sampleText(10_000));
    expect(errorCodeOf(() => codec.decompress(good.subarray(0, 100), 1 << 20))).toBe(ErrorCode.INVALID_RECORD);
    expect(codec.decompress(good, 1 << 20).equals(sampleText(10_000))).toBe(true);
  });
});

describe('record batches from real producers', () => {
  const batches = capturedBatches();

  it('decompress to valid records, for every client and codec captured', () => {
    const seen = new Set<string>();
    for (const b of batches) {
      expect(rb.batchCrcValid(b.buf, b.pos, b.size), b.file).toBe(true);
      recordsOf(b.buf, b.pos, b.size);
      seen.add(`${b.client}/${CODEC_NAMES[rb.batchCompression(b.buf, b.pos)]}`);
    }
    // librdkafka writes every codec; sarama raw snappy; the others gzip (KafkaJS and
    // @platformatic/kafka have no other codec built in, kafka-python was run with gzip).
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) expect(seen).toContain(`confluent-kafka-python/${codec}`);
    expect(seen).toContain('sarama/snappy');
    for (const client of ['kafkajs', 'kafka-python', 'kcat', 'platformatic-kafka', 'sarama']) {
      expect(seen).toContain(`${client}/gzip`);
    }
  });

  it('re-compress with every codec, keeping header fields and records', () => {
    const headerFields = (buf: Buffer, pos: number): unknown[] => [
      rb.batchBaseOffset(buf, pos), rb.batchLeaderEpoch(buf, pos), rb.batchAttributes(buf, pos) & ~rb.ATTR_COMPRESSION_MASK,
      rb.batchLastOffsetDelta(buf, pos), rb.batchBaseTimestamp(buf, pos), rb.batchMaxTimestamp(buf, pos),
      rb.batchProducerId(buf, pos), rb.batchProducerEpoch(buf, pos), rb.batchBaseSequence(buf, pos),
      rb.batchRecordCount(buf, pos),
    ];
    for (const b of batches) {
      const records = Buffer.concat(recordsOf(b.buf, b.pos, b.size));
      for (const target of [CODEC_NONE, ...CODECS]) {
        const out = recompressBatch(b.buf, b.pos, b.size, target);
        expect(rb.batchSize(out, 0)).toBe(out.length);
        expect(rb.batchCrcValid(out, 0, out.length)).toBe(true);
        expect(rb.batchCompression(out, 0)).toBe(target);
        expect(headerFields(out, 0)).toEqual(headerFields(b.buf, b.pos));
        expect(Buffer.concat(recordsOf(out, 0, out.length)).equals(records)).toBe(true);
      }
    }
  });

  it('re-compressing keeps the delete-horizon and control bits', () => {
    const batch = buildBatch([{ key: Buffer.from('k'), value: null }], { control: true, transactional: true });
    batch.writeInt16BE(rb.batchAttributes(batch, 0) | rb.ATTR_DELETE_HORIZON, rb.OFFSET_ATTRIBUTES);
    rb.rewriteBatchCrc(batch, 0, batch.length);
    const out = recompressBatch(batch, 0, batch.length, CODEC_LZ4);
    expect(rb.batchAttributes(out, 0)).toBe(rb.batchAttributes(batch, 0) | CODEC_LZ4);
    expect(rb.batchCrcValid(out, 0, out.length)).toBe(true);
  });

  it('re-compressing refuses a batch whose records do not match its count', () => {
    const batch = buildBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }]);
    batch.writeInt32BE(1, rb.OFFSET_RECORD_COUNT);
    expect(errorCodeOf(() => recompressBatch(batch, 0, batch.length, CODEC_GZIP))).toBe(ErrorCode.INVALID_RECORD);
  });
});

/** Debian's python3-kafka with python3-snappy, python3-lz4 and python3-zstandard, when installed. */
const kafkaPython = spawnSync('/usr/bin/python3', ['-c', [
  'import kafka.codec as c',
  'assert c.has_snappy() and c.has_lz4() and c.has_zstd()',
].join('\n')]).status === 0;

const commandWorks = (cmd: string): boolean => spawnSync(cmd, ['--version']).status === 0;

describe('other decoders read what we write', () => {
  it.skipIf(!kafkaPython)('kafka-python reads our batches of every codec, CRC and records', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-codecs-'));
    try {
      const records = Array.from({ length: 200 }, (_, i) => ({
        key: Buffer.from(`key-${i}`), value: sampleText(500 + i), headers: [[Buffer.from('h'), Buffer.from(`${i}`)]] as const,
      }));
      const plain = buildBatch(records, { baseTimestampMs: 1_700_000_000_000, producerId: 7, producerEpoch: 1, baseSequence: 0 });
      for (const codec of CODECS) {
        writeFileSync(join(dir, `${codec}.bin`), recompressBatch(plain, 0, plain.length, codec));
      }
      const script = [
        'import json, sys',
        'from kafka.record.default_records import DefaultRecordBatch',
        'out = {}',
        `for codec in ${JSON.stringify(CODECS)}:`,
        '    batch = DefaultRecordBatch(open(sys.argv[1] + "/%d.bin" % codec, "rb").read())',
        '    assert batch.validate_crc() and batch.compression_type == codec',
        '    out[codec] = [[r.key.decode(), len(r.value), r.headers[0][1].decode()] for r in batch]',
        'print(json.dumps(out))',
      ].join('\n');
      const decoded = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' })) as
        Record<string, unknown[]>;
      const expected = records.map((r, i) => [`key-${i}`, r.value.length, `${i}`]);
      for (const codec of CODECS) expect(decoded[codec]).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!commandWorks('lz4'))('the lz4 command decodes our frames', () => {
    const data = sampleText(300_000);
    const out = execFileSync('lz4', ['-d', '-c'], { input: codecFor(CODEC_LZ4).compress(data), maxBuffer: 1 << 24 });
    expect(out.equals(data)).toBe(true);
  });

  it.skipIf(!commandWorks('zstd'))('the zstd command decodes our frames', () => {
    const data = sampleText(300_000);
    const out = execFileSync('zstd', ['-d', '-c'], { input: codecFor(CODEC_ZSTD).compress(data), maxBuffer: 1 << 24 });
    expect(out.equals(data)).toBe(true);
  });
});
