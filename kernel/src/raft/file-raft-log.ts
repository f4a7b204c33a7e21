/**
 * The Raft log on disk: a `RaftLog` over a kernel `PartitionLog` (for the metadata quorum,
 * `__cluster_metadata-0`), in KRaft's layout, so the log is readable as an ordinary partition.
 *
 * Byte layout: the partition log's segments of RecordBatch v2, one Raft entry per batch:
 * - each batch holds exactly one record, so Raft offsets are the partition's offsets, dense
 *   from 0; the batch's baseOffset is the entry's offset;
 * - the batch's partitionLeaderEpoch is the entry's Raft epoch;
 * - a `data` entry is an ordinary batch (producer id -1, uncompressed) whose record value is
 *   the entry's data and whose key is null;
 * - a `leader-change` entry is a control batch (attributes bit 5) whose record key is Kafka's
 *   control key for LEADER_CHANGE (int16 version 0, int16 type 2) and whose value is the
 *   entry's data, so any reader tells it apart from metadata;
 * - a `voters` entry is a control batch whose key is KRAFT_VOTERS (version 0, type 6) and
 *   whose value is the entry's data, a VotersRecord (voter-set.ts). A control batch of any
 *   other type is refused: reading it as one of these would change what the log means.
 * The partition log's `write.caching` must be on: its high watermark then follows the log end,
 * which is what a Raft log reads up to; Raft keeps its own high watermark.
 *
 * Durability and recovery:
 * - `flush` fdatasyncs every segment that may hold entries past the flushed offset (and the
 *   directory when segments were created) before it returns: the core counts the flushed
 *   offset towards commits and acknowledges it in fetches at once, so it cannot be async.
 *   The partition log's own (async) flush is left alone: its recovery point then lags, which
 *   costs only a longer CRC scan after a crash, and the open scans the log once anyway.
 * - `truncateTo` cuts the segment files and syncs them and the directory before returning.
 * - On open the partition log has already cut a torn or corrupt tail (CRC scan after its
 *   recovery point). What is left is scanned once: the epoch starts are rebuilt from the
 *   batch headers (the source of truth, not the leader-epoch checkpoint), density is
 *   asserted, and everything is synced, so the whole log counts as flushed from then on.
 *
 * Snapshots (snapshot-files.ts) live in the same directory. The prefix below the latest
 * snapshot may be deleted, whole segments only (PartitionLog.advanceLogStartOffset), so
 * after a restart the log starts at its first segment's base offset, at or below the
 * snapshot. On open:
 * - a log that starts above 0 without a snapshot at or past its start lost data no
 *   snapshot holds: the open fails rather than serve a log with a hole;
 * - a latest snapshot past the log end, or whose last entry the log holds with another
 *   epoch, was installed from a leader by a process that crashed before it emptied the
 *   log: the log is emptied to start at the snapshot, as the install would have left it.
 */
import { asOffset } from '@sluice/sdk';
import { assert } from '../errors.js';
import { buildBatch } from '../log/batch-builder.js';
import { fsyncDirSync } from '../log/checkpoint-file.js';
import type { PartitionLog } from '../log/partition-log.js';
import * as rb from '../log/record-batch.js';
import { emptyRecordView, readRecord } from '../log/records.js';
import { clampEpochs, type RaftLog, type SnapshotChunk } from './raft-log.js';
import { SnapshotFiles } from './snapshot-files.js';
import type { Epoch, LogEntry, OffsetAndEpoch } from './types.js';

/** Kafka's control record keys (ControlRecordType): version 0, then the type. */
const LEADER_CHANGE_TYPE = 2;
const KRAFT_VOTERS_TYPE = 6;
const CONTROL_KEY_BYTES = 4;

function controlKey(type: number): Uint8Array {
  return new Uint8Array([0, 0, 0, type]);
}
/** Bytes read from the partition log at a time when scanning or reading entries. */
const READ_CHUNK_BYTES = 256 * 1024;
const EMPTY = new Uint8Array(0);

interface EpochStart {
  readonly epoch: Epoch;
  readonly startOffset: number;
}

/**
 * The stored batch of an entry read from disk or decoded from the wire, so the entry is
 * written and sent again byte for byte (timestamps included) rather than re-encoded.
 */
const batchOfEntry = new WeakMap<LogEntry, Buffer>();

