/**
 * RecordBatch v2 as the console commands write and read it: plain records (no headers
 * written, no transactions), uncompressed or gzip.
 *
 * Written here rather than shared with the kernel's encoder: a plugin cannot import the
 * kernel, and moving that encoder into the SDK would bring a native checksum library and
 * the kernel's compression codecs into the API every plugin depends on, for two commands.
 * The format is small and fixed, and the broker validates every batch it is sent.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

export interface OutRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

export interface InRecord extends OutRecord {
  readonly offset: number;
  readonly timestampMs: number;
}

/** The codecs a batch's attributes name, by their number (bits 0-2). */
export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof CODECS)[number];

const HEADER_BYTES = 61;
/** The base offset and the length field, which the length does not count. */
const LOG_OVERHEAD_BYTES = 12;
const OFFSET_LENGTH = 8;
const OFFSET_LEADER_EPOCH = 12;
const OFFSET_MAGIC = 16;
const OFFSET_CRC = 17;
const OFFSET_ATTRIBUTES = 21;
const OFFSET_LAST_OFFSET_DELTA = 23;
const OFFSET_BASE_TIMESTAMP = 27;
const OFFSET_MAX_TIMESTAMP = 35;
const OFFSET_PRODUCER_ID = 43;
const OFFSET_PRODUCER_EPOCH = 51;
const OFFSET_BASE_SEQUENCE = 53;
const OFFSET_RECORD_COUNT = 57;
const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_CONTROL = 0x20;
const NO_PRODUCER_ID = -1n;

/** Bytes `encodeBatch` adds around the records, for sizing batches before encoding them. */
export const BATCH_OVERHEAD_BYTES = HEADER_BYTES;

/** The size of one record in a batch, before compression. */
export function recordSize(r: OutRecord, offsetDelta: number): number {
  const body = bodySize(r, offsetDelta);
  return varintSize(body) + body;
}

function bodySize(r: OutRecord, offsetDelta: number): number {
  const keyLength = r.key?.length ?? -1;
  const valueLength = r.value?.length ?? -1;
  // attributes, timestamp delta 0, offset delta, key, value, no headers
  return 1 + 1 + varintSize(offsetDelta) + varintSize(keyLength) + Math.max(keyLength, 0)
    + varintSize(valueLength) + Math.max(valueLength, 0) + 1;
}

/** One batch of `records`, all stamped with `timestampMs` (CreateTime). */
export function encodeBatch(records: readonly OutRecord[], timestampMs: number, compression: 'none' | 'gzip'): Buffer {
  let size = 0;
  records.forEach((r, i) => (size += recordSize(r, i)));
  let payload = Buffer.allocUnsafe(size);
  let pos = 0;
  records.forEach((r, i) => {
    pos = writeVarint(payload, pos, bodySize(r, i));
    payload[pos++] = 0;
    pos = writeVarint(payload, pos, 0);
    pos = writeVarint(payload, pos, i);
    pos = writeBytes(payload, pos, r.key);
    pos = writeBytes(payload, pos, r.value);
    pos = writeVarint(payload, pos, 0);
  });
  if (compression === 'gzip') payload = gzipSync(payload);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeBigInt64BE(0n, 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, OFFSET_LENGTH);
  out.writeInt32BE(-1, OFFSET_LEADER_EPOCH);
  out[OFFSET_MAGIC] = 2;
  out.writeInt16BE(CODECS.indexOf(compression), OFFSET_ATTRIBUTES);
  out.writeInt32BE(records.length - 1, OFFSET_LAST_OFFSET_DELTA);
  out.writeBigInt64BE(BigInt(timestampMs), OFFSET_BASE_TIMESTAMP);
  out.writeBigInt64BE(BigInt(timestampMs), OFFSET_MAX_TIMESTAMP);
  out.writeBigInt64BE(NO_PRODUCER_ID, OFFSET_PRODUCER_ID);
  out.writeInt16BE(-1, OFFSET_PRODUCER_EPOCH);
  out.writeInt32BE(-1, OFFSET_BASE_SEQUENCE);
  out.writeInt32BE(records.length, OFFSET_RECORD_COUNT);
  payload.copy(out, HEADER_BYTES);
  out.writeUInt32BE(crc32c(out.subarray(OFFSET_ATTRIBUTES)), OFFSET_CRC);
  return out;
}

