/** Test helpers that read a PartitionLog back as records, decoding what a consumer would. */
import { asOffset } from '@sluice/sdk';
import { codecFor, CODEC_NONE } from '../src/log/compression.js';
import type { PartitionLog } from '../src/log/partition-log.js';
import * as rb from '../src/log/record-batch.js';
import { emptyRecordView, readRecord } from '../src/log/records.js';

export interface DecodedRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestampMs: number;
}

export interface DecodedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly attributes: number;
  readonly producerId: number;
  readonly baseSequence: number;
  readonly records: DecodedRecord[];
}

export function decodeBatches(input: Uint8Array): DecodedBatch[] {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const out: DecodedBatch[] = [];
  const view = emptyRecordView();
  for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) {
    const size = rb.batchSize(buf, pos);
    if (!rb.batchCrcValid(buf, pos, size)) throw new Error(`bad CRC at ${rb.batchBaseOffset(buf, pos)}`);
    const codec = rb.batchCompression(buf, pos);
    let data = buf.subarray(pos + rb.BATCH_HEADER_BYTES, pos + size);
    if (codec !== CODEC_NONE) data = codecFor(codec).decompress(data, 64 << 20);
    const base = rb.batchBaseOffset(buf, pos);
    const baseTs = rb.batchBaseTimestamp(buf, pos);
    const records: DecodedRecord[] = [];
    let at = 0;
    for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
      at = readRecord(data, at, data.length, view);
      records.push({
        offset: base + view.offsetDelta,
        key: view.keyLength < 0 ? null : data.toString('utf8', view.keyStart, view.keyStart + view.keyLength),
        value: view.valueLength < 0 ? null : data.toString('utf8', view.valueStart, view.valueStart + view.valueLength),
        timestampMs: baseTs + view.timestampDelta,
      });
    }
    if (at !== data.length) throw new Error(`batch ${base} has bytes after its records`);
    out.push({
      baseOffset: base, lastOffset: rb.batchLastOffset(buf, pos), attributes: rb.batchAttributes(buf, pos),
      producerId: rb.batchProducerId(buf, pos), baseSequence: rb.batchBaseSequence(buf, pos), records,
    });
  }
  return out;
}

/** Every batch readable from the log start up to the high watermark, as Fetch would return them. */
export function readAllBatches(log: PartitionLog): DecodedBatch[] {
  const batches: DecodedBatch[] = [];
  let next = Number(log.logStartOffset);
  while (next < log.highWatermark) {
    const got = decodeBatches(log.read(asOffset(next), 64 * 1024, 'read_uncommitted').records);
    if (got.length === 0) break;
    for (const b of got) {
      if (b.lastOffset < next) continue;
      batches.push(b);
      next = b.lastOffset + 1;
    }
  }
  return batches;
}

export function readAllRecords(log: PartitionLog): DecodedRecord[] {
  return readAllBatches(log).flatMap((b) => b.records.filter((r) => r.offset >= log.logStartOffset));
}

/** The first `count` records at or after `offset`, read as a consumer fetching from there would. */
export function recordsFrom(log: PartitionLog, offset: number, count: number): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let next = offset;
  while (out.length < count && next < log.highWatermark) {
    const got = decodeBatches(log.read(asOffset(next), 1, 'read_uncommitted').records);
    if (got.length === 0) break;
    for (const b of got) {
      out.push(...b.records.filter((r) => r.offset >= next));
      next = Math.max(next, b.lastOffset + 1);
    }
  }
  return out.slice(0, count);
}