export class FileRaftLog implements RaftLog {
  private epochs: EpochStart[] = [];
  private flushed = 0;
  /** Segment count at the last directory sync: a new segment file needs the directory synced. */
  private syncedSegmentCount = 0;
  readonly snapshots: SnapshotFiles;

  constructor(readonly partitionLog: PartitionLog, private readonly nowMs: () => number = Date.now) {
    this.snapshots = new SnapshotFiles(partitionLog.dir);
    const latest = this.snapshots.latest();
    const start = partitionLog.logStartOffset as number;
    if (start > 0 && (latest === null || latest.offset < start)) {
      throw new Error(`${partitionLog.dir} starts at offset ${start} but no snapshot holds the entries before it`);
    }
    if (latest !== null && latest.offset > start && this.snapshotInstallUnfinished(latest.offset, latest.epoch)) {
      partitionLog.truncateFullyAndStartAt(latest.offset);
    }
    let next = this.startOffset();
    for (const { buf, pos } of this.batchesFrom(next, this.endOffset())) {
      if (rb.batchBaseOffset(buf, pos) !== next || rb.batchRecordCount(buf, pos) !== 1) {
        // Not a bug but a directory this layout cannot use, such as a metadata log written
        // before it was a Raft log (several records per batch): refuse rather than guess.
        throw new Error(`${partitionLog.dir} is not a Raft log: the batch at offset ${rb.batchBaseOffset(buf, pos)} holds ${rb.batchRecordCount(buf, pos)} records where one entry at offset ${next} was expected`);
      }
      this.noteEpoch(rb.batchLeaderEpoch(buf, pos), next);
      next++;
    }
    assert(next === this.endOffset(), `scan ended at ${next}, log end offset is ${this.endOffset()}`);
    this.syncNow(true);
  }

  endOffset(): number {
    return this.partitionLog.logEndOffset as number;
  }

  startOffset(): number {
    return this.partitionLog.logStartOffset as number;
  }

  lastEpoch(): Epoch {
    const last = this.epochs.at(-1);
    if (last !== undefined) return last.epoch;
    const latest = this.snapshots.latest();
    return latest !== null && latest.offset === this.endOffset() ? latest.epoch : 0;
  }

  flushedOffset(): number {
    return this.flushed;
  }

  entryAt(offset: number): LogEntry | undefined {
    if (offset < this.startOffset() || offset >= this.endOffset()) return undefined;
    return this.read(offset, 1)[0];
  }

  read(from: number, maxEntries: number): LogEntry[] {
    const end = this.endOffset();
    if (from < this.startOffset() || from > end) throw new RangeError(`read from ${from} outside [${this.startOffset()}, ${end}]`);
    const entries: LogEntry[] = [];
    for (const { buf, pos } of this.batchesFrom(from, Math.min(end, from + maxEntries))) entries.push(decodeEntry(buf, pos));
    return entries;
  }

  append(entry: LogEntry): void {
    const end = this.endOffset();
    if (entry.offset !== end) throw new Error(`append at offset ${entry.offset}, log end offset is ${end}`);
    const last = this.lastEpoch();
    if (entry.epoch < last) throw new Error(`append of epoch ${entry.epoch} after epoch ${last}`);
    this.partitionLog.appendAsFollower(batchOfEntry.get(entry) ?? encodeEntry(entry, this.nowMs()));
    this.noteEpoch(entry.epoch, entry.offset);
  }

  /**
   * Appends batches as the leader sent them (RaftFetchResponse.records): each is checked
   * by CRC and must hold one record at the next offset. Returns the entries appended.
   */
  appendBatches(bytes: Uint8Array): LogEntry[] {
    const entries = entriesOfBatches(bytes);
    for (const entry of entries) this.append(entry);
    return entries;
  }

  /** The stored batches from `fromOffset`, whole batches up to about `maxBytes` (at least one). */
  readBatches(fromOffset: number, maxBytes: number): Uint8Array {
    if (fromOffset >= this.endOffset()) return EMPTY;
    return this.partitionLog.read(asOffset(fromOffset), maxBytes, 'read_uncommitted').records;
  }

