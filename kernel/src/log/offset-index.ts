/**
 * Sparse offset index of one segment: `<20-digit base offset>.index`.
 *
 * Byte layout: a flat array of 8-byte entries, no header, big-endian:
 *   relativeOffset uint32   (batch base offset - segment base offset)
 *   position       uint32   (byte position of that batch in the .log file)
 * Entries are strictly increasing in both fields. One entry is added when at least
 * `index.interval.bytes` of log were appended since the previous one, always at a
 * batch start.
 *
 * Durability and recovery: the index is an accelerator, never the truth. It is kept in
 * memory, appended to its file when the log is flushed, and fsynced when the segment
 * is rolled or the broker stops. On load, a trailing partial entry, entries that are
 * not increasing, and entries at or beyond the log's valid size are dropped; recovery
 * re-adds entries for everything it re-scans. A segment whose index cannot be trusted
 * rebuilds it from the log.
 *
 * Not safe for concurrent use; the owning segment serialises access.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendToIndexFile, truncateIndexFile } from './index-file.js';
import { assert } from '../errors.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private entries: Buffer;
  private count = 0;
  /** Entries [persistedCount, count) are not yet in the file. */
  private persistedCount = 0;

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    readonly entriesMax: number,
    initial: Buffer,
    initialCount: number,
  ) {
    this.entries = initial;
    this.count = initialCount;
    this.persistedCount = initialCount;
  }

  static create(path: string, baseOffset: number, indexBytesMax: number): OffsetIndex {
    const entriesMax = Math.max(1, Math.floor(indexBytesMax / OFFSET_INDEX_ENTRY_BYTES));
    return new OffsetIndex(path, baseOffset, entriesMax, Buffer.alloc(Math.min(entriesMax, 1024) * OFFSET_INDEX_ENTRY_BYTES), 0);
  }

  /**
   * Loads the file, keeping only the entries that are sane for a log of `logSizeBytes`
   * valid bytes and below `offsetLimit` (exclusive). The file is cut to match.
   */
  static load(path: string, baseOffset: number, indexBytesMax: number, logSizeBytes: number, offsetLimit: number): OffsetIndex {
    const index = OffsetIndex.create(path, baseOffset, indexBytesMax);
    if (!existsSync(path)) return index;
    const raw = readFileSync(path);
    const rawCount = Math.floor(raw.length / OFFSET_INDEX_ENTRY_BYTES);
    let lastRel = -1;
    let lastPos = -1;
    let kept = 0;
    for (let i = 0; i < rawCount && kept < index.entriesMax; i++) {
      const rel = raw.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const pos = raw.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (rel <= lastRel || pos <= lastPos || pos >= logSizeBytes || baseOffset + rel >= offsetLimit) break;
      lastRel = rel;
      lastPos = pos;
      kept++;
    }
    index.ensureCapacity(kept);
    raw.copy(index.entries, 0, 0, kept * OFFSET_INDEX_ENTRY_BYTES);
    index.count = kept;
    index.persistedCount = kept;
    if (raw.length !== kept * OFFSET_INDEX_ENTRY_BYTES) index.truncateFile(kept);
    return index;
  }

  get entryCount(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.entriesMax;
  }

  get lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.baseOffset + this.entries.readUInt32BE((this.count - 1) * OFFSET_INDEX_ENTRY_BYTES);
  }

  get lastPosition(): number {
    return this.count === 0 ? 0 : this.entries.readUInt32BE((this.count - 1) * OFFSET_INDEX_ENTRY_BYTES + 4);
  }

  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    assert(!this.isFull, 'offset index is full');
    assert(rel >= 0 && rel <= 0xffffffff, `relative offset ${rel} out of range`);
    assert(this.count === 0 || (rel > this.lastOffset - this.baseOffset && position > this.lastPosition),
      `offset index entries must increase (${offset}@${position})`);
    this.ensureCapacity(this.count + 1);
    this.entries.writeUInt32BE(rel, this.count * OFFSET_INDEX_ENTRY_BYTES);
    this.entries.writeUInt32BE(position, this.count * OFFSET_INDEX_ENTRY_BYTES + 4);
    this.count++;
  }

  /** The last entry whose offset is at most `offset`: a batch start at or before it. */
  lookup(offset: number): { offset: number; position: number } {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries.readUInt32BE(mid * OFFSET_INDEX_ENTRY_BYTES) <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return {
      offset: this.baseOffset + this.entries.readUInt32BE(found * OFFSET_INDEX_ENTRY_BYTES),
      position: this.entries.readUInt32BE(found * OFFSET_INDEX_ENTRY_BYTES + 4),
    };
  }

  /** Drops entries at or after `offset` (truncation and recovery). */
  truncateToOffset(offset: number): void {
    const rel = offset - this.baseOffset;
    let keep = this.count;
    while (keep > 0 && this.entries.readUInt32BE((keep - 1) * OFFSET_INDEX_ENTRY_BYTES) >= rel) keep--;
    this.count = keep;
    if (this.persistedCount > keep) {
      this.persistedCount = keep;
      this.truncateFile(keep);
    }
  }

  /** Writes entries not yet in the file. `fsync` when the segment is being sealed. */
  persist(fsync: boolean): void {
    if (this.persistedCount === this.count && !fsync) return;
    const from = this.persistedCount * OFFSET_INDEX_ENTRY_BYTES;
    appendToIndexFile(this.path, this.entries.subarray(from, this.count * OFFSET_INDEX_ENTRY_BYTES), fsync);
    this.persistedCount = this.count;
  }

  private truncateFile(entryCount: number): void {
    truncateIndexFile(this.path, entryCount * OFFSET_INDEX_ENTRY_BYTES);
  }

  private ensureCapacity(entries: number): void {
    if (entries * OFFSET_INDEX_ENTRY_BYTES <= this.entries.length) return;
    const grown = Buffer.alloc(Math.min(this.entriesMax, Math.max(entries, this.entries.length / 4)) * OFFSET_INDEX_ENTRY_BYTES);
    this.entries.copy(grown, 0, 0, this.count * OFFSET_INDEX_ENTRY_BYTES);
    this.entries = grown;
  }
}
