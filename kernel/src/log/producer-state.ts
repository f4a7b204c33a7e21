/**
 * Idempotent-producer state of one partition: for each producer id, its epoch and the
 * sequence ranges and offsets of its last five batches (Kafka's in-flight limit), so a
 * retried batch is answered with its original offsets instead of being written twice.
 *
 * It also tracks each producer's open transaction (the offset of its first transactional
 * batch not yet ended by a COMMIT or ABORT marker): the smallest of those bounds the
 * last stable offset.
 *
 * Snapshot files `<20-digit offset>.snapshot` in the partition directory hold the state
 * of every batch below that offset. Byte layout (big-endian), version 2:
 *
 *   magic "SLP2" | crc32c uint32 of the rest | producerCount uint32 | producers...
 *   producer: producerId int64 | epoch int16 | lastTimestamp int64 | coordinatorEpoch int32 |
 *             currentTxnFirstOffset int64 (-1: none) | batchCount uint8 |
 *             batches: firstSeq int32 | lastSeq int32 | firstOffset int64 | lastOffset int64
 *
 * Version 1 ("SLP1", written before transactions existed) is still read: the same
 * without coordinatorEpoch and currentTxnFirstOffset, which load as -1.
 *
 * Snapshots are written when a segment rolls and at clean shutdown. Recovery loads the
 * newest snapshot at or below the point it restarts from and replays the batches after
 * it; a snapshot that fails its CRC is deleted and an older one is used.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaError } from '../errors.js';
import { atomicWriteFileSync } from './checkpoint-file.js';
import { buildBatch } from './batch-builder.js';
import { crc32c } from './crc32c.js';
import { emptyRecordView, readRecord } from './records.js';
import * as rb from './record-batch.js';
import { segmentFileName } from './segment.js';

/** Kafka keeps the last five batches: a producer has at most five requests in flight. */
export const PRODUCER_BATCHES_CACHED_MAX = 5;
const SNAPSHOT_MAGIC_V1 = 0x534c5031; // "SLP1"
const SNAPSHOT_MAGIC = 0x534c5032; // "SLP2"
const SNAPSHOT_SUFFIX = '.snapshot';

export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  epoch: number;
  lastTimestamp: number;
  /** Epoch of the coordinator that wrote this producer's last marker; -1 before any. */
  coordinatorEpoch: number;
  /** Offset of the first batch of the open transaction, -1 when none is open. */
  currentTxnFirstOffset: number;
  /** Oldest first, at most PRODUCER_BATCHES_CACHED_MAX. */
  batches: BatchMetadata[];
}

export type AppendCheck = { readonly duplicate: BatchMetadata } | undefined;

/** A transaction a marker ended. */
export interface CompletedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The marker's offset. */
  readonly lastOffset: number;
  readonly aborted: boolean;
}

/** Control record key: int16 version 0, int16 type; type 0 is ABORT, 1 COMMIT. */
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

function nextSeq(seq: number): number {
  return seq === 0x7fffffff ? 0 : seq + 1;
}

export class ProducerStateManager {
  private producers = new Map<number, ProducerEntry>();

