/**
 * Encodes RecordBatch v2: used where the broker itself writes batches (its metadata
 * log, compaction's rewritten batches, tests and benchmarks). Sizes first, then writes
 * into one buffer.
 */
import * as rb from './record-batch.js';
import { codecFor, CODEC_NONE } from './compression.js';
import { varintSize, varlongSize, writeVarint, writeVarlong } from './records.js';

export interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** Absolute timestamp in ms; defaults to the batch's base timestamp. */
  readonly timestampMs?: number;
  readonly headers?: ReadonlyArray<readonly [Uint8Array, Uint8Array | null]>;
}

export interface BatchFields {
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
  readonly compression?: number;
  readonly logAppendTime?: boolean;
  readonly transactional?: boolean;
  readonly control?: boolean;
  readonly baseTimestampMs?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
}

/** Encodes records with offset deltas 0..n-1 into one batch. */
export function buildBatch(records: readonly RecordInput[], fields: BatchFields = {}): Buffer {
  if (records.length === 0) throw new RangeError('a batch needs at least one record');
  const baseTimestamp = fields.baseTimestampMs ?? records[0]!.timestampMs ?? 0;
  let maxTimestamp = -1;
  const encoded: Buffer[] = [];
  records.forEach((r, i) => {
    const ts = r.timestampMs ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    encoded.push(encodeRecord(r, ts - baseTimestamp, i));
  });
  return assembleBatch(fields, encoded, records.length, records.length - 1, baseTimestamp, maxTimestamp);
}

export function encodeRecord(r: RecordInput, timestampDelta: number, offsetDelta: number): Buffer {
  const keyLen = r.key === null ? -1 : r.key.length;
  const valueLen = r.value === null ? -1 : r.value.length;
  const headers = r.headers ?? [];
  let body = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta);
  body += varintSize(keyLen) + Math.max(keyLen, 0) + varintSize(valueLen) + Math.max(valueLen, 0);
  body += varintSize(headers.length);
  for (const [hk, hv] of headers) {
    body += varintSize(hk.length) + hk.length + varintSize(hv === null ? -1 : hv.length) + (hv?.length ?? 0);
  }
  const out = Buffer.allocUnsafe(varintSize(body) + body);
  let pos = writeVarint(out, 0, body);
  out[pos++] = 0;
  pos = writeVarlong(out, pos, timestampDelta);
  pos = writeVarint(out, pos, offsetDelta);
  pos = writeVarint(out, pos, keyLen);
  if (r.key !== null) pos += Buffer.from(r.key.buffer, r.key.byteOffset, r.key.length).copy(out, pos);
  pos = writeVarint(out, pos, valueLen);
  if (r.value !== null) pos += Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length).copy(out, pos);
  pos = writeVarint(out, pos, headers.length);
  for (const [hk, hv] of headers) {
    pos = writeVarint(out, pos, hk.length);
    pos += Buffer.from(hk.buffer, hk.byteOffset, hk.length).copy(out, pos);
    pos = writeVarint(out, pos, hv === null ? -1 : hv.length);
    if (hv !== null) pos += Buffer.from(hv.buffer, hv.byteOffset, hv.length).copy(out, pos);
  }
  return out;
}

/**
 * Wraps already-encoded records in a batch header. `lastOffsetDelta` is explicit because
 * compaction keeps a batch's last offset even when it drops its last records.
 */
export function assembleBatch(
  fields: BatchFields,
  encodedRecords: readonly Buffer[],
  recordCount: number,
  lastOffsetDelta: number,
  baseTimestampMs: number,
  maxTimestampMs: number,
): Buffer {
  const compression = fields.compression ?? CODEC_NONE;
  let payload: Buffer = Buffer.concat(encodedRecords);
  if (compression !== CODEC_NONE) payload = codecFor(compression).compress(payload);
  const size = rb.BATCH_HEADER_BYTES + payload.length;
  const out = Buffer.allocUnsafe(size);
  rb.setBatchBaseOffset(out, 0, fields.baseOffset ?? 0);
  out.writeInt32BE(size - rb.LOG_OVERHEAD_BYTES, rb.OFFSET_LENGTH);
  out.writeInt32BE(fields.partitionLeaderEpoch ?? rb.NO_PARTITION_LEADER_EPOCH, rb.OFFSET_LEADER_EPOCH);
  out[rb.OFFSET_MAGIC] = 2;
  let attributes = compression;
  if (fields.logAppendTime === true) attributes |= rb.ATTR_TIMESTAMP_LOG_APPEND;
  if (fields.transactional === true) attributes |= rb.ATTR_TRANSACTIONAL;
  if (fields.control === true) attributes |= rb.ATTR_CONTROL;
  out.writeInt16BE(attributes, rb.OFFSET_ATTRIBUTES);
  out.writeInt32BE(lastOffsetDelta, rb.OFFSET_LAST_OFFSET_DELTA);
  writeInt64At(out, rb.OFFSET_BASE_TIMESTAMP, baseTimestampMs);
  writeInt64At(out, rb.OFFSET_MAX_TIMESTAMP, maxTimestampMs);
  writeInt64At(out, rb.OFFSET_PRODUCER_ID, fields.producerId ?? rb.NO_PRODUCER_ID);
  out.writeInt16BE(fields.producerEpoch ?? rb.NO_PRODUCER_EPOCH, rb.OFFSET_PRODUCER_EPOCH);
  out.writeInt32BE(fields.baseSequence ?? rb.NO_SEQUENCE, rb.OFFSET_BASE_SEQUENCE);
  out.writeInt32BE(recordCount, rb.OFFSET_RECORD_COUNT);
  payload.copy(out, rb.BATCH_HEADER_BYTES);
  rb.rewriteBatchCrc(out, 0, size);
  return out;
}

function writeInt64At(buf: Buffer, pos: number, value: number): void {
  buf.writeBigInt64BE(BigInt(value), pos);
}
