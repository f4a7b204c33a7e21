/**
 * Records inside a RecordBatch v2, decoded lazily: a walker steps through the record
 * bytes and exposes positions, so a caller that needs only keys (compaction, the
 * compacted-topic key check) never materialises values.
 *
 * Record layout (varints are zigzag, as in protobuf):
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
 *   headerCount varint | headers (keyLength varint, key, valueLength varint, value)*
 */
import { kafkaError } from '../errors.js';

/** A varint in a record is at most 5 bytes, a varlong at most 10. */
const VARINT_BYTES_MAX = 5;
const VARLONG_BYTES_MAX = 10;

/** Reads a zigzag varint; sets `cursor.pos` past it. Throws INVALID_RECORD when malformed. */
export function readVarint(buf: Uint8Array, cursor: { pos: number }, end: number): number {
  let raw = 0;
  let shift = 0;
  for (let i = 0; i < VARINT_BYTES_MAX; i++) {
    if (cursor.pos >= end) throw kafkaError('INVALID_RECORD', 'record truncated inside a varint');
    const b = buf[cursor.pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
    shift += 7;
  }
  throw kafkaError('INVALID_RECORD', 'varint longer than 5 bytes');
}

/** Reads a zigzag varlong as a JS number (exact within the safe-integer range). */
export function readVarlong(buf: Uint8Array, cursor: { pos: number }, end: number): number {
  let raw = 0n;
  let shift = 0n;
  for (let i = 0; i < VARLONG_BYTES_MAX; i++) {
    if (cursor.pos >= end) throw kafkaError('INVALID_RECORD', 'record truncated inside a varlong');
    const b = buf[cursor.pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return Number((raw >> 1n) ^ -(raw & 1n));
    shift += 7n;
  }
  throw kafkaError('INVALID_RECORD', 'varlong longer than 10 bytes');
}

export function varintSize(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function zigzag64(value: number): bigint {
  const v = BigInt(value);
  return (v << 1n) ^ (v >> 63n);
}

export function varlongSize(value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return varintSize(value);
  let v = zigzag64(value);
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}

export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return writeVarint(buf, pos, value);
  let v = zigzag64(value);
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/** One record's fields as positions into the records buffer; reused across steps. */
export interface RecordView {
  /** Start and end of the whole record, length prefix included. */
  start: number;
  end: number;
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** -1 when the key is null. */
  keyStart: number;
  keyLength: number;
  valueStart: number;
  /** -1 when the value is null (a tombstone). */
  valueLength: number;
  headerCount: number;
  headersStart: number;
}

export function emptyRecordView(): RecordView {
  return {
    start: 0, end: 0, attributes: 0, timestampDelta: 0, offsetDelta: 0,
    keyStart: -1, keyLength: -1, valueStart: -1, valueLength: -1, headerCount: 0, headersStart: 0,
  };
}

/**
 * Decodes the record starting at `pos` into `view` and returns the position after it.
 * Validates lengths against `end`; throws INVALID_RECORD rather than reading past it.
 */
export function readRecord(buf: Uint8Array, pos: number, end: number, view: RecordView): number {
  const cursor = { pos };
  const length = readVarint(buf, cursor, end);
  const recordEnd = cursor.pos + length;
  if (length < 0 || recordEnd > end) throw kafkaError('INVALID_RECORD', `record length ${length} past the batch end`);
  view.start = pos;
  view.end = recordEnd;
  if (cursor.pos >= recordEnd) throw kafkaError('INVALID_RECORD', 'empty record');
  view.attributes = buf[cursor.pos++]!;
  view.timestampDelta = readVarlong(buf, cursor, recordEnd);
  view.offsetDelta = readVarint(buf, cursor, recordEnd);
  const keyLength = readVarint(buf, cursor, recordEnd);
  if (keyLength < -1 || cursor.pos + Math.max(keyLength, 0) > recordEnd) {
    throw kafkaError('INVALID_RECORD', `record key length ${keyLength} out of range`);
  }
  view.keyLength = keyLength;
  view.keyStart = keyLength < 0 ? -1 : cursor.pos;
  cursor.pos += Math.max(keyLength, 0);
  const valueLength = readVarint(buf, cursor, recordEnd);
  if (valueLength < -1 || cursor.pos + Math.max(valueLength, 0) > recordEnd) {
    throw kafkaError('INVALID_RECORD', `record value length ${valueLength} out of range`);
  }
  view.valueLength = valueLength;
  view.valueStart = valueLength < 0 ? -1 : cursor.pos;
  cursor.pos += Math.max(valueLength, 0);
  const headerCount = readVarint(buf, cursor, recordEnd);
  if (headerCount < 0) throw kafkaError('INVALID_RECORD', `negative header count ${headerCount}`);
  view.headerCount = headerCount;
  view.headersStart = cursor.pos;
  for (let i = 0; i < headerCount; i++) {
    const hk = readVarint(buf, cursor, recordEnd);
    if (hk < 0 || cursor.pos + hk > recordEnd) throw kafkaError('INVALID_RECORD', 'header key out of range');
    cursor.pos += hk;
    const hv = readVarint(buf, cursor, recordEnd);
    if (hv < -1 || cursor.pos + Math.max(hv, 0) > recordEnd) throw kafkaError('INVALID_RECORD', 'header value out of range');
    cursor.pos += Math.max(hv, 0);
  }
  if (cursor.pos !== recordEnd) throw kafkaError('INVALID_RECORD', 'record length does not match its fields');
  return recordEnd;
}
