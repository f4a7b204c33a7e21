/**
 * Record-batch compression codecs, by Kafka's attribute number. The kernel needs them where
 * it must see inside a batch (compaction, the compacted-topic key check) and where it
 * re-encodes a batch because a topic's compression.type names another codec; otherwise the
 * produce and fetch paths move compressed batches untouched.
 *
 * Formats, as Kafka clients write and read them:
 * - gzip: RFC 1952 members (Node's zlib).
 * - snappy: Java clients write xerial snappy-java framing (an 8-byte magic, two int32
 *   versions, then [int32 length][raw snappy block]...); librdkafka and sarama write one raw
 *   snappy block. Every client reads both (snappy-java falls back to raw when the magic is
 *   absent), so we read both and write xerial framing, as Kafka's own broker does when it
 *   re-compresses: a consumer that works against Kafka works against us.
 * - lz4: the LZ4 frame format with a correct header checksum (KIP-57). Java's reader refuses
 *   frames without block independence; lz4-napi writes FLG 0x60 (independent blocks, no
 *   checksums, no content size), the same flags as Java and librdkafka. We read any
 *   standard frame: linked blocks, content size, block and content checksums.
 * - zstd: standard frames, several concatenated, with or without a declared content size
 *   (librdkafka declares none).
 *
 * Every decompress is bounded by `sizeBytesMax` and refuses a compression bomb with
 * MESSAGE_TOO_LARGE, without allocating its output where the library allows: snappy blocks
 * declare their size, zstd streams into chunks that stop at the bound, zlib stops at
 * `maxOutputLength`; LZ4 frames are walked block by block first (see lz4Decompress for the
 * one block it may overshoot by). Malformed compressed bytes fail with INVALID_RECORD.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import { compress as zstdCompress } from 'zstd-napi';
import zstdBinding, { type DCtx } from 'zstd-napi/binding.js';
import { KafkaError } from '@sluice/sdk';
import { kafkaError } from '../errors.js';
import { assembleBatch } from './batch-builder.js';
import { DECOMPRESSED_BYTES_MAX } from './compacted-keys.js';
import * as rb from './record-batch.js';
import { emptyRecordView, readRecord } from './records.js';

export const CODEC_NONE = 0;
export const CODEC_GZIP = 1;
export const CODEC_SNAPPY = 2;
export const CODEC_LZ4 = 3;
export const CODEC_ZSTD = 4;

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export interface Codec {
  compress(data: Buffer): Buffer;
  /** `sizeBytesMax` bounds the output, so a compression bomb is refused, not inflated. */
  decompress(data: Buffer, sizeBytesMax: number): Buffer;
}

function tooLarge(codec: string, sizeBytesMax: number): KafkaError {
  return kafkaError('MESSAGE_TOO_LARGE', `${codec} batch decompresses to more than ${sizeBytesMax} bytes`);
}

function corrupt(codec: string, detail: string): KafkaError {
  return kafkaError('INVALID_RECORD', `${codec} batch is malformed: ${detail}`);
}

// ---- snappy

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size, which Kafka's producer uses. */
const XERIAL_BLOCK_BYTES = 32 * 1024;
/** Version 1, compatible with version 1, as snappy-java writes: kafka-python accepts no other. */
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);

function snappyCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  let at = 0;
  // At least one block even for empty input: librdkafka takes a payload of 20 bytes or
  // fewer for raw snappy, header or not.
  do {
    const block = snappyCompressSync(data.subarray(at, at + XERIAL_BLOCK_BYTES));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    at += XERIAL_BLOCK_BYTES;
  } while (at < data.length);
  return Buffer.concat(parts);
}

