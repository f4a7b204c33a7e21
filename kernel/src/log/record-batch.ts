/**
 * RecordBatch v2 (magic 2), the unit Sluice stores: bytes on disk are bytes on the wire.
 *
 * Byte layout (big-endian), as Kafka defines it:
 *
 *   0  baseOffset            int64   rewritten by the broker on append
 *   8  batchLength           int32   bytes after this field
 *  12  partitionLeaderEpoch  int32   rewritten by the broker on append
 *  16  magic                 int8    must be 2
 *  17  crc                   uint32  CRC-32C of bytes [21, end)
 *  21  attributes            int16   bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control,
 *                                    6 delete horizon (baseTimestamp holds it; set by compaction)
 *  23  lastOffsetDelta       int32
 *  27  baseTimestamp         int64
 *  35  maxTimestamp          int64   rewritten (with the CRC) when the topic uses LogAppendTime
 *  43  producerId            int64
 *  51  producerEpoch         int16
 *  53  baseSequence          int32
 *  57  recordCount           int32
 *  61  records...
 *
 * baseOffset and partitionLeaderEpoch are outside the CRC, so assigning offsets and
 * stamping the epoch costs no checksum. Every function here works on a buffer and a
 * byte position; nothing allocates per batch.
 */
import { crc32c } from './crc32c.js';
import { kafkaError } from '../errors.js';

export const BATCH_HEADER_BYTES = 61;
/** Bytes before batchLength's count begins: baseOffset + batchLength. */
export const LOG_OVERHEAD_BYTES = 12;

export const OFFSET_BASE = 0;
export const OFFSET_LENGTH = 8;
export const OFFSET_LEADER_EPOCH = 12;
export const OFFSET_MAGIC = 16;
export const OFFSET_CRC = 17;
export const OFFSET_ATTRIBUTES = 21;
export const OFFSET_LAST_OFFSET_DELTA = 23;
export const OFFSET_BASE_TIMESTAMP = 27;
export const OFFSET_MAX_TIMESTAMP = 35;
export const OFFSET_PRODUCER_ID = 43;
export const OFFSET_PRODUCER_EPOCH = 51;
export const OFFSET_BASE_SEQUENCE = 53;
export const OFFSET_RECORD_COUNT = 57;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_LOG_APPEND = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
/** Set by the cleaner on batches holding tombstones: they may go once baseTimestamp has passed (KIP-534). */
export const ATTR_DELETE_HORIZON = 0x40;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

const TWO_32 = 4294967296;

export function batchBaseOffset(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}
export function setBatchBaseOffset(buf: Buffer, pos: number, offset: number): void {
  const hi = Math.floor(offset / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(offset - hi * TWO_32, pos + 4);
}
/** Whole batch size in bytes, header included. */
export function batchSize(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_LENGTH) + LOG_OVERHEAD_BYTES;
}
export function batchLeaderEpoch(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_LEADER_EPOCH);
}
export function setBatchLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + OFFSET_LEADER_EPOCH);
}
export function batchAttributes(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + OFFSET_ATTRIBUTES);
}
export function batchLastOffsetDelta(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA);
}
export function batchLastOffset(buf: Buffer, pos: number): number {
  return batchBaseOffset(buf, pos) + batchLastOffsetDelta(buf, pos);
}
export function batchBaseTimestamp(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_BASE_TIMESTAMP) * TWO_32 + buf.readUInt32BE(pos + OFFSET_BASE_TIMESTAMP + 4);
}
export function batchMaxTimestamp(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_MAX_TIMESTAMP) * TWO_32 + buf.readUInt32BE(pos + OFFSET_MAX_TIMESTAMP + 4);
}
export function batchProducerId(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_PRODUCER_ID) * TWO_32 + buf.readUInt32BE(pos + OFFSET_PRODUCER_ID + 4);
}
export function batchProducerEpoch(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + OFFSET_PRODUCER_EPOCH);
}
export function batchBaseSequence(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_BASE_SEQUENCE);
}
export function batchRecordCount(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_RECORD_COUNT);
}
export function batchCompression(buf: Buffer, pos: number): number {
  return batchAttributes(buf, pos) & ATTR_COMPRESSION_MASK;
}
export function batchIsControl(buf: Buffer, pos: number): boolean {
  return (batchAttributes(buf, pos) & ATTR_CONTROL) !== 0;
}
export function batchIsTransactional(buf: Buffer, pos: number): boolean {
  return (batchAttributes(buf, pos) & ATTR_TRANSACTIONAL) !== 0;
}
/** Last sequence of the batch, wrapping at int32 as Kafka does. */
export function batchLastSequence(buf: Buffer, pos: number): number {
  const base = batchBaseSequence(buf, pos);
  if (base === NO_SEQUENCE) return NO_SEQUENCE;
  const last = base + batchLastOffsetDelta(buf, pos);
  return last > 0x7fffffff ? last - 0x80000000 : last;
}

