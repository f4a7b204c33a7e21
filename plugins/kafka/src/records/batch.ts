/**
 * RecordBatch v2 (magic 2) for the batches the frontend writes itself (the coordinators'
 * records in `__consumer_offsets` and `__transaction_state`, and `sluice produce`), and a
 * lazy reader for reading them back (the coordinators at start, `sluice consume`).
 * Plugins see the kernel only through @sluice/sdk, so the kernel's own builder is not
 * reachable from here, and bringing it into the SDK would tie every plugin to the kernel's
 * native checksum and codec libraries. Uncompressed or gzip (Node's zlib): the
 * coordinators write uncompressed batches to topics with `compression.type=producer`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

export interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

export interface RecordView {
  readonly offset: number;
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

/** Bytes from the start of a batch to its first record. */
export const BATCH_HEADER_BYTES = 61;
const OFFSET_LENGTH = 8;
const OFFSET_MAGIC = 16;
const OFFSET_CRC = 17;
const OFFSET_ATTRIBUTES = 21;
const LOG_OVERHEAD = 12;
const COMPRESSION_MASK = 0x07;
const CONTROL_FLAG = 0x20;
const TRANSACTIONAL_FLAG = 0x10;

function varintSize(x: number): number {
  let v = ((x << 1) ^ (x >> 31)) >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, x: number): number {
  let v = ((x << 1) ^ (x >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** The codecs a batch's attributes name, by their number (bits 0-2). */
export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof CODECS)[number];
const CODEC_GZIP = 1;

function recordBodySize(r: RecordInput, offsetDelta: number): number {
  const keyLen = r.key === null ? -1 : r.key.length;
  const valueLen = r.value === null ? -1 : r.value.length;
  // attributes, timestamp delta 0, offset delta, key, value, no headers
  return 1 + 1 + varintSize(offsetDelta) + varintSize(keyLen) + Math.max(keyLen, 0) + varintSize(valueLen) + Math.max(valueLen, 0) + 1;
}

/** Bytes one record takes in a batch before compression, for sizing batches before building them. */
export function recordSize(r: RecordInput, offsetDelta: number): number {
  const body = recordBodySize(r, offsetDelta);
  return varintSize(body) + body;
}

/** The producer a coordinator writes a transactional batch for (transactional offset commits). */
export interface TransactionalProducer {
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface BatchOptions {
  /** A coordinator's transactional write: the batch carries this producer, without a sequence. */
  readonly producer?: TransactionalProducer;
  readonly compression?: 'none' | 'gzip';
}

/**
 * One batch of `records` with offset deltas 0..n-1, all stamped `timestampMs`, with no
 * producer id unless `options.producer` is given. The kernel assigns the base offset and
 * leader epoch on append.
 */
export function buildBatch(records: readonly RecordInput[], timestampMs: number, options: BatchOptions = {}): Buffer {
  if (records.length === 0) throw new RangeError('a batch needs at least one record');
  const { producer } = options;
  let payload: Buffer = Buffer.allocUnsafe(records.reduce((n, r, i) => n + recordSize(r, i), 0));
  let pos = 0;
  records.forEach((r, i) => {
    pos = writeVarint(payload, pos, recordBodySize(r, i));
    payload[pos++] = 0;
    payload[pos++] = 0;
    pos = writeVarint(payload, pos, i);
    pos = writeBytes(payload, pos, r.key);
    pos = writeBytes(payload, pos, r.value);
    payload[pos++] = 0;
  });
  const gzip = options.compression === 'gzip';
  if (gzip) payload = gzipSync(payload);
  const size = BATCH_HEADER_BYTES + payload.length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(size - LOG_OVERHEAD, OFFSET_LENGTH);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, OFFSET_MAGIC);
  buf.writeInt16BE((producer === undefined ? 0 : TRANSACTIONAL_FLAG) | (gzip ? CODEC_GZIP : 0), OFFSET_ATTRIBUTES);
  buf.writeInt32BE(records.length - 1, 23);
  buf.writeBigInt64BE(BigInt(timestampMs), 27);
  buf.writeBigInt64BE(BigInt(timestampMs), 35);
  buf.writeBigInt64BE(BigInt(producer?.producerId ?? -1), 43);
  buf.writeInt16BE(producer?.producerEpoch ?? -1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(records.length, 57);
  payload.copy(buf, BATCH_HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(OFFSET_ATTRIBUTES)), OFFSET_CRC);
  return buf;
}

function writeBytes(buf: Buffer, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}

  varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('record runs past its batch');
      const b = this.buf[this.pos++]!;
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new RangeError('varint too long');
    }
    return (v >>> 1) ^ -(v & 1);
  }

  varlong(): number {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('record runs past its batch');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new RangeError('varlong too long');
    }
    return Number((v >> 1n) ^ -(v & 1n));
  }

  bytes(): Uint8Array | null {
    const n = this.varint();
    if (n < 0) return null;
    if (this.pos + n > this.end) throw new RangeError('record field runs past its batch');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/**
 * The data records of whole batches, in order, decoded one at a time. Control batches are
 * skipped; a batch compressed with anything but gzip, or with a bad CRC, throws.
 */
export function* readRecords(data: Uint8Array): Generator<RecordView> {
  for (const e of readEntries(data)) if (e.kind === 'record') yield e.record;
}

/** A record, with the producer of its batch when the batch is transactional, or a transaction marker. */
export type LogEntry =
  | { readonly kind: 'record'; readonly record: RecordView; readonly txnProducerId: number | undefined }
  | { readonly kind: 'marker'; readonly offset: number; readonly producerId: number; readonly commit: boolean };

/** Like readRecords, with transactional batches' producers and the COMMIT/ABORT markers. */
export function* readEntries(data: Uint8Array): Generator<LogEntry> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFFSET_LENGTH);
    if (pos + size > buf.length) break;
    const magic = buf.readInt8(pos + OFFSET_MAGIC);
    if (magic !== 2) throw new RangeError(`record batch magic ${magic} is not 2`);
    const crc = crc32c(buf.subarray(pos + OFFSET_ATTRIBUTES, pos + size));
    if (crc !== buf.readUInt32BE(pos + OFFSET_CRC)) throw new RangeError('record batch CRC mismatch');
    const attributes = buf.readInt16BE(pos + OFFSET_ATTRIBUTES);
    const codec = attributes & COMPRESSION_MASK;
    if (codec !== 0 && codec !== CODEC_GZIP) {
      throw new RangeError(`batch at offset ${buf.readBigInt64BE(pos)} is ${CODECS[codec] ?? 'unknown'}-compressed; only uncompressed and gzip batches are read here`);
    }
    const producerId = Number(buf.readBigInt64BE(pos + 43));
    if ((attributes & CONTROL_FLAG) !== 0) {
      const c = new Cursor(buf, pos + BATCH_HEADER_BYTES, pos + size);
      c.varint();
      c.pos++;
      c.varlong();
      c.varint();
      const key = c.bytes();
      // Control record key: int16 version, int16 type (0 ABORT, 1 COMMIT; others are not markers).
      if (key !== null && key.length >= 4) {
        const type = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readInt16BE(2);
        if (type === 0 || type === 1) yield { kind: 'marker', offset: Number(buf.readBigInt64BE(pos)), producerId, commit: type === 1 };
      }
    } else {
      const txnProducerId = (attributes & TRANSACTIONAL_FLAG) !== 0 ? producerId : undefined;
      const baseOffset = Number(buf.readBigInt64BE(pos));
      const baseTimestamp = Number(buf.readBigInt64BE(pos + 27));
      const count = buf.readInt32BE(pos + 57);
      const body = codec === CODEC_GZIP ? gunzipSync(buf.subarray(pos + BATCH_HEADER_BYTES, pos + size)) : buf;
      const c = codec === CODEC_GZIP ? new Cursor(body, 0, body.length) : new Cursor(buf, pos + BATCH_HEADER_BYTES, pos + size);
      for (let i = 0; i < count; i++) {
        const length = c.varint();
        const next = c.pos + length;
        c.pos++;
        const timestampDelta = c.varlong();
        const offsetDelta = c.varint();
        const key = c.bytes();
        const value = c.bytes();
        c.pos = next;
        yield { kind: 'record', record: { offset: baseOffset + offsetDelta, timestampMs: baseTimestamp + timestampDelta, key, value }, txnProducerId };
      }
    }
    pos += size;
  }
}

/** The offset after the last whole batch in `data`, or undefined when it holds none. */
export function batchesEnd(data: Uint8Array): number | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let end: number | undefined;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFFSET_LENGTH);
    if (size < BATCH_HEADER_BYTES || pos + size > buf.length) break;
    end = Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23) + 1;
    pos += size;
  }
  return end;
}