function snappyDecompress(data: Buffer, sizeBytesMax: number): Buffer {
  // A raw snappy block cannot start with this magic (its first element would be a copy with
  // nothing to copy from), so the check is unambiguous.
  if (data.length <= XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappyBlock(data, sizeBytesMax);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  let at = XERIAL_HEADER_BYTES;
  while (at < data.length) {
    if (at + 4 > data.length) throw corrupt('snappy', 'truncated xerial block length');
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw corrupt('snappy', `xerial block length ${length} past the end`);
    const block = snappyBlock(data.subarray(at, at + length), sizeBytesMax - total);
    blocks.push(block);
    total += block.length;
    at += length;
  }
  return Buffer.concat(blocks, total);
}

/** One raw snappy block, whose varint preamble declares its uncompressed size. */
function snappyBlock(block: Buffer, sizeBytesMax: number): Buffer {
  let declared = 0;
  let i = 0;
  for (;; i++) {
    if (i === 5 || i === block.length) throw corrupt('snappy', 'bad length preamble');
    declared += (block[i]! & 0x7f) * 2 ** (7 * i);
    if ((block[i]! & 0x80) === 0) break;
  }
  if (declared > sizeBytesMax) throw tooLarge('snappy', sizeBytesMax);
  try {
    return snappyUncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw corrupt('snappy', (err as Error).message);
  }
}

// ---- lz4

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
/** Block maximum sizes by the BD byte's size id; ids 0-3 are reserved. */
const LZ4_BLOCK_MAX = new Map([[4, 64 << 10], [5, 256 << 10], [6, 1 << 20], [7, 4 << 20]]);
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_DICT_ID = 0x01;
const LZ4_BLOCK_UNCOMPRESSED = 0x80000000;

function lz4Compress(data: Buffer): Buffer {
  return compressFrameSync(data);
}

/**
 * lz4-napi has no output bound, decodes only the first of concatenated frames and refuses
 * skippable ones; so the frames are walked first, then decoded one by one. Every block but
 * a frame's last is full in the frames producers write, so a frame decodes to more than its
 * blocks' maximum sizes less one block: when that alone passes the bound the batch is
 * refused unread. Otherwise the decoder may pass the bound by at most each frame's last
 * block (64 KiB in producers' frames, 4 MiB at most) before the size is checked.
 */
function lz4Decompress(data: Buffer, sizeBytesMax: number): Buffer {
  const frames: Array<[number, number]> = [];
  let outputAtLeast = 0;
  let at = 0;
  const u32 = (pos: number): number => {
    if (pos + 4 > data.length) throw corrupt('lz4', 'truncated frame');
    return data.readUInt32LE(pos);
  };
  while (at < data.length) {
    const start = at;
    const magic = u32(at);
    at += 4;
    if ((magic & LZ4_SKIPPABLE_MASK) >>> 0 === LZ4_SKIPPABLE_MAGIC) {
      at += 4 + u32(at);
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) throw corrupt('lz4', `not an LZ4 frame (magic ${magic.toString(16)})`);
    if (at + 2 > data.length) throw corrupt('lz4', 'truncated frame header');
    const flg = data[at]!;
    const blockMax = LZ4_BLOCK_MAX.get((data[at + 1]! >> 4) & 0x07);
    if (flg >> 6 !== 1 || blockMax === undefined) throw corrupt('lz4', 'unsupported frame descriptor');
    at += 2;
    if ((flg & LZ4_FLG_CONTENT_SIZE) !== 0) {
      if (u32(at + 4) > 0 || u32(at) > sizeBytesMax) throw tooLarge('lz4', sizeBytesMax);
      at += 8;
    }
    if ((flg & LZ4_FLG_DICT_ID) !== 0) at += 4;
    at += 1; // header checksum, which the decoder verifies
    const blockChecksumBytes = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
    let frameMax = 0;
    let lastBlockMax = 0;
    for (let word = u32(at); word !== 0; word = u32(at)) {
      const size = (word & ~LZ4_BLOCK_UNCOMPRESSED) >>> 0;
      lastBlockMax = (word & LZ4_BLOCK_UNCOMPRESSED) !== 0 ? size : blockMax;
      frameMax += lastBlockMax;
      at += 4 + size + blockChecksumBytes;
    }
    outputAtLeast += frameMax - lastBlockMax;
    if (outputAtLeast > sizeBytesMax) throw tooLarge('lz4', sizeBytesMax);
    at += 4 + ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0 ? 4 : 0);
    if (at > data.length) throw corrupt('lz4', 'truncated frame');
    frames.push([start, at]);
  }
  if (at > data.length) throw corrupt('lz4', 'truncated skippable frame');
  let decoded: Buffer[];
  try {
    decoded = frames.map(([start, end]) => decompressFrameSync(data.subarray(start, end)));
  } catch (err) {
    throw corrupt('lz4', (err as Error).message);
  }
  const out = decoded.length === 1 ? decoded[0]! : Buffer.concat(decoded);
  if (out.length > sizeBytesMax) throw tooLarge('lz4', sizeBytesMax);
  return out;
}

// ---- zstd

/** Kafka's default zstd level (compression.zstd.level). */
const ZSTD_LEVEL = 3;
const ZSTD_CHUNK_BYTES = zstdBinding.dStreamOutSize();
// zstd-napi's high-level decompress has no output bound; the binding's streaming context
// lets us stop at one.
let zstdContext: DCtx | undefined;