export function computeBatchCrc(buf: Buffer, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + OFFSET_ATTRIBUTES, pos + size));
}
export function batchCrcValid(buf: Buffer, pos: number, size: number): boolean {
  return buf.readUInt32BE(pos + OFFSET_CRC) === computeBatchCrc(buf, pos, size);
}
export function rewriteBatchCrc(buf: Buffer, pos: number, size: number): void {
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + OFFSET_CRC);
}

/** Sets LogAppendTime: the timestamp-type bit and maxTimestamp, then a new CRC. */
export function stampLogAppendTime(buf: Buffer, pos: number, size: number, nowMs: number): void {
  buf.writeInt16BE(batchAttributes(buf, pos) | ATTR_TIMESTAMP_LOG_APPEND, pos + OFFSET_ATTRIBUTES);
  const hi = Math.floor(nowMs / TWO_32);
  buf.writeInt32BE(hi, pos + OFFSET_MAX_TIMESTAMP);
  buf.writeUInt32BE(nowMs - hi * TWO_32, pos + OFFSET_MAX_TIMESTAMP + 4);
  rewriteBatchCrc(buf, pos, size);
}

/**
 * How the next batch at `pos` looks without trusting it: `need` more bytes, a
 * complete batch of `size` bytes, or `corrupt` (a header no valid batch has).
 * Used by recovery, where a torn tail is expected.
 */
export type BatchProbe =
  | { readonly kind: 'need'; readonly bytes: number }
  | { readonly kind: 'batch'; readonly size: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

export function probeBatch(buf: Buffer, pos: number, end: number, sizeBytesMax: number): BatchProbe {
  const available = end - pos;
  if (available < LOG_OVERHEAD_BYTES) return { kind: 'need', bytes: LOG_OVERHEAD_BYTES - available };
  const length = buf.readInt32BE(pos + OFFSET_LENGTH);
  const size = length + LOG_OVERHEAD_BYTES;
  if (size < BATCH_HEADER_BYTES) return { kind: 'corrupt', reason: `batch length ${length} below the header size` };
  if (size > sizeBytesMax) return { kind: 'corrupt', reason: `batch length ${length} above the limit ${sizeBytesMax}` };
  if (available < BATCH_HEADER_BYTES) return { kind: 'need', bytes: BATCH_HEADER_BYTES - available };
  if (buf[pos + OFFSET_MAGIC] !== 2) return { kind: 'corrupt', reason: `magic ${buf[pos + OFFSET_MAGIC]}` };
  if (available < size) return { kind: 'need', bytes: size - available };
  return { kind: 'batch', size };
}

/**
 * Checks a producer's batch before it is stored: whole, magic 2, sane counts and CRC.
 * Throws the Kafka error a producer expects; the buffer is not modified.
 */
export function validateProducedBatch(buf: Buffer, pos: number, end: number): number {
  const available = end - pos;
  if (available < BATCH_HEADER_BYTES) {
    throw kafkaError('CORRUPT_MESSAGE', `truncated batch: ${available} bytes left, header needs ${BATCH_HEADER_BYTES}`);
  }
  const magic = buf[pos + OFFSET_MAGIC];
  if (magic !== 2) throw kafkaError('CORRUPT_MESSAGE', `record batch magic ${magic}: only v2 (magic 2) is supported`);
  const size = batchSize(buf, pos);
  if (size < BATCH_HEADER_BYTES || size > available) {
    throw kafkaError('CORRUPT_MESSAGE', `batch length ${size - LOG_OVERHEAD_BYTES} does not fit the ${available} bytes given`);
  }
  if (!batchCrcValid(buf, pos, size)) throw kafkaError('CORRUPT_MESSAGE', 'record batch CRC-32C mismatch');
  const count = batchRecordCount(buf, pos);
  const lastDelta = batchLastOffsetDelta(buf, pos);
  if (count <= 0) throw kafkaError('INVALID_RECORD', `record batch with ${count} records`);
  if (lastDelta !== count - 1) {
    throw kafkaError('INVALID_RECORD', `lastOffsetDelta ${lastDelta} does not match record count ${count}`);
  }
  if (batchIsControl(buf, pos)) throw kafkaError('INVALID_RECORD', 'producers may not write control batches');
  return size;
}
