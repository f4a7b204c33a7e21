/**
 * Leader-epoch cache of one partition: for each leader epoch, the first offset written in
 * it. Replication uses it to answer OffsetForLeaderEpoch and to truncate a follower to
 * the point where its log and the new leader's diverge (KIP-101, KIP-279).
 *
 * File `leader-epoch-checkpoint` in the partition directory, Kafka's text layout:
 *   0\n<count>\n<epoch> <startOffset>\n...
 * Rewritten atomically. A new epoch (`assign`) is written lazily, by `sync`, which the
 * partition's flush calls before its flushed offset (and so the recovery point) may pass
 * any batch of that epoch: every epoch with data below the recovery point is on disk, and
 * recovery rebuilds the entries above it from the batches' partitionLeaderEpoch fields
 * (a truncation writes at once, and moves the recovery point on disk back to the new end:
 * see PartitionLogEvents.truncated). An epoch lost in a crash before any of its data was
 * flushed held nothing that survived, so forgetting it answers OffsetForLeaderEpoch as if it
 * had never begun; loading drops an epoch that begins at the log end anyway. Writing at once
 * cost two fsyncs per partition on every leader change, and at start every partition
 * becomes leader: on a 100-partition node that was most of its start time.
 */
import { join } from 'node:path';
import { assert } from '../errors.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint-file.js';

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export class LeaderEpochCache {
  private entries: EpochEntry[];
  /** `assign` changed the entries since they were last written. */
  private dirty = false;

  private constructor(private readonly path: string, entries: EpochEntry[]) {
    this.entries = entries;
  }

  static load(partitionDir: string): LeaderEpochCache {
    const path = join(partitionDir, 'leader-epoch-checkpoint');
    const lines = readCheckpoint(path) ?? [];
    const entries: EpochEntry[] = [];
    for (const line of lines) {
      const [epoch, start] = line.split(' ').map(Number);
      if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(start)) return new LeaderEpochCache(path, []);
      const last = entries[entries.length - 1];
      if (last !== undefined && (epoch! <= last.epoch || start! < last.startOffset)) return new LeaderEpochCache(path, []);
      entries.push({ epoch: epoch!, startOffset: start! });
    }
    return new LeaderEpochCache(path, entries);
  }

  get latest(): EpochEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  all(): readonly EpochEntry[] {
    return this.entries;
  }

  /** Records that `epoch` begins at `startOffset`; a no-op for an epoch already known. */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return;
    const latest = this.latest;
    if (latest !== undefined && epoch <= latest.epoch) return;
    // A new epoch starting before entries we hold means those entries were truncated away.
    this.entries = this.entries.filter((e) => e.startOffset < startOffset);
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
  }

  /** Writes the epochs `assign` added since the last write, if any. */
  sync(): void {
    if (this.dirty) this.persist();
  }

  /**
   * Kafka's OffsetForLeaderEpoch answer: the largest epoch <= `epoch` that we know, and
   * the offset where it ended (the next epoch's start, or the log end offset).
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    let index = -1;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i]!.epoch <= epoch) {
        index = i;
        break;
      }
    }
    if (index < 0) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const next = this.entries[index + 1];
    return { epoch: this.entries[index]!.epoch, endOffset: next === undefined ? logEndOffset : next.startOffset };
  }

  /** Drops epochs that start at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number): void {
    const kept = this.entries.filter((e) => e.startOffset < endOffset);
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    this.persist();
  }

  /** The log now starts at `startOffset`: the epoch covering it starts there. */
  truncateFromStart(startOffset: number): void {
    let covering = -1;
    for (let i = 0; i < this.entries.length; i++) if (this.entries[i]!.startOffset <= startOffset) covering = i;
    if (covering < 0) return;
    const head = this.entries[covering]!;
    if (covering === 0 && head.startOffset === startOffset) return;
    this.entries = [{ epoch: head.epoch, startOffset }, ...this.entries.slice(covering + 1)];
    assert(this.entries.every((e, i) => i === 0 || e.startOffset > this.entries[i - 1]!.startOffset), 'epoch starts increase');
    this.persist();
  }

  private persist(): void {
    writeCheckpoint(this.path, this.entries.map((e) => `${e.epoch} ${e.startOffset}`));
    this.dirty = false;
  }
}
