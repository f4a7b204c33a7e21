/**
 * The replicated log as the Raft core sees it, after Kafka's `ReplicatedLog`: offsets start
 * at 0 and are dense, `endOffset` is the next offset to be written, and an epoch cache maps
 * each epoch to the offset where it starts so that divergence is found per epoch (KIP-101)
 * rather than entry by entry.
 *
 * Durability is explicit: `append` may leave entries in memory only, `flush` makes everything
 * up to `endOffset` durable. The core never counts an unflushed entry of its own towards the
 * high watermark, which is why the simulator may throw unflushed entries away on a crash.
 * Truncation is durable at once, as Kafka truncates the segment files before fetching on.
 *
 * Snapshots (KIP-630): a snapshot holds the state machine as of an end offset and the epoch
 * of the entry before it (its id). Once one is stored, entries below its end offset may be
 * deleted; the log then starts at `startOffset()` and a fetcher behind it is sent the
 * snapshot instead. A follower that fetched a snapshot installs it: its log is replaced by
 * an empty one starting at the snapshot's end. Snapshot bytes are opaque here.
 */
import type { Epoch, LogEntry, OffsetAndEpoch } from './types.js';

export interface RaftLog {
  endOffset(): number;
  /** First offset held; entries below it are only in a snapshot. 0 until a prefix is deleted. */
  startOffset(): number;
  /** Epoch of the last entry; for an empty log, that of the snapshot it starts at, else 0. */
  lastEpoch(): Epoch;
  /** Everything below this offset survives a crash. */
  flushedOffset(): number;
  entryAt(offset: number): LogEntry | undefined;
  /** Up to `maxEntries` entries starting at `from`. */
  read(from: number, maxEntries: number): LogEntry[];
  /** Appends one entry whose offset must equal `endOffset()`. */
  append(entry: LogEntry): void;
  /** Removes every entry at or above `offset`. */
  truncateTo(offset: number): void;
  flush(): void;
  /**
   * The largest epoch not above `epoch` present in the log and the offset where it ends,
   * or `{offset: 0, epoch: 0}` when the log holds nothing that old. An epoch at or after the
   * one the log starts at (its snapshot's) but older than every entry ends at the start.
   */
  endOffsetForEpoch(epoch: Epoch): OffsetAndEpoch;
  /** The newest stored snapshot, or null. */
  latestSnapshot(): OffsetAndEpoch | null;
  /** Up to `maxBytes` of snapshot `id` from `position`, with its whole size; undefined when not stored. */
  readSnapshot(id: OffsetAndEpoch, position: number, maxBytes: number): SnapshotChunk | undefined;
  /**
   * Stores a snapshot of the committed state up to `id.offset` (durable on return). The
   * entry before that offset, when still in the log, must have epoch `id.epoch`.
   */
  storeSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void;
  /**
   * Deletes entries below `offset`, which must not pass the latest snapshot; the log may keep
   * some of them (a file log deletes whole segments only).
   */
  deleteBefore(offset: number): void;
  /** Stores a snapshot fetched from the leader and empties the log to start at its end. */
  installSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void;
}

export interface SnapshotChunk {
  readonly size: number;
  readonly bytes: Uint8Array;
}

/** Whether the entry before `id.offset` is in `log` with the epoch `id` names (a snapshot taken here or matching it). */
export function holdsSnapshotEnd(log: RaftLog, id: OffsetAndEpoch): boolean {
  const before = id.offset - 1;
  if (before < log.startOffset() || before >= log.endOffset()) return false;
  return log.entryAt(before)?.epoch === id.epoch;
}

export interface EpochStart {
  readonly epoch: Epoch;
  readonly startOffset: number;
}

/**
 * The log the simulator runs on. The object outlives a simulated crash, playing the disk:
 * `loseUnflushed` is the crash, everything else is the process writing to it.
 */
export class MemoryRaftLog implements RaftLog {
  /** entries[i] is the entry at offset start + i. */
  private entries: LogEntry[] = [];
  private epochs: EpochStart[] = [];
  private start = 0;
  private startEpoch: Epoch = 0;
  private flushed = 0;
  private readonly snapshots = new Map<string, { id: OffsetAndEpoch; bytes: Uint8Array }>();
  private latest: OffsetAndEpoch | null = null;

  endOffset(): number {
    return this.start + this.entries.length;
  }

  startOffset(): number {
    return this.start;
  }

  lastEpoch(): Epoch {
    return this.epochs.at(-1)?.epoch ?? this.startEpoch;
  }

  flushedOffset(): number {
    return this.flushed;
  }

