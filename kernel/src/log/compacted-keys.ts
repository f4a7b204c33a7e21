/**
 * Compacted topics need a key on every record (Kafka rejects keyless records with
 * INVALID_RECORD), because compaction keeps the last record per key. This is the one
 * produce-path check that has to look inside a batch; it walks record headers in place
 * and decompresses only when the batch is compressed.
 */
import { kafkaError } from '../errors.js';
import { codecFor, CODEC_NONE } from './compression.js';
import * as rb from './record-batch.js';
import { emptyRecordView, readRecord } from './records.js';

const view = emptyRecordView();

export function checkCompactedKeys(buf: Buffer, pos: number, size: number): void {
  const codec = rb.batchCompression(buf, pos);
  let records = buf;
  let start = pos + rb.BATCH_HEADER_BYTES;
  let end = pos + size;
  if (codec !== CODEC_NONE) {
    records = codecFor(codec).decompress(buf.subarray(start, end), DECOMPRESSED_BYTES_MAX);
    start = 0;
    end = records.length;
  }
  const count = rb.batchRecordCount(buf, pos);
  let at = start;
  for (let i = 0; i < count; i++) {
    at = readRecord(records, at, end, view);
    if (view.keyLength < 0) {
      throw kafkaError('INVALID_RECORD', 'compacted topic records must have a key');
    }
  }
}

/** Bound on a decompressed batch inspected by the broker (a compression bomb is refused). */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;
