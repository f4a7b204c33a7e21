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
 */
import type { Epoch, LogEntry, OffsetAndEpoch } from './types.js';

export interface RaftLog {
  endOffset(): number;
  /** Epoch of the last entry, 0 for an empty log. */
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
   * or `{offset: 0, epoch: 0}` when the log holds nothing that old.
   */
  endOffsetForEpoch(epoch: Epoch): OffsetAndEpoch;
}

interface EpochStart {
  readonly epoch: Epoch;
  readonly startOffset: number;
}

/**
 * The log the simulator runs on. The object outlives a simulated crash, playing the disk:
 * `loseUnflushed` is the crash, everything else is the process writing to it.
 */
export class MemoryRaftLog implements RaftLog {
  private readonly entries: LogEntry[] = [];
  private readonly epochs: EpochStart[] = [];
  private flushed = 0;

  endOffset(): number {
    return this.entries.length;
  }

  lastEpoch(): Epoch {
    return this.epochs.at(-1)?.epoch ?? 0;
  }

  flushedOffset(): number {
    return this.flushed;
  }

  entryAt(offset: number): LogEntry | undefined {
    return this.entries[offset];
  }

  read(from: number, maxEntries: number): LogEntry[] {
    if (from < 0 || from > this.entries.length) throw new RangeError(`read from ${from} outside [0, ${this.entries.length}]`);
    return this.entries.slice(from, from + maxEntries);
  }

  append(entry: LogEntry): void {
    if (entry.offset !== this.entries.length) {
      throw new Error(`append at offset ${entry.offset}, log end offset is ${this.entries.length}`);
    }
    const last = this.lastEpoch();
    if (entry.epoch < last) throw new Error(`append of epoch ${entry.epoch} after epoch ${last}`);
    if (entry.epoch > last) this.epochs.push({ epoch: entry.epoch, startOffset: entry.offset });
    this.entries.push(entry);
  }

  truncateTo(offset: number): void {
    if (offset < 0) throw new RangeError(`truncate to ${offset}`);
    if (offset >= this.entries.length) return;
    this.entries.length = offset;
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= offset) this.epochs.pop();
    this.flushed = Math.min(this.flushed, offset);
  }

  flush(): void {
    this.flushed = this.entries.length;
  }

  endOffsetForEpoch(epoch: Epoch): OffsetAndEpoch {
    for (let i = this.epochs.length - 1; i >= 0; i--) {
      const start = this.epochs[i]!;
      if (start.epoch <= epoch) {
        const end = this.epochs[i + 1]?.startOffset ?? this.entries.length;
        return { offset: end, epoch: start.epoch };
      }
    }
    return { offset: 0, epoch: 0 };
  }

  /** The crash: what was never flushed is gone. Returns the entries lost. */
  loseUnflushed(): LogEntry[] {
    const lost = this.entries.slice(this.flushed);
    this.truncateTo(this.flushed);
    return lost;
  }
}