/**
 * The data records of a Fetch answer's record set from `fromOffset` on, and the offset to
 * fetch next. A batch cut off at the end (the broker's size limit) is left for the next
 * fetch, as consumers do; control batches (transaction markers) carry no data but are
 * stepped over.
 */
export function decodeRecords(records: Uint8Array, fromOffset: number): { records: InRecord[]; nextOffset: number } {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.length);
  const out: InRecord[] = [];
  let nextOffset = fromOffset;
  let pos = 0;
  while (pos + OFFSET_MAGIC + 1 <= buf.length) {
    const baseOffset = Number(buf.readBigInt64BE(pos));
    const end = pos + LOG_OVERHEAD_BYTES + buf.readInt32BE(pos + OFFSET_LENGTH);
    if (end > buf.length) break;
    const magic = buf[pos + OFFSET_MAGIC]!;
    if (magic !== 2) throw new Error(`batch at offset ${baseOffset} has message format v${magic}; only v2 is read`);
    if (end < pos + HEADER_BYTES) throw new Error(`batch at offset ${baseOffset} is shorter than its header`);
    const batch = buf.subarray(pos, end);
    pos = end;
    if (crc32c(batch.subarray(OFFSET_ATTRIBUTES)) !== batch.readUInt32BE(OFFSET_CRC)) {
      throw new Error(`batch at offset ${baseOffset} fails its CRC check`);
    }
    nextOffset = Math.max(nextOffset, baseOffset + batch.readInt32BE(OFFSET_LAST_OFFSET_DELTA) + 1);
    const attributes = batch.readInt16BE(OFFSET_ATTRIBUTES);
    if ((attributes & ATTR_CONTROL) !== 0) continue;
    const codec = CODECS[attributes & ATTR_COMPRESSION_MASK];
    let body = batch.subarray(HEADER_BYTES);
    if (codec === 'gzip') body = gunzipSync(body);
    else if (codec !== 'none') {
      throw new Error(`batch at offset ${baseOffset} is ${codec ?? 'unknown'}-compressed; this consumer reads uncompressed and gzip batches`);
    }
    const baseTimestamp = Number(batch.readBigInt64BE(OFFSET_BASE_TIMESTAMP));
    decodeBody(body, batch.readInt32BE(OFFSET_RECORD_COUNT), baseOffset, baseTimestamp, fromOffset, out);
  }
  return { records: out, nextOffset };
}

function decodeBody(body: Buffer, count: number, baseOffset: number, baseTimestamp: number, fromOffset: number, out: InRecord[]): void {
  const at = { pos: 0 };
  for (let i = 0; i < count; i++) {
    const length = readVarint(body, at);
    const next = at.pos + length;
    at.pos += 1;
    const timestampDelta = readVarint(body, at);
    const offset = baseOffset + readVarint(body, at);
    const key = readBytes(body, at);
    const value = readBytes(body, at);
    at.pos = next;
    if (offset >= fromOffset) out.push({ offset, timestampMs: baseTimestamp + timestampDelta, key, value });
  }
  if (at.pos !== body.length) throw new Error(`batch at offset ${baseOffset} does not hold the ${count} records it counts`);
}

function varintSize(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 0x80);
    size++;
  }
  return size;
}

/** Zigzag varints on numbers, so that one routine serves Kafka's varint and varlong. */
function writeVarint(buf: Buffer, pos: number, value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 0x80) {
    buf[pos++] = (zigzag % 0x80) | 0x80;
    zigzag = Math.floor(zigzag / 0x80);
  }
  buf[pos++] = zigzag;
  return pos;
}

function writeBytes(buf: Buffer, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function readVarint(buf: Buffer, at: { pos: number }): number {
  let zigzag = 0;
  for (let scale = 1; ; scale *= 0x80) {
    if (at.pos >= buf.length || scale > 2 ** 63) throw new Error('a record is cut off or holds a malformed varint');
    const b = buf[at.pos++]!;
    zigzag += (b & 0x7f) * scale;
    if (b < 0x80) break;
  }
  return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
}

function readBytes(buf: Buffer, at: { pos: number }): Uint8Array | null {
  const length = readVarint(buf, at);
  if (length < 0) return null;
  if (at.pos + length > buf.length) throw new Error('a record is cut off');
  const bytes = buf.subarray(at.pos, at.pos + length);
  at.pos += length;
  return bytes;
}
