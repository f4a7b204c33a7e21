/**
 * One segment of a partition log: `<20-digit base offset>.log` with its `.index` and
 * `.timeindex` (see offset-index.ts, time-index.ts).
 *
 * Byte layout of `.log`: RecordBatch v2 batches back to back, exactly as producers sent
 * them (record-batch.ts), with base offsets and leader epochs assigned by the broker.
 * Nothing else: no header, no padding. The first batch's base offset is at least the
 * segment's base offset (compaction may remove the records at the start).
 *
 * Recovery rules: bytes after the last batch whose length, magic and CRC-32C check out,
 * and whose offsets follow the previous batch's and fit the segment, are a torn tail and
 * are cut off (`recover`). Indexes are rebuilt for every batch that
 * recovery re-scans. Sealed segments (all but the last) are not re-scanned unless they
 * lie after the recovery point.
 *
 * Not safe for concurrent use: the owning PartitionLog calls it from one event loop.
 * Writes are synchronous (page cache); the only asynchronous operation is fdatasync.
 */
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../errors.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { writeFully } from './index-file.js';
import * as rb from './record-batch.js';

/** Largest batch a scan accepts as plausible; a larger length field means corruption. */
export const SCAN_BATCH_BYTES_MAX = 256 * 1024 * 1024;
/** Read granularity of sequential scans (recovery, time lookups). */
const SCAN_CHUNK_BYTES = 1024 * 1024;
/**
 * Offsets a segment can hold past its base: relative offsets in the indexes are uint32,
 * and the log rolls before a batch would exceed it. Base offsets are outside the CRC,
 * so recovery checks this bound rather than trusting them.
 */
const RELATIVE_OFFSET_MAX = 0xffffffff;
/**
 * Destination shift for file reads: copying page-cache pages into a page-aligned buffer
 * runs about 7x slower on this class of CPU than into one shifted by a few bytes
 * (research/perf-anchors.md; measured again by bench/log-bench).
 */
export const READ_BUFFER_SHIFT_BYTES = 64;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

export interface SegmentConfig {
  readonly indexIntervalBytes: number;
  readonly segmentIndexBytes: number;
}

export interface ScanVisitor {
  /** Called for each whole batch; `buf` holds it at `pos`. Return false to stop. */
  (buf: Buffer, pos: number, size: number, filePosition: number): boolean | void;
}