function zstdDecompress(data: Buffer, sizeBytesMax: number): Buffer {
  zstdContext ??= new zstdBinding.DCtx();
  const ctx = zstdContext;
  ctx.reset(zstdBinding.ResetDirective.sessionOnly);
  const chunks: Buffer[] = [];
  let total = 0;
  let input = data;
  let pending = 0;
  try {
    while (input.length > 0 || pending !== 0) {
      // One byte past the bound tells a stream that ends exactly at it from one that goes on.
      const chunk = Buffer.allocUnsafe(Math.min(ZSTD_CHUNK_BYTES, sizeBytesMax - total + 1));
      const [remaining, produced, consumed] = ctx.decompressStream(chunk, input);
      total += produced;
      if (total > sizeBytesMax) throw tooLarge('zstd', sizeBytesMax);
      if (produced === 0 && consumed === 0) throw corrupt('zstd', 'truncated frame');
      chunks.push(chunk.subarray(0, produced));
      input = input.subarray(consumed);
      pending = remaining;
    }
  } catch (err) {
    ctx.reset(zstdBinding.ResetDirective.sessionOnly);
    if (err instanceof KafkaError) throw err;
    throw corrupt('zstd', (err as Error).message);
  }
  return Buffer.concat(chunks, total);
}

// ---- registry

const codecs = new Map<number, Codec>([
  [CODEC_GZIP, {
    compress: (data) => gzipSync(data),
    decompress: (data, sizeBytesMax) => {
      let out: Buffer;
      try {
        // zlib refuses a limit of 0; an empty batch is checked below.
        out = gunzipSync(data, { maxOutputLength: Math.max(sizeBytesMax, 1) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', sizeBytesMax);
        throw corrupt('gzip', (err as Error).message);
      }
      if (out.length > sizeBytesMax) throw tooLarge('gzip', sizeBytesMax);
      return out;
    },
  }],
  [CODEC_SNAPPY, { compress: snappyCompress, decompress: snappyDecompress }],
  [CODEC_LZ4, { compress: lz4Compress, decompress: lz4Decompress }],
  [CODEC_ZSTD, { compress: (data) => zstdCompress(data, { compressionLevel: ZSTD_LEVEL }), decompress: zstdDecompress }],
]);

export function codecFor(id: number): Codec {
  const codec = codecs.get(id);
  if (codec === undefined) {
    throw kafkaError('UNSUPPORTED_COMPRESSION_TYPE', `compression codec ${CODEC_NAMES[id] ?? id} is not available`);
  }
  return codec;
}

export function hasCodec(id: number): boolean {
  return id === CODEC_NONE || codecs.has(id);
}

const recompressView = emptyRecordView();

/**
 * Re-encodes the batch at `pos` with `targetCodec`, for a topic whose compression.type
 * names a codec other than the producer's. Header fields stay; length and CRC are new.
 * Records are copied as they are, so offsets, timestamps and headers are unchanged.
 */
export function recompressBatch(buf: Buffer, pos: number, size: number, targetCodec: number): Buffer {
  const codec = rb.batchCompression(buf, pos);
  let records = buf.subarray(pos + rb.BATCH_HEADER_BYTES, pos + size);
  if (codec !== CODEC_NONE) records = codecFor(codec).decompress(records, DECOMPRESSED_BYTES_MAX);
  const count = rb.batchRecordCount(buf, pos);
  let at = 0;
  for (let i = 0; i < count; i++) at = readRecord(records, at, records.length, recompressView);
  if (at !== records.length) throw kafkaError('INVALID_RECORD', 'bytes after the last record of the batch');
  const attributes = rb.batchAttributes(buf, pos);
  const out = assembleBatch(
    {
      baseOffset: rb.batchBaseOffset(buf, pos),
      partitionLeaderEpoch: rb.batchLeaderEpoch(buf, pos),
      compression: targetCodec,
      logAppendTime: (attributes & rb.ATTR_TIMESTAMP_LOG_APPEND) !== 0,
      transactional: (attributes & rb.ATTR_TRANSACTIONAL) !== 0,
      control: (attributes & rb.ATTR_CONTROL) !== 0,
      producerId: rb.batchProducerId(buf, pos),
      producerEpoch: rb.batchProducerEpoch(buf, pos),
      baseSequence: rb.batchBaseSequence(buf, pos),
    },
    [records], count, rb.batchLastOffsetDelta(buf, pos), rb.batchBaseTimestamp(buf, pos), rb.batchMaxTimestamp(buf, pos),
  );
  if ((attributes & rb.ATTR_DELETE_HORIZON) !== 0) {
    out.writeInt16BE(out.readInt16BE(rb.OFFSET_ATTRIBUTES) | rb.ATTR_DELETE_HORIZON, rb.OFFSET_ATTRIBUTES);
    rb.rewriteBatchCrc(out, 0, out.length);
  }
  return out;
}
