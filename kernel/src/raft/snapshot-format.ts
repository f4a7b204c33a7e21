/**
 * The bytes of a Raft snapshot, in KRaft's layout (KIP-630): RecordBatch v2 batches back to
 * back, as a log segment holds them.
 *
 *   batch 0      control batch, one record: key = control key SNAPSHOT_HEADER (int16 version 0,
 *                int16 type 3), value = SnapshotHeaderRecord v0 (int16 version 0,
 *                int64 lastContainedLogTimestamp, uvarint 0 tagged fields)
 *   (optional)   two control batches of one record each: KRAFT_VERSION (type 5) holding
 *                KRaftVersionRecord, then KRAFT_VOTERS (type 6) holding the VotersRecord of
 *                the voter set in effect at the snapshot's end offset, as KRaft writes them
 *                when the voter set is dynamic (KIP-853); a static set writes neither
 *   batch 1..n   ordinary batches (producer id -1, uncompressed) of up to
 *                SNAPSHOT_BATCH_RECORDS_MAX records each: key null, value = one state record
 *                (opaque here; the metadata layer writes KRaft metadata records)
 *   batch n+1    control batch, one record: key = SNAPSHOT_FOOTER (version 0, type 4),
 *                value = SnapshotFooterRecord v0 (int16 version 0, uvarint 0 tagged fields)
 * Offsets count records from 0; every batch's partitionLeaderEpoch is the snapshot's epoch.
 *
 * Completeness: a snapshot is whole only if every batch passes its CRC, base offsets run on
 * from 0 and every batch has the first one's epoch (the fields outside the CRC), the first is
 * the header, the last the footer, and nothing follows it. Anything else (a torn or cut file) is
 * not a snapshot; `decodeSnapshot` throws and the store ignores the file.
 */
import { buildBatch } from '../log/batch-builder.js';
import * as rb from '../log/record-batch.js';
import { emptyRecordView, readRecord } from '../log/records.js';
import type { OffsetAndEpoch } from './types.js';
import { decodeVotersRecord, encodeKRaftVersionRecord, encodeVotersRecord, type VoterSet } from './voter-set.js';

/** State records per data batch: bounds the batch a reader decodes at once. */
const SNAPSHOT_BATCH_RECORDS_MAX = 1000;
const SNAPSHOT_HEADER_KEY = new Uint8Array([0, 0, 0, 3]);
const SNAPSHOT_FOOTER_KEY = new Uint8Array([0, 0, 0, 4]);
const KRAFT_VERSION_KEY = new Uint8Array([0, 0, 0, 5]);
const KRAFT_VOTERS_KEY = new Uint8Array([0, 0, 0, 6]);
const SNAPSHOT_HEADER_TYPE = 3;
const SNAPSHOT_FOOTER_TYPE = 4;
const KRAFT_VERSION_TYPE = 5;
const KRAFT_VOTERS_TYPE = 6;

export class SnapshotCorruptError extends Error {
  override readonly name = 'SnapshotCorruptError';
}

/** `voters`: the voter set at `id.offset` when it is dynamic (came from a voters entry); null for a static one. */
export function encodeSnapshot(id: OffsetAndEpoch, records: readonly Uint8Array[], nowMs: number, voters: VoterSet | null = null): Buffer {
  const batches: Buffer[] = [];
  let offset = 0;
  const add = (inputs: Array<{ key: Uint8Array | null; value: Uint8Array }>, control: boolean): void => {
    batches.push(buildBatch(inputs, { baseOffset: offset, partitionLeaderEpoch: id.epoch, control, baseTimestampMs: nowMs }));
    offset += inputs.length;
  };
  const header = Buffer.alloc(2 + 8 + 1);
  header.writeBigInt64BE(BigInt(nowMs), 2);
  add([{ key: SNAPSHOT_HEADER_KEY, value: header }], true);
  if (voters !== null) {
    add([{ key: KRAFT_VERSION_KEY, value: encodeKRaftVersionRecord() }], true);
    add([{ key: KRAFT_VOTERS_KEY, value: encodeVotersRecord(voters) }], true);
  }
  for (let i = 0; i < records.length; i += SNAPSHOT_BATCH_RECORDS_MAX) {
    add(records.slice(i, i + SNAPSHOT_BATCH_RECORDS_MAX).map((value) => ({ key: null, value })), false);
  }
  add([{ key: SNAPSHOT_FOOTER_KEY, value: Buffer.alloc(2 + 1) }], true);
  return Buffer.concat(batches);
}