  truncateTo(offset: number): void {
    if (offset < this.startOffset()) throw new RangeError(`truncate to ${offset} below the log start ${this.startOffset()}`);
    if (offset >= this.endOffset()) return;
    this.partitionLog.truncateTo(offset);
    assert(this.endOffset() === offset, `truncate to ${offset} left the log end at ${this.endOffset()}`);
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= offset) this.epochs.pop();
    this.flushed = Math.min(this.flushed, offset);
    // The cut must survive a crash before anything is fetched on top of it; segments may be gone.
    this.syncNow(true);
  }

  flush(): void {
    const rolled = this.syncedSegmentCount !== this.partitionLog.segmentCount;
    if (this.flushed === this.endOffset() && !rolled) return;
    this.syncNow(rolled);
  }

  endOffsetForEpoch(epoch: Epoch): OffsetAndEpoch {
    for (let i = this.epochs.length - 1; i >= 0; i--) {
      const start = this.epochs[i]!;
      if (start.epoch <= epoch) {
        const end = this.epochs[i + 1]?.startOffset ?? this.endOffset();
        return { offset: end, epoch: start.epoch };
      }
    }
    const latest = this.snapshots.latest();
    if (latest !== null && latest.offset === this.startOffset() && epoch >= latest.epoch) return { offset: latest.offset, epoch: latest.epoch };
    return { offset: 0, epoch: 0 };
  }

  latestSnapshot(): OffsetAndEpoch | null {
    return this.snapshots.latest();
  }

  readSnapshot(id: OffsetAndEpoch, position: number, maxBytes: number): SnapshotChunk | undefined {
    return this.snapshots.read(id, position, maxBytes);
  }

  storeSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    assert(id.offset <= this.endOffset(), `snapshot at ${id.offset} past the log end ${this.endOffset()}`);
    assert(id.offset - 1 < this.startOffset() || this.entryAt(id.offset - 1)?.epoch === id.epoch,
      `snapshot ${id.offset}@${id.epoch} does not match the log`);
    this.snapshots.write(id, bytes);
  }

  deleteBefore(offset: number): void {
    const latest = this.snapshots.latest();
    assert(latest !== null && offset <= latest.offset, `delete before ${offset} past the latest snapshot`);
    if (offset <= this.startOffset()) return;
    this.partitionLog.advanceLogStartOffset(offset);
    this.epochs = clampEpochs(this.epochs, this.startOffset());
    // Deleted segments are below the flushed offset or in the snapshot: either way durable.
    this.flushed = Math.max(this.flushed, this.startOffset());
  }

  installSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    // The snapshot is durable before the log goes: a crash in between is finished at open.
    this.snapshots.write(id, bytes);
    this.partitionLog.truncateFullyAndStartAt(id.offset);
    this.epochs = [];
    this.flushed = id.offset;
    this.syncNow(true);
  }

  /** The log disagrees with the snapshot at its end: it is past the end, or holds its last entry with another epoch. */
  private snapshotInstallUnfinished(offset: number, epoch: Epoch): boolean {
    if (offset > this.endOffset()) return true;
    const buf = this.partitionLog.read(asOffset(offset - 1), 1, 'read_uncommitted').records;
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    return b.length === 0 || rb.batchLeaderEpoch(b, 0) !== epoch;
  }

  /**
   * Records an entry's epoch in the epoch cache. Compared with the cache only, not with
   * `lastEpoch()`: at open, a log whose latest snapshot ends at the log end but which kept
   * older segments below it would otherwise compare its first entries with the snapshot's
   * (newer) epoch. An append has already been checked against `lastEpoch()`.
   */
  private noteEpoch(epoch: Epoch, offset: number): void {
    const last = this.epochs.at(-1)?.epoch ?? 0;
    assert(epoch >= last, `epoch ${epoch} at offset ${offset} after epoch ${last}`);
    if (epoch > last) this.epochs.push({ epoch, startOffset: offset });
  }

  /** `directory`: segment files were created or deleted since the last sync. */
  private syncNow(directory: boolean): void {
    const target = this.endOffset();
    const segments = this.partitionLog.segmentList();
    // Segments wholly below the flushed offset were synced when it passed them.
    for (let i = 0; i < segments.length; i++) {
      const nextBase = segments[i + 1]?.baseOffset ?? Number.POSITIVE_INFINITY;
      if (nextBase > this.flushed) segments[i]!.fdatasyncNow();
    }
    if (directory) fsyncDirSync(this.partitionLog.dir);
    this.syncedSegmentCount = segments.length;
    this.flushed = target;
  }

  /** Every batch with a base offset in [from, to), read in chunks. */
  private *batchesFrom(from: number, to: number): Generator<{ buf: Buffer; pos: number }> {
    let offset = from;
    while (offset < to) {
      const records = this.partitionLog.read(asOffset(offset), READ_CHUNK_BYTES, 'read_uncommitted').records;
      const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
      assert(buf.length > 0, `no batch at offset ${offset} below the log end ${this.endOffset()}`);
      for (let pos = 0; pos < buf.length && offset < to; pos += rb.batchSize(buf, pos)) {
        yield { buf, pos };
        offset = rb.batchLastOffset(buf, pos) + 1;
      }
    }
  }
}