  constructor(private readonly dir: string) {}

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  /**
   * Checks one produced batch against the producer's state, with `pending` holding the
   * state of earlier batches of the same request. Returns the original batch when this
   * one is a retry; throws INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  check(buf: Buffer, pos: number, pending: Map<number, { epoch: number; lastSeq: number }>): AppendCheck {
    const producerId = rb.batchProducerId(buf, pos);
    if (producerId < 0) return undefined;
    const epoch = rb.batchProducerEpoch(buf, pos);
    const firstSeq = rb.batchBaseSequence(buf, pos);
    const lastSeq = rb.batchLastSequence(buf, pos);
    const entry = this.producers.get(producerId);
    const current = pending.get(producerId) ?? (entry === undefined || entry.batches.length === 0
      ? (entry === undefined ? undefined : { epoch: entry.epoch, lastSeq: rb.NO_SEQUENCE })
      : { epoch: entry.epoch, lastSeq: entry.batches[entry.batches.length - 1]!.lastSeq });
    if (current !== undefined && epoch < current.epoch) {
      throw kafkaError('INVALID_PRODUCER_EPOCH', `producer ${producerId} epoch ${epoch} is older than the current ${current.epoch}`);
    }
    if (entry !== undefined && entry.currentTxnFirstOffset >= 0 && epoch === entry.epoch && !rb.batchIsTransactional(buf, pos)) {
      throw kafkaError('INVALID_TXN_STATE', `producer ${producerId} has an open transaction: its batches must be transactional`);
    }
    // A batch without a sequence is a coordinator's write for the producer (transactional
    // offset commits), fenced by epoch only; there is nothing to deduplicate it against.
    if (firstSeq === rb.NO_SEQUENCE) return undefined;
    if (entry !== undefined && epoch === entry.epoch && !pending.has(producerId)) {
      const dup = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
      if (dup !== undefined) return { duplicate: dup };
    }
    if (current !== undefined) {
      if (epoch > current.epoch) {
        if (firstSeq !== 0) {
          throw kafkaError('OUT_OF_ORDER_SEQUENCE_NUMBER',
            `producer ${producerId} new epoch ${epoch} must start at sequence 0, got ${firstSeq}`);
        }
      } else if (current.lastSeq !== rb.NO_SEQUENCE && firstSeq !== nextSeq(current.lastSeq)) {
        throw kafkaError('OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${producerId} epoch ${epoch}: expected sequence ${nextSeq(current.lastSeq)}, got ${firstSeq}`);
      }
    }
    pending.set(producerId, { epoch, lastSeq });
    return undefined;
  }

  /**
   * Checks a transaction marker before it is written: a marker from an older producer
   * epoch, or from an older coordinator, comes from a zombie and is refused.
   */
  checkMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return;
    if (producerEpoch < entry.epoch) {
      throw kafkaError('INVALID_PRODUCER_EPOCH', `marker for producer ${producerId} epoch ${producerEpoch} is older than the current ${entry.epoch}`);
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      throw kafkaError('TRANSACTION_COORDINATOR_FENCED',
        `marker from coordinator epoch ${coordinatorEpoch}, producer ${producerId} last saw ${entry.coordinatorEpoch}`);
    }
  }

  /**
   * Records a batch that is now in the log (final offsets assigned). Returns the
   * transaction it ended when it is a COMMIT or ABORT marker for an open one.
   */
  update(buf: Buffer, pos: number): CompletedTxn | undefined {
    const producerId = rb.batchProducerId(buf, pos);
    if (producerId < 0) return undefined;
    const epoch = rb.batchProducerEpoch(buf, pos);
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = { producerId, epoch, lastTimestamp: -1, coordinatorEpoch: -1, currentTxnFirstOffset: -1, batches: [] };
      this.producers.set(producerId, entry);
    }
    if (epoch !== entry.epoch) {
      entry.epoch = epoch;
      entry.batches = [];
    }
    entry.lastTimestamp = Math.max(entry.lastTimestamp, rb.batchMaxTimestamp(buf, pos));
    if (rb.batchIsControl(buf, pos)) {
      const marker = readMarker(buf, pos);
      if (marker === undefined) return undefined;
      entry.coordinatorEpoch = marker.coordinatorEpoch;
      const firstOffset = entry.currentTxnFirstOffset;
      entry.currentTxnFirstOffset = -1;
      if (firstOffset < 0) return undefined;
      return { producerId, firstOffset, lastOffset: rb.batchBaseOffset(buf, pos), aborted: marker.type === CONTROL_TYPE_ABORT };
    }
    if (rb.batchIsTransactional(buf, pos) && entry.currentTxnFirstOffset < 0) entry.currentTxnFirstOffset = rb.batchBaseOffset(buf, pos);
    if (rb.batchBaseSequence(buf, pos) === rb.NO_SEQUENCE) return undefined;
    entry.batches.push({
      firstSeq: rb.batchBaseSequence(buf, pos),
      lastSeq: rb.batchLastSequence(buf, pos),
      firstOffset: rb.batchBaseOffset(buf, pos),
      lastOffset: rb.batchLastOffset(buf, pos),
    });
    if (entry.batches.length > PRODUCER_BATCHES_CACHED_MAX) entry.batches.shift();
    return undefined;
  }

  /** Offset of the oldest open transaction's first batch, or undefined when none is open. */
  firstUnstableOffset(): number | undefined {
    let first: number | undefined;
    for (const e of this.producers.values()) {
      if (e.currentTxnFirstOffset >= 0 && (first === undefined || e.currentTxnFirstOffset < first)) first = e.currentTxnFirstOffset;
    }
    return first;
  }

  /**
   * Forgets producers idle for `expirationMs` (producer.id.expiration.ms). One with an
   * open transaction stays: forgetting it would let the last stable offset pass records
   * that may still be aborted.
   */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      if (entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestamp >= expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Forgets producers whose last batch is below the log start offset (their data is gone). */
  removeBefore(logStartOffset: number): void {
    for (const [id, entry] of this.producers) {
      const last = entry.batches[entry.batches.length - 1];
      if (entry.currentTxnFirstOffset >= 0) continue;
      if (last === undefined || last.lastOffset < logStartOffset) this.producers.delete(id);
    }
  }

  // --- snapshots ---------------------------------------------------------------

  writeSnapshot(offset: number): void {
    let size = 12;
    for (const e of this.producers.values()) size += 31 + e.batches.length * 24;
    const out = Buffer.alloc(size);
    out.writeUInt32BE(SNAPSHOT_MAGIC, 0);
    out.writeUInt32BE(this.producers.size, 8);
    let pos = 12;
    for (const e of this.producers.values()) {
      out.writeBigInt64BE(BigInt(e.producerId), pos);
      out.writeInt16BE(e.epoch, pos + 8);
      out.writeBigInt64BE(BigInt(e.lastTimestamp), pos + 10);
      out.writeInt32BE(e.coordinatorEpoch, pos + 18);
      out.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), pos + 22);
      out.writeUInt8(e.batches.length, pos + 30);
      pos += 31;
      for (const b of e.batches) {
        out.writeInt32BE(b.firstSeq, pos);
        out.writeInt32BE(b.lastSeq, pos + 4);
        out.writeBigInt64BE(BigInt(b.firstOffset), pos + 8);
        out.writeBigInt64BE(BigInt(b.lastOffset), pos + 16);
        pos += 24;
      }
    }
    out.writeUInt32BE(crc32c(out.subarray(8)), 4);
    atomicWriteFileSync(join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX)), out);
  }

  /** Snapshot offsets present in the directory, ascending. */
  snapshotOffsets(): number[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(SNAPSHOT_SUFFIX) && /^\d{20}\.snapshot$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
  }

  /**
   * Replaces the state with the newest valid snapshot at or below `maxOffset`.
   * Returns that snapshot's offset, or -1 when there is none (state empty).
   */
  loadSnapshot(maxOffset: number): number {
    this.producers.clear();
    const candidates = this.snapshotOffsets().filter((o) => o <= maxOffset).reverse();
    for (const offset of candidates) {
      const path = join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX));
      const parsed = parseSnapshot(readFileSync(path));
      if (parsed !== undefined) {
        this.producers = parsed;
        return offset;
      }
      rmSync(path, { force: true });
    }
    return -1;
  }

  /** Deletes snapshots above `offset` (truncation) or below it, keeping the newest `keep` below. */
  deleteSnapshotsAfter(offset: number): void {
    for (const o of this.snapshotOffsets()) {
      if (o > offset) rmSync(join(this.dir, segmentFileName(o, SNAPSHOT_SUFFIX)), { force: true });
    }
  }

  deleteSnapshotsBefore(offset: number, keep: number): void {
    const older = this.snapshotOffsets().filter((o) => o < offset);
    for (const o of older.slice(0, Math.max(0, older.length - keep))) {
      rmSync(join(this.dir, segmentFileName(o, SNAPSHOT_SUFFIX)), { force: true });
    }
  }
}

