/**
 * Aborted-transaction index of one partition: for each transaction ended by an ABORT
 * marker, which producer wrote it and which offsets it spans, so a read_committed fetch
 * can tell consumers which records to drop.
 *
 * Files: `<20-digit segment base offset>.txnindex`, one per segment that holds at least
 * one ABORT marker; an entry lives in the file of the segment holding its marker.
 * Byte layout (big-endian), Kafka's, 34 bytes per entry, back to back, no header:
 *
 *   version int16 (0) | producerId int64 | firstOffset int64 | lastOffset int64 | lastStableOffset int64
 *
 * lastOffset is the marker's offset; lastStableOffset is the partition's last stable
 * offset once the marker was applied (bounded by the marker's offset + 1).
 *
 * Rules at load: a partial trailing entry (a torn write) is ignored; a file whose base
 * is not a segment's base (a compaction that merged segments crashed before the merge
 * of their indexes) is attached to the segment containing that offset. Entries at or
 * after the point where producer state is replayed from are dropped by the log and
 * re-created by the replay, so this index never needs a scan of its own.
 */
import { appendFileSync, closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFileSync } from './checkpoint-file.js';
import { segmentFileName } from './segment.js';

const ENTRY_BYTES = 34;
const ENTRY_VERSION = 0;
const SUFFIX = '.txnindex';

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly lastStableOffset: number;
}

function encode(entries: readonly AbortedTxn[]): Buffer {
  const out = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((e, i) => {
    const at = i * ENTRY_BYTES;
    out.writeInt16BE(ENTRY_VERSION, at);
    out.writeBigInt64BE(BigInt(e.producerId), at + 2);
    out.writeBigInt64BE(BigInt(e.firstOffset), at + 10);
    out.writeBigInt64BE(BigInt(e.lastOffset), at + 18);
    out.writeBigInt64BE(BigInt(e.lastStableOffset), at + 26);
  });
  return out;
}

function decode(buf: Buffer): AbortedTxn[] {
  const entries: AbortedTxn[] = [];
  for (let at = 0; at + ENTRY_BYTES <= buf.length; at += ENTRY_BYTES) {
    if (buf.readInt16BE(at) !== ENTRY_VERSION) break;
    entries.push({
      producerId: Number(buf.readBigInt64BE(at + 2)),
      firstOffset: Number(buf.readBigInt64BE(at + 10)),
      lastOffset: Number(buf.readBigInt64BE(at + 18)),
      lastStableOffset: Number(buf.readBigInt64BE(at + 26)),
    });
  }
  return entries;
}

export class TxnIndex {
  /** Segment base offset -> its entries, by marker offset. */
  private bySegment = new Map<number, AbortedTxn[]>();
  private unsynced = new Set<number>();

  constructor(private readonly dir: string) {}

  private path(base: number): string {
    return join(this.dir, segmentFileName(base, SUFFIX));
  }

  /** Reads every index file; `containing` maps an offset to the base of the segment holding it. */
  load(containing: (offset: number) => number): void {
    this.bySegment.clear();
    const merged = new Set<number>();
    const files = readdirSync(this.dir).filter((f) => /^\d{20}\.txnindex$/.test(f)).map((f) => Number(f.slice(0, 20))).sort((a, b) => a - b);
    for (const base of files) {
      const entries = decode(readFileSync(this.path(base)));
      const owner = containing(base);
      if (owner !== base) {
        merged.add(owner);
        rmSync(this.path(base), { force: true });
      }
      if (entries.length === 0) continue;
      const list = this.bySegment.get(owner) ?? [];
      list.push(...entries);
      list.sort((a, b) => a.lastOffset - b.lastOffset);
      this.bySegment.set(owner, list);
    }
    for (const owner of merged) this.rewrite(owner);
  }

  append(segmentBase: number, entry: AbortedTxn): void {
    const list = this.bySegment.get(segmentBase);
    if (list === undefined) this.bySegment.set(segmentBase, [entry]);
    else list.push(entry);
    appendFileSync(this.path(segmentBase), encode([entry]));
    this.unsynced.add(segmentBase);
  }

  /** Drops the entries whose marker is at or after `offset` (truncation, or before a replay). */
  truncateFrom(offset: number): void {
    for (const [base, list] of this.bySegment) {
      const kept = list.filter((e) => e.lastOffset < offset);
      if (kept.length === list.length) continue;
      this.bySegment.set(base, kept);
      this.rewrite(base);
    }
  }

  /** The segment at `base` is gone. */
  dropSegment(base: number): void {
    this.bySegment.delete(base);
    this.unsynced.delete(base);
    rmSync(this.path(base), { force: true });
  }

  /** Compaction replaced `bases` (ascending) by one segment at `bases[0]`: their entries move there. */
  merge(bases: readonly number[]): void {
    const into = bases[0]!;
    const all: AbortedTxn[] = [];
    for (const base of bases) all.push(...(this.bySegment.get(base) ?? []));
    this.bySegment.set(into, all);
    this.rewrite(into);
    for (const base of bases.slice(1)) this.dropSegment(base);
  }

  private rewrite(base: number): void {
    const list = this.bySegment.get(base) ?? [];
    if (list.length === 0) {
      this.bySegment.delete(base);
      this.unsynced.delete(base);
      rmSync(this.path(base), { force: true });
      return;
    }
    atomicWriteFileSync(this.path(base), encode(list));
  }

  /**
   * Aborted transactions that overlap [from, upperBound), by first offset. `fromSegment` is
   * the base of the segment holding `from`: earlier segments hold only markers before it.
   * The scan stops at the first entry whose lastStableOffset passes `upperBound`: every
   * transaction starting below the bound had ended by then, so none after it overlaps.
   */
  collect(from: number, upperBound: number, fromSegment = 0): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    const bases = [...this.bySegment.keys()].filter((b) => b >= fromSegment).sort((a, b) => a - b);
    scan: for (const base of bases) {
      for (const e of this.bySegment.get(base)!) {
        if (e.lastOffset >= from && e.firstOffset < upperBound) out.push(e);
        if (e.lastStableOffset > upperBound) break scan;
      }
    }
    return out.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Whether the producer's batch at `offset` belongs to a transaction that was aborted. */
  isAborted(producerId: number, offset: number): boolean {
    for (const list of this.bySegment.values()) {
      for (const e of list) if (e.producerId === producerId && e.firstOffset <= offset && offset <= e.lastOffset) return true;
    }
    return false;
  }

  /** Every entry, for tests and tooling. */
  all(): AbortedTxn[] {
    return this.collect(0, Number.MAX_SAFE_INTEGER);
  }

  /** fdatasyncs the files appended to since the last call; part of the log's group commit. */
  syncNow(): void {
    for (const base of this.unsynced) {
      const fd = openSync(this.path(base), 'r');
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.unsynced.clear();
  }
}