export class Segment {
  private fdValue: number | undefined;
  private offsetIndexValue: OffsetIndex | undefined;
  private timeIndexValue: TimeIndex | undefined;
  private size: number;
  private nextOffsetValue: number;
  private maxTimestampValue = -1;
  private bytesSinceIndexEntry = 0;
  private gone = false;
  private syncsInFlight = 0;
  private fdsToClose: number[] = [];
  /** Set while `recover` runs: index loading must not read the unchecked bytes it is about to check. */
  private recovering = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    sizeBytes: number,
    nextOffset: number,
    private readonly config: SegmentConfig,
    /** Index entries at or beyond this offset are not trusted when the index files are loaded. */
    private readonly indexOffsetLimit: number,
  ) {
    this.size = sizeBytes;
    this.nextOffsetValue = nextOffset;
  }

  get logPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, '.log'));
  }

  static create(dir: string, baseOffset: number, config: SegmentConfig): Segment {
    const segment = new Segment(dir, baseOffset, 0, baseOffset, config, baseOffset);
    segment.fdValue = openSync(segment.logPath, 'w+');
    segment.offsetIndexValue = OffsetIndex.create(segment.indexPath('.index'), baseOffset, config.segmentIndexBytes);
    segment.timeIndexValue = TimeIndex.create(segment.indexPath('.timeindex'), baseOffset, config.segmentIndexBytes);
    // Index files left by an earlier segment at this base offset must not be appended to.
    rmSync(segment.offsetIndexValue.path, { force: true });
    rmSync(segment.timeIndexValue.path, { force: true });
    return segment;
  }

  /**
   * Opens an existing segment without reading it: its file and indexes are opened on
   * first use, so start-up time does not grow with the number of sealed segments.
   * `nextOffset` is the next segment's base offset (or a bound the caller refines with
   * `recover` / `loadTrusted`); index entries at or after `indexOffsetLimit` are dropped.
   */
  static open(dir: string, baseOffset: number, config: SegmentConfig, sizeBytes: number, nextOffset: number,
    indexOffsetLimit: number): Segment {
    return new Segment(dir, baseOffset, sizeBytes, nextOffset, config, indexOffsetLimit);
  }

  private indexPath(suffix: string): string {
    return join(this.dir, segmentFileName(this.baseOffset, suffix));
  }

  private handle(): number {
    assert(!this.gone, `segment ${this.baseOffset} used after delete`);
    if (this.fdValue === undefined) this.fdValue = openSync(this.logPath, 'r+');
    return this.fdValue;
  }

  get offsetIndex(): OffsetIndex {
    if (this.offsetIndexValue === undefined) this.loadIndexes();
    return this.offsetIndexValue!;
  }

  get timeIndex(): TimeIndex {
    if (this.timeIndexValue === undefined) this.loadIndexes();
    return this.timeIndexValue!;
  }

  private loadIndexes(): void {
    const limit = this.indexOffsetLimit;
    this.offsetIndexValue = OffsetIndex.load(this.indexPath('.index'), this.baseOffset, this.config.segmentIndexBytes, this.size, limit);
    this.timeIndexValue = TimeIndex.load(this.indexPath('.timeindex'), this.baseOffset, this.config.segmentIndexBytes, limit);
    this.maxTimestampValue = this.timeIndexValue.lastTimestamp;
    // Recovery rebuilds the indexes from the bytes it checks; reading those bytes here
    // unchecked could meet a torn or corrupt batch.
    if (this.recovering) return;
    if (this.size > 0 && (this.offsetIndexValue.entryCount === 0 || this.timeIndexValue.entryCount === 0
      || !this.batchStartsAt(this.offsetIndexValue.lastOffset, this.offsetIndexValue.lastPosition))) {
      // A missing or unusable index on a segment with data: rebuild it from the log.
      this.offsetIndexValue.truncateToOffset(this.baseOffset);
      this.timeIndexValue.truncateToOffset(this.baseOffset);
      this.loadTrusted();
    } else {
      this.maxTimestampValue = this.maxTimestampBefore(this.size);
    }
  }

  /**
   * Whether a batch with base offset `offset` starts at `position`. Index entries are
   * only checked for order when loaded; checking the one an operation relies on catches
   * an index that does not belong to the log.
   */
  private batchStartsAt(offset: number, position: number): boolean {
    if (readAt(this.handle(), headerScratch, 0, rb.BATCH_HEADER_BYTES, position) < rb.BATCH_HEADER_BYTES) return false;
    return headerScratch[rb.OFFSET_MAGIC] === 2 && rb.batchBaseOffset(headerScratch, 0) === offset
      && position + rb.batchSize(headerScratch, 0) <= this.size;
  }

  /**
   * Largest timestamp of the batches before file position `end`. The time index's last
   * entry holds the largest up to its batch; the batches from there on are read, because
   * index files are written without fsync while a segment is active and may have lost
   * their last entries. Sealing moves the last entry to the last batch, so for a sealed
   * segment with intact indexes this reads one index interval of batch headers.
   */
  private maxTimestampBefore(end: number): number {
    const timeIndex = this.timeIndex;
    let max = timeIndex.lastTimestamp;
    const from = timeIndex.entryCount === 0 ? 0 : this.offsetIndex.lookup(timeIndex.lastOffset).position;
    this.scanHeaders(from, (head, filePosition) => {
      if (filePosition >= end) return false;
      max = Math.max(max, rb.batchMaxTimestamp(head, 0));
      return true;
    });
    return max;
  }

  get sizeBytes(): number {
    return this.size;
  }

  /** One past the last offset stored here (the base offset when empty). */
  get nextOffset(): number {
    return this.nextOffsetValue;
  }

  /** Largest batch max-timestamp in the segment, -1 when empty. */
  get maxTimestamp(): number {
    if (this.timeIndexValue === undefined) this.loadIndexes();
    return this.maxTimestampValue;
  }

  get indexFull(): boolean {
    return this.offsetIndex.isFull || this.timeIndex.isFull;
  }

  /**
   * Appends whole batches that already carry their final offsets. Index entries are
   * added at batch starts every `index.interval.bytes`.
   */
  append(buf: Buffer): void {
    const start = this.size;
    writeFully(this.handle(), buf, start);
    this.size += buf.length;
    let pos = 0;
    while (pos < buf.length) {
      const size = rb.batchSize(buf, pos);
      this.indexBatch(buf, pos, size, start + pos);
      pos += size;
    }
  }

  private indexBatch(buf: Buffer, pos: number, size: number, filePosition: number): void {
    const base = rb.batchBaseOffset(buf, pos);
    const maxTs = rb.batchMaxTimestamp(buf, pos);
    if (maxTs > this.maxTimestampValue) this.maxTimestampValue = maxTs;
    if (this.bytesSinceIndexEntry >= this.config.indexIntervalBytes || this.offsetIndex.entryCount === 0) {
      if (base > this.offsetIndex.lastOffset || this.offsetIndex.entryCount === 0) {
        this.offsetIndex.append(base, filePosition);
        this.timeIndex.maybeAppend(this.maxTimestampValue, base);
        this.bytesSinceIndexEntry = 0;
      }
    }
    this.bytesSinceIndexEntry += size;
    this.nextOffsetValue = rb.batchLastOffset(buf, pos) + 1;
  }

  /** Writes pending index entries to their files (no fsync). */
  persistIndexes(): void {
    this.offsetIndex.persist(false);
    this.timeIndex.persist(false);
  }

  /** Seals the segment: a final time-index entry, indexes written and fsynced. */
  seal(): void {
    if (this.maxTimestampValue >= 0 && this.nextOffsetValue > this.baseOffset) {
      this.timeIndex.appendFinal(this.maxTimestampValue, this.lastBatchBaseOffset());
    }
    this.offsetIndex.persist(true);
    this.timeIndex.persist(true);
  }

  private lastBatchBaseOffset(): number {
    let last = this.baseOffset;
    this.scanHeaders(this.offsetIndex.lookup(Number.MAX_SAFE_INTEGER).position, (head) => {
      last = rb.batchBaseOffset(head, 0);
      return true;
    });
    return last;
  }

  fdatasync(): Promise<void> {
    const fd = this.handle();
    this.syncsInFlight++;
    return new Promise((resolve, reject) => fdatasync(fd, (err) => {
      if (--this.syncsInFlight === 0) for (const pending of this.fdsToClose.splice(0)) closeSync(pending);
      if (err) reject(err);
      else resolve();
    }));
  }

  /**
   * Closes the file descriptor, or, while a sync queued on the libuv pool may still use
   * it, once that sync is done: closed first, the sync would fail with EBADF (and take
   * the log offline) or sync whatever file reused the number. Compaction and retention
   * drop segments that a group commit may be syncing.
   */
  private releaseFd(): void {
    if (this.fdValue === undefined) return;
    if (this.syncsInFlight > 0) this.fdsToClose.push(this.fdValue);
    else closeSync(this.fdValue);
    this.fdValue = undefined;
  }

  /**
   * Visits whole batches from `position` to the end of the valid bytes, reading in large
   * chunks. Stops early at a torn or corrupt batch (recovery decides what that means).
   * Returns the file position where the scan stopped.
   */
  scan(position: number, visit: ScanVisitor, end = this.size): number {
    const fd = this.handle();
    let chunk = scratchBuffer(SCAN_CHUNK_BYTES);
    let chunkStart = position;
    let chunkLen = 0;
    let pos = position;
    while (pos < end) {
      const inChunk = pos - chunkStart;
      const probe = rb.probeBatch(chunk, inChunk, chunkLen, SCAN_BATCH_BYTES_MAX);
      if (probe.kind === 'corrupt') break;
      if (probe.kind === 'need') {
        const need = chunkLen - inChunk + probe.bytes;
        if (need > end - pos) break;
        const want = Math.min(Math.max(SCAN_CHUNK_BYTES, need), end - pos);
        if (want > chunk.length) chunk = scratchBuffer(want);
        chunkStart = pos;
        chunkLen = readAt(fd, chunk, 0, want, pos);
        if (chunkLen < need) break;
        continue;
      }
      if (visit(chunk, inChunk, probe.size, pos) === false) return pos;
      pos += probe.size;
    }
    return pos;
  }

  /**
   * Recovery: re-scans from `position`, checks every batch's CRC, rebuilds the indexes
   * for what it scans, and cuts the file after the last good batch.
   * `onBatch` sees every good batch (producer state and leader epochs are rebuilt from it).
   * Returns the number of bytes cut.
   */
  recover(recoveryPoint: number, onBatch: (buf: Buffer, pos: number) => void): number {
    this.recovering = true;
    // Start at the last index entry before the recovery point: a batch start whose
    // bytes were synced; re-checking the few batches up to the recovery point is cheap.
    let start = this.offsetIndex.lookup(recoveryPoint);
    if (start.position > 0 && !this.batchStartsAt(start.offset, start.position)) {
      // Starting mid-batch would read as corruption and cut good data: re-scan it all.
      this.offsetIndex.truncateToOffset(this.baseOffset);
      this.timeIndex.truncateToOffset(this.baseOffset);
      start = { offset: this.baseOffset, position: 0 };
    }
    // The time entry of the start batch stays: it is the only record of the largest
    // timestamp among the batches before it, which the scan does not revisit.
    this.timeIndex.truncateToOffset(start.offset + 1);
    this.maxTimestampValue = this.maxTimestampBefore(start.position);
    this.offsetIndex.truncateToOffset(start.offset);
    this.nextOffsetValue = start.offset;
    this.bytesSinceIndexEntry = this.config.indexIntervalBytes;
    let goodEnd = start.position;
    this.scan(start.position, (buf, pos, size, filePosition) => {
      if (!rb.batchCrcValid(buf, pos, size)) return false;
      if (rb.batchBaseOffset(buf, pos) < this.nextOffsetValue) return false;
      if (rb.batchLastOffset(buf, pos) - this.baseOffset > RELATIVE_OFFSET_MAX) return false;
      this.indexBatch(buf, pos, size, filePosition);
      onBatch(buf, pos);
      goodEnd = filePosition + size;
      return true;
    });
    const cut = this.size - goodEnd;
    if (cut > 0) {
      this.truncateBytes(goodEnd);
      if (this.timeIndex.lastOffset >= this.nextOffsetValue) {
        // Only the kept start entry can be past the end: its own batch failed the check.
        this.timeIndex.truncateToOffset(this.nextOffsetValue);
        this.maxTimestampValue = this.maxTimestampBefore(goodEnd);
      }
    }
    this.recovering = false;
    return cut;
  }

  /**
   * Sets the in-memory state (next offset, timestamps) of a segment whose bytes are
   * trusted, reading batch headers after the last index entry only.
   */
  loadTrusted(): void {
    const start = this.offsetIndex.lookup(Number.MAX_SAFE_INTEGER);
    this.nextOffsetValue = this.baseOffset;
    this.maxTimestampValue = this.maxTimestampBefore(start.position);
    this.bytesSinceIndexEntry = 0;
    this.scanHeaders(start.position, (head, filePosition, size) => {
      this.indexBatch(head, 0, size, filePosition);
      return true;
    });
  }

  /**
   * File position of the first batch whose last offset is >= `offset`, or -1 when the
   * segment holds nothing at or after it.
   */
  translateOffset(offset: number): { position: number; batchBaseOffset: number } | undefined {
    const start = this.offsetIndex.lookup(offset);
    let found: { position: number; batchBaseOffset: number } | undefined;
    this.scanHeaders(start.position, (head, filePosition) => {
      if (rb.batchLastOffset(head, 0) >= offset) {
        found = { position: filePosition, batchBaseOffset: rb.batchBaseOffset(head, 0) };
        return false;
      }
      return true;
    });
    return found;
  }

  /** Walks batch headers (27 bytes each) without reading bodies: cheap seeks between index entries. */
  private scanHeaders(position: number, visit: (head: Buffer, filePosition: number, size: number) => boolean): void {
    const head = headerScratch;
    let pos = position;
    while (pos + rb.BATCH_HEADER_BYTES <= this.size) {
      if (readAt(this.handle(), head, 0, rb.BATCH_HEADER_BYTES, pos) < rb.BATCH_HEADER_BYTES) return;
      const size = rb.batchSize(head, 0);
      if (size < rb.BATCH_HEADER_BYTES || pos + size > this.size) return;
      if (!visit(head, pos, size)) return;
      pos += size;
    }
  }

  /**
   * Reads whole batches from `position` up to `maxBytes`, never past `endOffset`
   * (exclusive: the high watermark). The first batch is returned whole even when larger
   * than `maxBytes`, so a consumer always progresses. Returns an empty buffer when nothing
   * is readable.
   */
  read(position: number, maxBytes: number, endOffset: number): Buffer {
    const available = this.size - position;
    if (available <= 0) return EMPTY;
    let want = Math.min(Math.max(maxBytes, rb.BATCH_HEADER_BYTES), available);
    let buf = allocReadBuffer(want);
    let got = readAt(this.handle(), buf, 0, want, position);
    if (got < rb.LOG_OVERHEAD_BYTES) return EMPTY;
    const firstSize = rb.batchSize(buf, 0);
    if (firstSize > got) {
      if (firstSize > available || rb.batchBaseOffset(buf, 0) >= endOffset) return EMPTY;
      want = firstSize;
      buf = allocReadBuffer(want);
      got = readAt(this.handle(), buf, 0, want, position);
      if (got < firstSize) return EMPTY;
    }
    // Keep whole batches below endOffset.
    let end = 0;
    while (end + rb.LOG_OVERHEAD_BYTES <= got) {
      const size = rb.batchSize(buf, end);
      if (size < rb.BATCH_HEADER_BYTES || end + size > got) break;
      if (rb.batchBaseOffset(buf, end) >= endOffset) break;
      end += size;
    }
    return buf.subarray(0, end);
  }

  /**
   * The first record at or after `startOffset` whose timestamp is >= `timestamp`, or
   * undefined. Batches are skipped by their headers' max timestamps; `inBatch` looks at the
   * records of a batch that may hold it (they may be compressed, which segments leave to
   * their callers) and answers undefined when none qualifies, so the search goes on.
   */
  findOffsetByTimestamp(
    timestamp: number,
    startOffset: number,
    inBatch: (buf: Buffer, pos: number, size: number) => { offset: number; timestamp: number } | undefined,
  ): { offset: number; timestamp: number } | undefined {
    const from = Math.max(this.timeIndex.lookup(timestamp), startOffset);
    const position = this.translateOffset(from)?.position;
    if (position === undefined) return undefined;
    let found: { offset: number; timestamp: number } | undefined;
    this.scanHeaders(position, (head, filePosition, size) => {
      if (rb.batchMaxTimestamp(head, 0) < timestamp || rb.batchLastOffset(head, 0) < startOffset) return true;
      this.scan(filePosition, (buf, pos, batchSize) => {
        found = inBatch(buf, pos, batchSize);
        return false;
      }, filePosition + size);
      return found === undefined;
    });
    return found;
  }

  /**
   * Removes every batch whose last offset is >= `offset`, so the batch containing it goes
   * too (as Kafka). Returns the new next offset.
   */
  truncateToOffset(offset: number): number {
    const at = this.translateOffset(offset);
    if (at === undefined) return this.nextOffsetValue;
    this.offsetIndex.truncateToOffset(at.batchBaseOffset);
    this.timeIndex.truncateToOffset(at.batchBaseOffset);
    this.truncateBytes(at.position);
    this.loadTrusted();
    return this.nextOffsetValue;
  }

  /** Cuts the file back to `size` bytes after a failed write; indexes never saw the write. */
  truncateToSize(size: number): void {
    this.truncateBytes(size);
  }

  fdatasyncNow(): void {
    fdatasyncSync(this.handle());
  }

  /**
   * Releases the file descriptor without writing indexes: the files now belong to a
   * replacement segment (compaction renamed its files over these).
   */
  detach(): void {
    this.releaseFd();
    this.gone = true;
  }

  private truncateBytes(size: number): void {
    ftruncateSync(this.handle(), size);
    this.size = size;
  }

  /** Writes pending index entries and releases the file descriptor; the segment stays usable. */
  close(): void {
    if (this.gone) return;
    this.offsetIndexValue?.persist(false);
    this.timeIndexValue?.persist(false);
    this.releaseFd();
  }

  /**
   * Deletes the segment's files. Each is renamed to `.deleted` first, so a crash in the
   * middle leaves names that loading recognises and removes.
   */
  delete(): void {
    this.releaseFd();
    this.gone = true;
    for (const path of [this.logPath, this.indexPath('.index'), this.indexPath('.timeindex')]) {
      try {
        renameSync(path, path + '.deleted');
        rmSync(path + '.deleted', { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);
const headerScratch = Buffer.alloc(rb.BATCH_HEADER_BYTES);
let scratch: Buffer | undefined;

function scratchBuffer(size: number): Buffer {
  if (scratch === undefined || scratch.length < size) {
    scratch = Buffer.allocUnsafe(size + READ_BUFFER_SHIFT_BYTES).subarray(READ_BUFFER_SHIFT_BYTES);
  }
  return scratch;
}

/** A fresh buffer for data handed to a reader, shifted off the page boundary (see READ_BUFFER_SHIFT_BYTES). */
export function allocReadBuffer(size: number): Buffer {
  return Buffer.allocUnsafe(size + READ_BUFFER_SHIFT_BYTES).subarray(READ_BUFFER_SHIFT_BYTES);
}

function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let total = 0;
  while (total < length) {
    const n = readSync(fd, buf, offset + total, length - total, position + total);
    if (n === 0) break;
    total += n;
  }
  return total;
}