/**
 * The batch bytes of entries, as the wire carries them (RaftFetchResponse.records): a prefix
 * of them within `maxBytes`, but always the first, so a large entry still gets through.
 */
export function batchesOfEntries(entries: readonly LogEntry[], nowMs: number, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  if (entries.length === 0) return EMPTY;
  const batches: Buffer[] = [];
  let total = 0;
  for (const e of entries) {
    const batch = batchOfEntry.get(e) ?? encodeEntry(e, nowMs);
    if (batches.length > 0 && total + batch.length > maxBytes) break;
    batches.push(batch);
    total += batch.length;
  }
  return Buffer.concat(batches, total);
}

/**
 * Entries from batch bytes received from a leader, each checked by CRC and required to hold
 * one uncompressed record; offsets and epochs are the batches' own.
 */
export function entriesOfBatches(bytes: Uint8Array): LogEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: LogEntry[] = [];
  for (let pos = 0; pos < buf.length;) {
    const available = buf.length - pos;
    const size = available >= rb.BATCH_HEADER_BYTES ? rb.batchSize(buf, pos) : 0;
    if (size < rb.BATCH_HEADER_BYTES || size > available || buf[pos + rb.OFFSET_MAGIC] !== 2 || !rb.batchCrcValid(buf, pos, size)) {
      throw new Error(`invalid Raft batch at byte ${pos}`);
    }
    entries.push(decodeEntry(buf, pos));
    pos += size;
  }
  return entries;
}

function encodeEntry(entry: LogEntry, nowMs: number): Buffer {
  const control = entry.kind !== 'data';
  const key = entry.kind === 'leader-change' ? controlKey(LEADER_CHANGE_TYPE) : entry.kind === 'voters' ? controlKey(KRAFT_VOTERS_TYPE) : null;
  return buildBatch([{ key, value: entry.data }], {
    baseOffset: entry.offset, partitionLeaderEpoch: entry.epoch, control, baseTimestampMs: nowMs,
  });
}

function entryKind(buf: Buffer, pos: number, offset: number, view: ReturnType<typeof emptyRecordView>): LogEntry['kind'] {
  if (!rb.batchIsControl(buf, pos)) return 'data';
  const type = view.keyLength === CONTROL_KEY_BYTES ? buf.readInt16BE(view.keyStart + 2) : -1;
  if (type === LEADER_CHANGE_TYPE) return 'leader-change';
  if (type === KRAFT_VOTERS_TYPE) return 'voters';
  throw new Error(`Raft batch at offset ${offset} is a control batch of type ${type}, neither LEADER_CHANGE nor KRAFT_VOTERS`);
}

function decodeEntry(buf: Buffer, pos: number): LogEntry {
  const size = rb.batchSize(buf, pos);
  const offset = rb.batchBaseOffset(buf, pos);
  if (rb.batchRecordCount(buf, pos) !== 1 || rb.batchCompression(buf, pos) !== 0) {
    throw new Error(`Raft batch at offset ${offset} must hold one uncompressed record`);
  }
  const view = emptyRecordView();
  readRecord(buf, pos + rb.BATCH_HEADER_BYTES, pos + size, view);
  // Copied: the entry outlives the read buffer's other contents, and the bytes are small.
  const data = view.valueLength > 0 ? new Uint8Array(buf.subarray(view.valueStart, view.valueStart + view.valueLength)) : EMPTY;
  const entry: LogEntry = { epoch: rb.batchLeaderEpoch(buf, pos), offset, kind: entryKind(buf, pos, offset, view), data };
  batchOfEntry.set(entry, buf.subarray(pos, pos + size));
  return entry;
}