  entryAt(offset: number): LogEntry | undefined {
    return offset < this.start ? undefined : this.entries[offset - this.start];
  }

  read(from: number, maxEntries: number): LogEntry[] {
    const end = this.endOffset();
    if (from < this.start || from > end) throw new RangeError(`read from ${from} outside [${this.start}, ${end}]`);
    return this.entries.slice(from - this.start, from - this.start + maxEntries);
  }

  append(entry: LogEntry): void {
    if (entry.offset !== this.endOffset()) {
      throw new Error(`append at offset ${entry.offset}, log end offset is ${this.endOffset()}`);
    }
    const last = this.lastEpoch();
    if (entry.epoch < last) throw new Error(`append of epoch ${entry.epoch} after epoch ${last}`);
    if (entry.epoch > (this.epochs.at(-1)?.epoch ?? -1)) this.epochs.push({ epoch: entry.epoch, startOffset: entry.offset });
    this.entries.push(entry);
  }

  truncateTo(offset: number): void {
    if (offset < this.start) throw new RangeError(`truncate to ${offset} below the log start ${this.start}`);
    if (offset >= this.endOffset()) return;
    this.entries.length = offset - this.start;
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= offset) this.epochs.pop();
    this.flushed = Math.min(this.flushed, offset);
  }

  flush(): void {
    this.flushed = this.endOffset();
  }

  endOffsetForEpoch(epoch: Epoch): OffsetAndEpoch {
    for (let i = this.epochs.length - 1; i >= 0; i--) {
      const start = this.epochs[i]!;
      if (start.epoch <= epoch) {
        const end = this.epochs[i + 1]?.startOffset ?? this.endOffset();
        return { offset: end, epoch: start.epoch };
      }
    }
    if (this.start > 0 && epoch >= this.startEpoch) return { offset: this.start, epoch: this.startEpoch };
    return { offset: 0, epoch: 0 };
  }

  latestSnapshot(): OffsetAndEpoch | null {
    return this.latest;
  }

  readSnapshot(id: OffsetAndEpoch, position: number, maxBytes: number): SnapshotChunk | undefined {
    const snapshot = this.snapshots.get(snapshotKey(id));
    if (snapshot === undefined) return undefined;
    return { size: snapshot.bytes.length, bytes: snapshot.bytes.subarray(position, position + maxBytes) };
  }

  storeSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    const before = this.entryAt(id.offset - 1);
    if (id.offset > this.endOffset() || (before !== undefined && before.epoch !== id.epoch)) {
      throw new Error(`snapshot ${id.offset}@${id.epoch} does not match the log`);
    }
    this.keepSnapshot(id, bytes);
  }

  deleteBefore(offset: number): void {
    if (this.latest === null || offset > this.latest.offset) throw new Error(`delete before ${offset} past the latest snapshot`);
    if (offset <= this.start) return;
    const epochBefore = this.entryAt(offset - 1)?.epoch ?? this.startEpoch;
    this.entries = this.entries.slice(offset - this.start);
    this.start = offset;
    // What was deleted is in the snapshot, which is durable.
    this.flushed = Math.max(this.flushed, offset);
    this.startEpoch = epochBefore;
    this.epochs = clampEpochs(this.epochs, offset);
  }

  installSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    this.keepSnapshot(id, bytes);
    this.entries = [];
    this.epochs = [];
    this.start = id.offset;
    this.startEpoch = id.epoch;
    this.flushed = id.offset;
  }

  /** The crash: what was never flushed is gone. Returns the entries lost. */
  loseUnflushed(): LogEntry[] {
    const lost = this.entries.slice(this.flushed - this.start);
    this.truncateTo(this.flushed);
    return lost;
  }

  private keepSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    this.snapshots.set(snapshotKey(id), { id, bytes: new Uint8Array(bytes) });
    if (this.latest === null || id.offset > this.latest.offset) this.latest = id;
  }
}

function snapshotKey(id: OffsetAndEpoch): string {
  return `${id.offset}-${id.epoch}`;
}

/** The epoch starts of a log whose entries below `start` are gone: the epoch holding `start` now starts there. */
export function clampEpochs(epochs: readonly EpochStart[], start: number): EpochStart[] {
  const kept: EpochStart[] = [];
  for (let i = 0; i < epochs.length; i++) {
    const next = epochs[i + 1]?.startOffset ?? Number.POSITIVE_INFINITY;
    if (next <= start) continue;
    kept.push({ epoch: epochs[i]!.epoch, startOffset: Math.max(start, epochs[i]!.startOffset) });
  }
  return kept;
}