function parseSnapshot(buf: Buffer): Map<number, ProducerEntry> | undefined {
  if (buf.length < 12) return undefined;
  const magic = buf.readUInt32BE(0);
  if (magic !== SNAPSHOT_MAGIC && magic !== SNAPSHOT_MAGIC_V1) return undefined;
  if (buf.readUInt32BE(4) !== crc32c(buf.subarray(8))) return undefined;
  const v2 = magic === SNAPSHOT_MAGIC;
  const head = v2 ? 31 : 19;
  const count = buf.readUInt32BE(8);
  const producers = new Map<number, ProducerEntry>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos + head > buf.length) return undefined;
    const producerId = Number(buf.readBigInt64BE(pos));
    const epoch = buf.readInt16BE(pos + 8);
    const lastTimestamp = Number(buf.readBigInt64BE(pos + 10));
    const coordinatorEpoch = v2 ? buf.readInt32BE(pos + 18) : -1;
    const currentTxnFirstOffset = v2 ? Number(buf.readBigInt64BE(pos + 22)) : -1;
    const batchCount = buf.readUInt8(pos + head - 1);
    pos += head;
    if (batchCount > PRODUCER_BATCHES_CACHED_MAX || pos + batchCount * 24 > buf.length) return undefined;
    const batches: BatchMetadata[] = [];
    for (let b = 0; b < batchCount; b++) {
      batches.push({
        firstSeq: buf.readInt32BE(pos),
        lastSeq: buf.readInt32BE(pos + 4),
        firstOffset: Number(buf.readBigInt64BE(pos + 8)),
        lastOffset: Number(buf.readBigInt64BE(pos + 16)),
      });
      pos += 24;
    }
    producers.set(producerId, { producerId, epoch, lastTimestamp, coordinatorEpoch, currentTxnFirstOffset, batches });
  }
  return pos === buf.length ? producers : undefined;
}

/** Type and coordinator epoch of a marker batch's control record; undefined for an unknown control type. */
function readMarker(buf: Buffer, pos: number): { type: number; coordinatorEpoch: number } | undefined {
  // Control batches are never compressed: the broker writes them.
  if (rb.batchCompression(buf, pos) !== 0) return undefined;
  const view = emptyRecordView();
  readRecord(buf, pos + rb.BATCH_HEADER_BYTES, pos + rb.batchSize(buf, pos), view);
  if (view.keyLength < 4 || buf.readInt16BE(view.keyStart) !== 0) return undefined;
  const type = buf.readInt16BE(view.keyStart + 2);
  if (type !== CONTROL_TYPE_ABORT && type !== CONTROL_TYPE_COMMIT) return undefined;
  return { type, coordinatorEpoch: view.valueLength >= 6 ? buf.readInt32BE(view.valueStart + 2) : -1 };
}

/** A COMMIT or ABORT marker batch for a producer, offsets to be assigned by the log. */
export function buildMarkerBatch(producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean,
  timestampMs: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt32BE(coordinatorEpoch, 2);
  return buildBatch([{ key, value, timestampMs }], {
    transactional: true, control: true, producerId, producerEpoch, baseTimestampMs: timestampMs,
  });
}