/** The state records of a whole snapshot; throws SnapshotCorruptError on anything else. */
export function decodeSnapshot(bytes: Uint8Array): Uint8Array[] {
  return decodeSnapshotParts(bytes).records;
}

/** The voter set a whole snapshot carries, or null when it has none (a static voter set). */
export function decodeSnapshotVoters(bytes: Uint8Array): VoterSet | null {
  return decodeSnapshotParts(bytes).voters;
}

function decodeSnapshotParts(bytes: Uint8Array): { records: Uint8Array[]; voters: VoterSet | null } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  const view = emptyRecordView();
  let sawHeader = false;
  let sawFooter = false;
  let sawRecords = false;
  let voters: VoterSet | null = null;
  let nextOffset = 0;
  const epoch = buf.length >= rb.BATCH_HEADER_BYTES ? rb.batchLeaderEpoch(buf, 0) : -1;
  for (let pos = 0; pos < buf.length;) {
    const available = buf.length - pos;
    const size = available >= rb.BATCH_HEADER_BYTES ? rb.batchSize(buf, pos) : 0;
    if (sawFooter || size < rb.BATCH_HEADER_BYTES || size > available || buf[pos + rb.OFFSET_MAGIC] !== 2
      || !rb.batchCrcValid(buf, pos, size) || rb.batchCompression(buf, pos) !== 0) {
      throw new SnapshotCorruptError(`snapshot batch at byte ${pos} is torn or invalid`);
    }
    if (rb.batchBaseOffset(buf, pos) !== nextOffset || rb.batchLeaderEpoch(buf, pos) !== epoch) {
      throw new SnapshotCorruptError(`snapshot batch at byte ${pos} has offset ${rb.batchBaseOffset(buf, pos)} epoch ${rb.batchLeaderEpoch(buf, pos)}, expected ${nextOffset} and ${epoch}`);
    }
    nextOffset = rb.batchLastOffset(buf, pos) + 1;
    const end = pos + size;
    let at = pos + rb.BATCH_HEADER_BYTES;
    if (rb.batchIsControl(buf, pos)) {
      readRecord(buf, at, end, view);
      const type = view.keyLength >= 4 ? buf.readInt16BE(view.keyStart + 2) : -1;
      if (type === SNAPSHOT_HEADER_TYPE && !sawHeader && pos === 0) sawHeader = true;
      else if (type === SNAPSHOT_FOOTER_TYPE && sawHeader) sawFooter = true;
      else if (type === KRAFT_VOTERS_TYPE && sawHeader && !sawRecords && voters === null) voters = votersOf(buf, view, pos);
      // The kraft.version record says only that the set is dynamic, which the voters record shows.
      else if (type !== KRAFT_VERSION_TYPE || !sawHeader || sawRecords) throw new SnapshotCorruptError(`unexpected control record type ${type} at byte ${pos}`);
    } else {
      if (!sawHeader) throw new SnapshotCorruptError('snapshot does not start with its header');
      sawRecords = true;
      for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
        at = readRecord(buf, at, end, view);
        records.push(view.valueLength > 0 ? new Uint8Array(buf.subarray(view.valueStart, view.valueStart + view.valueLength)) : new Uint8Array(0));
      }
    }
    pos = end;
  }
  if (!sawFooter) throw new SnapshotCorruptError('snapshot ends without its footer');
  return { records, voters };
}

function votersOf(buf: Buffer, view: ReturnType<typeof emptyRecordView>, pos: number): VoterSet {
  try {
    return decodeVotersRecord(buf.subarray(view.valueStart, view.valueStart + view.valueLength));
  } catch (err) {
    throw new SnapshotCorruptError(`snapshot voters record at byte ${pos}: ${(err as Error).message}`);
  }
}
