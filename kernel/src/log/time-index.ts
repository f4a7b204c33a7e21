/**
 * Sparse time index of one segment: `<20-digit base offset>.timeindex`.
 *
 * Byte layout: a flat array of 12-byte entries, no header, big-endian:
 *   timestamp      int64   (largest batch max-timestamp seen up to this batch, ms)
 *   relativeOffset uint32  (base offset of that batch - segment base offset)
 * Timestamps and offsets strictly increase. An entry is added with each offset-index
 * entry when the largest timestamp grew, and once more when the segment is sealed, so
 * the last entry of a sealed segment holds its largest timestamp (used by time retention)
 * at its last batch.
 *
 * Durability and recovery: as the offset index (see offset-index.ts): written at flush,
 * fsynced at roll, cut to sane entries on load, rebuilt by recovery.
 */
import { existsSync, readFileSync } from 'node:fs';
import { assert } from '../errors.js';
import { appendToIndexFile, truncateIndexFile } from './index-file.js';

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private entries: Buffer = Buffer.alloc(0);
  private count = 0;
  private persistedCount = 0;

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    readonly entriesMax: number,
  ) {}

  static create(path: string, baseOffset: number, indexBytesMax: number): TimeIndex {
    return new TimeIndex(path, baseOffset, Math.max(1, Math.floor(indexBytesMax / TIME_INDEX_ENTRY_BYTES)));
  }

  /** Loads the file, keeping increasing entries below `offsetLimit`; the file is cut to match. */
  static load(path: string, baseOffset: number, indexBytesMax: number, offsetLimit: number): TimeIndex {
    const index = TimeIndex.create(path, baseOffset, indexBytesMax);
    if (!existsSync(path)) return index;
    const raw = readFileSync(path);
    const rawCount = Math.floor(raw.length / TIME_INDEX_ENTRY_BYTES);
    let lastTs = Number.NEGATIVE_INFINITY;
    let lastRel = -1;
    let kept = 0;
    for (let i = 0; i < rawCount && kept < index.entriesMax; i++) {
      const ts = Number(raw.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES));
      const rel = raw.readUInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (ts <= lastTs || rel < lastRel || baseOffset + rel >= offsetLimit) break;
      lastTs = ts;
      lastRel = rel;
      kept++;
    }
    index.entries = Buffer.from(raw.subarray(0, kept * TIME_INDEX_ENTRY_BYTES));
    index.count = kept;
    index.persistedCount = kept;
    if (raw.length !== kept * TIME_INDEX_ENTRY_BYTES) truncateIndexFile(path, kept * TIME_INDEX_ENTRY_BYTES);
    return index;
  }

  get entryCount(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.entriesMax;
  }

  /** Largest timestamp indexed, or -1 when empty. */
  get lastTimestamp(): number {
    return this.count === 0 ? -1 : Number(this.entries.readBigInt64BE((this.count - 1) * TIME_INDEX_ENTRY_BYTES));
  }

  get lastOffset(): number {
    return this.count === 0 ? -1 : this.baseOffset + this.entries.readUInt32BE((this.count - 1) * TIME_INDEX_ENTRY_BYTES + 8);
  }

  /** Adds an entry if `timestamp` is larger than the last one; a smaller one carries no information. */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp || this.isFull) return;
    const rel = offset - this.baseOffset;
    assert(rel >= 0 && rel <= 0xffffffff, `relative offset ${rel} out of range`);
    if (this.count > 0 && offset < this.lastOffset) return;
    // Same batch offset with a larger timestamp: replace rather than duplicate.
    if (this.count > 0 && offset === this.lastOffset) this.dropLast();
    if ((this.count + 1) * TIME_INDEX_ENTRY_BYTES > this.entries.length) {
      const grown = Buffer.alloc(Math.min(this.entriesMax, Math.max(64, this.count * 2)) * TIME_INDEX_ENTRY_BYTES);
      this.entries.copy(grown, 0, 0, this.count * TIME_INDEX_ENTRY_BYTES);
      this.entries = grown;
    }
    this.entries.writeBigInt64BE(BigInt(timestamp), this.count * TIME_INDEX_ENTRY_BYTES);
    this.entries.writeUInt32BE(rel, this.count * TIME_INDEX_ENTRY_BYTES + 8);
    this.count++;
  }

  /**
   * The sealing entry: `timestamp` (the segment's largest) at `offset` (its last batch).
   * When no entry can be added (the timestamp did not grow, or the index is full) the
   * last entry is replaced: an entry only promises that no batch before its own is
   * later than its timestamp, which stays true when it moves to a later batch with the
   * segment's largest timestamp. Readers of a sealed segment then find no batch after
   * the last entry's but the last batch itself.
   */
  appendFinal(timestamp: number, offset: number): void {
    if (this.count > 0 && offset < this.lastOffset) return;
    if (this.count > 0 && (timestamp <= this.lastTimestamp || this.isFull)) {
      const largest = Math.max(timestamp, this.lastTimestamp);
      this.dropLast();
      this.maybeAppend(largest, offset);
      return;
    }
    this.maybeAppend(timestamp, offset);
  }

  private dropLast(): void {
    this.count--;
    if (this.persistedCount > this.count) {
      this.persistedCount = this.count;
      truncateIndexFile(this.path, this.count * TIME_INDEX_ENTRY_BYTES);
    }
  }

  /** The offset from which a scan for the first record with timestamp >= `timestamp` may start. */
  lookup(timestamp: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (Number(this.entries.readBigInt64BE(mid * TIME_INDEX_ENTRY_BYTES)) < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? this.baseOffset : this.baseOffset + this.entries.readUInt32BE(found * TIME_INDEX_ENTRY_BYTES + 8);
  }

  truncateToOffset(offset: number): void {
    let keep = this.count;
    while (keep > 0 && this.baseOffset + this.entries.readUInt32BE((keep - 1) * TIME_INDEX_ENTRY_BYTES + 8) >= offset) keep--;
    this.count = keep;
    if (this.persistedCount > keep) {
      this.persistedCount = keep;
      truncateIndexFile(this.path, keep * TIME_INDEX_ENTRY_BYTES);
    }
  }

  persist(fsync: boolean): void {
    if (this.persistedCount === this.count && !fsync) return;
    const from = this.persistedCount * TIME_INDEX_ENTRY_BYTES;
    appendToIndexFile(this.path, this.entries.subarray(from, this.count * TIME_INDEX_ENTRY_BYTES), fsync);
    this.persistedCount = this.count;
  }
}
