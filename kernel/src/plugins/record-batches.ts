/**
 * The lazy record view interceptors receive (`RecordBatches` of @sluice/sdk). Reading
 * `recordCount` touches only batch headers; `records()` decodes and decompresses once, on
 * first call, so an interceptor that decides on the topic alone costs no decoding.
 */
import type { LogRecord, RecordBatches } from '@sluice/sdk';
import { kafkaError } from '../errors.js';
import { buildBatch } from '../log/batch-builder.js';
import { codecFor, CODEC_NONE } from '../log/compression.js';
import { DECOMPRESSED_BYTES_MAX } from '../log/compacted-keys.js';
import * as rb from '../log/record-batch.js';
import { emptyRecordView, readRecord, readVarint } from '../log/records.js';

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Start positions of the whole batches in `buf`; throws CORRUPT_MESSAGE on a torn one. */
function batchStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < rb.BATCH_HEADER_BYTES) throw kafkaError('CORRUPT_MESSAGE', 'truncated batch header');
    const size = rb.batchSize(buf, pos);
    if (size < rb.BATCH_HEADER_BYTES || pos + size > buf.length) throw kafkaError('CORRUPT_MESSAGE', `batch size ${size} out of range`);
    starts.push(pos);
    pos += size;
  }
  return starts;
}

class LazyRecordBatches implements RecordBatches {
  private readonly buf: Buffer;
  private decoded: readonly LogRecord[] | undefined;
  private count = -1;

  constructor(readonly bytes: Uint8Array) {
    this.buf = asBuffer(bytes);
  }

  get recordCount(): number {
    if (this.count < 0) this.count = batchStarts(this.buf).reduce((n, pos) => n + rb.batchRecordCount(this.buf, pos), 0);
    return this.count;
  }

  records(): readonly LogRecord[] {
    this.decoded ??= decodeAll(this.buf);
    return this.decoded;
  }

  withRecords(records: readonly LogRecord[]): RecordBatches {
    const buf = this.buf;
    const first = batchStarts(buf)[0];
    if (first === undefined) throw kafkaError('CORRUPT_MESSAGE', 'no batch to take producer fields from');
    const attributes = rb.batchAttributes(buf, first);
    const built = buildBatch(records.map((r) => ({
      key: r.key, value: r.value, timestampMs: r.timestampMs,
      headers: r.headers.map(([k, v]) => [Buffer.from(k, 'utf8'), v] as const),
    })), {
      producerId: rb.batchProducerId(buf, first), producerEpoch: rb.batchProducerEpoch(buf, first),
      baseSequence: rb.batchBaseSequence(buf, first), transactional: (attributes & rb.ATTR_TRANSACTIONAL) !== 0,
      compression: CODEC_NONE,
    });
    return new LazyRecordBatches(built);
  }
}

function decodeAll(buf: Buffer): LogRecord[] {
  const out: LogRecord[] = [];
  const view = emptyRecordView();
  for (const pos of batchStarts(buf)) {
    const size = rb.batchSize(buf, pos);
    const codec = rb.batchCompression(buf, pos);
    let records = buf.subarray(pos + rb.BATCH_HEADER_BYTES, pos + size);
    if (codec !== CODEC_NONE) records = codecFor(codec).decompress(records, DECOMPRESSED_BYTES_MAX);
    const baseTimestamp = rb.batchBaseTimestamp(buf, pos);
    const count = rb.batchRecordCount(buf, pos);
    let at = 0;
    for (let i = 0; i < count; i++) {
      at = readRecord(records, at, records.length, view);
      const headers: Array<readonly [string, Uint8Array | null]> = [];
      const cursor = { pos: view.headersStart };
      for (let h = 0; h < view.headerCount; h++) {
        const kl = readVarint(records, cursor, view.end);
        const key = records.toString('utf8', cursor.pos, cursor.pos + kl);
        cursor.pos += kl;
        const vl = readVarint(records, cursor, view.end);
        headers.push([key, vl < 0 ? null : records.subarray(cursor.pos, cursor.pos + vl)]);
        cursor.pos += Math.max(vl, 0);
      }
      out.push({
        offsetDelta: view.offsetDelta, timestampMs: baseTimestamp + view.timestampDelta,
        key: view.keyStart < 0 ? null : records.subarray(view.keyStart, view.keyStart + view.keyLength),
        value: view.valueStart < 0 ? null : records.subarray(view.valueStart, view.valueStart + view.valueLength),
        headers,
      });
    }
  }
  return out;
}

export function recordBatches(bytes: Uint8Array): RecordBatches {
  return new LazyRecordBatches(bytes);
}
