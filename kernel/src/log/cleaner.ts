/**
 * Log compaction (Kafka's log cleaner) for `cleanup.policy=compact` and `compact,delete`:
 * keeps the last record of every key, in place, with offsets unchanged.
 *
 * API, for the log manager's scheduler (one LogCleaner per broker, any number of log dirs):
 *   new LogCleaner({ log, keyMapBytesMax })
 *   needsCleaning(log, nowMs): boolean      cheap; call on each tick, then
 *   cleanLog(log, nowMs): Promise<CleanResult>   one round; rounds queue, one per log at a time
 *   onTruncated(log): void                  after truncateTo / truncateFullyAndStartAt
 *   forgetLog(log): void                    after the log is deleted
 * A round that fails (a batch that does not decode, an I/O error) rejects, and the log
 * is not cleaned again until restart, as Kafka marks a partition uncleanable.
 *
 * What a round cleans. Only sealed segments that end at or below the last stable offset
 * (the high watermark when no transaction is open), so an open transaction's records are
 * never compared with others,
 * and, among the dirty ones, only those before the first whose max timestamp is younger
 * than `min.compaction.lag.ms`. The dirty part starts at the cleaner checkpoint (the first
 * offset not yet cleaned). A round:
 *   1. maps key -> latest offset over the dirty part into a fixed-size map (key-map.ts),
 *      leaving out records of aborted transactions (they must not supersede anything);
 *      when the map is full it stops at that record, and the round ends there (`endOffset`);
 *   2. rewrites every cleanable segment below `endOffset`, clean ones included, oldest
 *      first, dropping each record below `endOffset` that a later one of its key supersedes,
 *      keyless records, and tombstones whose delete horizon has passed;
 *   3. moves the checkpoint to `endOffset`.
 * Rewritten batches keep their base offset, lastOffsetDelta, producer fields, leader epoch
 * and timestamps; records keep their offset deltas; the record count and CRC are new. A
 * batch left empty is dropped, except the last batch of a producer still known to the
 * producer state, which stays as an empty batch so that its sequence numbers survive a
 * rebuild of that state (Kafka does the same). Control batches, and batches compressed
 * with a codec not registered yet, are copied unchanged (and the latter are not mapped,
 * which only leaves older records of their keys in place).
 *
 * Tombstones, as Kafka since KIP-534: the first round that keeps a tombstone sets its
 * batch's delete horizon, now + `delete.retention.ms`, in the baseTimestamp field
 * (attribute bit 6; record timestamp deltas are rewritten so record timestamps do not
 * change). A round after the horizon drops it. The horizon is stored in the log, so it
 * holds across restarts and does not depend on producer timestamps or file times. An
 * otherwise clean log is cleaned again once the latest horizon seen has passed (known
 * only after one round in this process, as in Kafka).
 *
 * When a log needs cleaning: dirty bytes / (clean + dirty bytes of the cleanable
 * segments) >= `min.cleanable.dirty.ratio`, or the first dirty batch's max timestamp is
 * older than `max.compaction.lag.ms`, or a delete horizon has passed.
 *
 * Segments are rewritten in groups of consecutive segments whose output fits
 * `segment.bytes` (an empty output always takes the next segment, so empty segments
 * appear only at the end of a round). Each group is committed on its own as described
 * in cleaner-swap.ts; the in-memory swap is `PartitionLog.replaceSegments`. Groups are
 * committed oldest first, so a crash between groups never leaves a dropped tombstone
 * with an older value of its key still in place.
 *
 * Background work: reads and rewrites go in chunks of about 1 MiB, yielding to the event
 * loop between chunks; appends and reads continue meanwhile. If retention, truncation or
 * deletion changes the segments being cleaned, the group in progress is discarded and the
 * round ends early without moving the checkpoint (`aborted`).
 *
 * The checkpoint lives in memory and in `cleaner-offset-checkpoint` in the log dir (the
 * partition directory's parent), one line `topic partition offset` per log, as Kafka.
 * It is written after a round's last commit, so after a crash it can only be behind,
 * which costs a re-clean and never loses a record.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '@sluice/sdk';
import { assert } from '../errors.js';
import { assembleBatch, type BatchFields } from './batch-builder.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint-file.js';
import { cleanedPath, commitCleaned, discardCleaned, installSwap } from './cleaner-swap.js';
import { DECOMPRESSED_BYTES_MAX } from './compacted-keys.js';
import { CODEC_NAMES, CODEC_NONE, codecFor, hasCodec } from './compression.js';
import { writeFully } from './index-file.js';
import { KeyOffsetMap } from './key-map.js';
import { OffsetIndex } from './offset-index.js';
import type { PartitionLog } from './partition-log.js';
import * as rb from './record-batch.js';
import { emptyRecordView, readRecord, readVarint, readVarlong, varintSize, varlongSize, writeVarint, writeVarlong } from './records.js';
import { Segment, type SegmentConfig } from './segment.js';
import { TimeIndex } from './time-index.js';

export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

/** Input bytes handled between two yields to the event loop. */
const CHUNK_BYTES = 1024 * 1024;
/** Offsets a segment can hold: relative offsets in the indexes are uint32. */
const SEGMENT_OFFSET_SPAN_MAX = 0xffffffff;

export interface LogCleanerOptions {
  readonly log: Logger;
  /** `log.cleaner.dedupe.buffer.size`: the key map's bytes, 24 per key at a 0.75 load factor. */
  readonly keyMapBytesMax: number;
}

export interface CleanResult {
  /** The cleaner checkpoint before and after the round. */
  readonly firstDirtyOffset: number;
  readonly endOffset: number;
  readonly segmentsBefore: number;
  readonly segmentsAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly recordsRemoved: number;
  /** The log changed under the round (retention, truncation, deletion); retried next round. */
  readonly aborted: boolean;
}

interface LogState {
  cleaning: boolean;
  uncleanable: boolean;
  /** Bumped by onTruncated: a round that saw a truncation must not set the checkpoint. */
  truncations: number;
  /** Latest delete horizon kept by the last round; -1 when it kept no tombstone. */
  deleteHorizonMs: number;
  firstDirtyTimestamp: { readonly offset: number; readonly timestamp: number } | undefined;
}

interface CleanableRange {
  /** Sealed segments below the high watermark and the compaction lag, oldest first. */
  readonly segments: readonly Segment[];
  readonly firstDirty: number;
  readonly firstUncleanable: number;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
}

interface RoundStats {
  recordsRemoved: number;
  deleteHorizonMs: number;
}

/** Thrown inside a round when its segments changed under it; ends the round quietly. */
class LogChanged extends Error {}

export class LogCleaner {
  private readonly logger: Logger;
  private readonly keyMap: KeyOffsetMap;
  private readonly states = new Map<string, LogState>();
  /** Per log dir: `topic partition` -> checkpoint, loaded from the file on first use. */
  private readonly checkpoints = new Map<string, Map<string, number>>();
  private readonly codecsWarned = new Set<number>();
  private readonly view = emptyRecordView();
  private rounds: Promise<unknown> = Promise.resolve();

  constructor(opts: LogCleanerOptions) {
    this.logger = opts.log;
    // Allocated once, as Kafka's dedupe buffer: untouched pages cost no memory until used.
    this.keyMap = new KeyOffsetMap(opts.keyMapBytesMax);
  }

  needsCleaning(log: PartitionLog, nowMs: number): boolean {
    if (!log.config.cleanupPolicyCompact || log.offline) return false;
    const state = this.stateOf(log);
    if (state.cleaning || state.uncleanable) return false;
    const range = this.cleanableRange(log, nowMs);
    if (range.dirtyBytes > 0) {
      if (range.dirtyBytes / (range.cleanBytes + range.dirtyBytes) >= log.config.minCleanableDirtyRatio) return true;
      if (this.firstDirtyTimestamp(range, state) < nowMs - log.config.maxCompactionLagMs) return true;
    }
    return range.segments.length > 0 && state.deleteHorizonMs >= 0 && state.deleteHorizonMs <= nowMs;
  }

  /**
   * Rounds run one at a time, as they share the key map: a round asked for while another
   * runs starts after it (with the `nowMs` it was asked with).
   */
  cleanLog(log: PartitionLog, nowMs: number): Promise<CleanResult> {
    const state = this.stateOf(log);
    assert(!state.cleaning, `${log.topic}-${log.partition} is already being cleaned`);
    state.cleaning = true;
    const round = this.rounds.then(() => this.runRound(log, state, nowMs));
    this.rounds = round.catch(() => undefined);
    return round;
  }

  private async runRound(log: PartitionLog, state: LogState, nowMs: number): Promise<CleanResult> {
    try {
      return await this.clean(log, state, nowMs);
    } catch (err) {
      state.uncleanable = true;
      this.logger.error('log cleaning failed; the partition is not cleaned again until restart', {
        topic: log.topic, partition: log.partition, error: (err as Error).message,
      });
      throw err;
    } finally {
      state.cleaning = false;
    }
  }

  onTruncated(log: PartitionLog): void {
    const state = this.stateOf(log);
    state.truncations++;
    state.firstDirtyTimestamp = undefined;
    const checkpoint = this.dirCheckpoints(log).get(entryName(log));
    if (checkpoint !== undefined && checkpoint > log.logEndOffset) this.setCheckpoint(log, log.logEndOffset);
  }

  forgetLog(log: PartitionLog): void {
    this.states.delete(stateKey(log));
    const entries = this.dirCheckpoints(log);
    if (entries.delete(entryName(log))) this.writeCheckpoints(dirname(log.dir), entries);
  }

  // --- the round -------------------------------------------------------------------

  private async clean(log: PartitionLog, state: LogState, nowMs: number): Promise<CleanResult> {
    const range = this.cleanableRange(log, nowMs);
    const segmentsBefore = log.segmentCount;
    const bytesBefore = log.sizeBytes;
    const truncations = state.truncations;
    const stats: RoundStats = { recordsRemoved: 0, deleteHorizonMs: -1 };
    let endOffset = range.firstDirty;
    let aborted = false;
    try {
      endOffset = await this.buildKeyMap(log, range);
      await this.rewrite(log, range.segments.filter((s) => s.baseOffset < endOffset), endOffset, nowMs, stats);
    } catch (err) {
      if (!(err instanceof LogChanged)) throw err;
      aborted = true;
    }
    if (!aborted && state.truncations === truncations) {
      this.setCheckpoint(log, endOffset);
      state.deleteHorizonMs = stats.deleteHorizonMs;
      state.firstDirtyTimestamp = undefined;
    }
    return {
      firstDirtyOffset: range.firstDirty, endOffset: aborted ? range.firstDirty : endOffset,
      segmentsBefore, segmentsAfter: log.segmentCount, bytesBefore, bytesAfter: log.sizeBytes,
      recordsRemoved: stats.recordsRemoved, aborted,
    };
  }

  private cleanableRange(log: PartitionLog, nowMs: number): CleanableRange {
    const segments = log.segmentList();
    const firstDirty = this.firstDirtyOffset(log);
    const lagCutoff = nowMs - log.config.minCompactionLagMs;
    let count = 0;
    let cleanBytes = 0;
    let dirtyBytes = 0;
    for (; count < segments.length - 1; count++) {
      const segment = segments[count]!;
      const end = segments[count + 1]!.baseOffset;
      if (end > log.lastStableOffset) break;
      const dirty = end > firstDirty;
      if (dirty && log.config.minCompactionLagMs > 0 && segment.maxTimestamp > lagCutoff) break;
      if (dirty) dirtyBytes += segment.sizeBytes;
      else cleanBytes += segment.sizeBytes;
    }
    return {
      segments: segments.slice(0, count), firstDirty, firstUncleanable: segments[count]!.baseOffset, cleanBytes, dirtyBytes,
    };
  }

  /** The checkpoint, reset to the log start when it lies outside the log (as Kafka). */
  private firstDirtyOffset(log: PartitionLog): number {
    const checkpoint = this.dirCheckpoints(log).get(entryName(log));
    if (checkpoint === undefined || checkpoint < log.logStartOffset || checkpoint > log.logEndOffset) return log.logStartOffset;
    return checkpoint;
  }

  /** Max timestamp of the first dirty batch (Kafka's reference for max.compaction.lag.ms). */
  private firstDirtyTimestamp(range: CleanableRange, state: LogState): number {
    if (state.firstDirtyTimestamp?.offset === range.firstDirty) return state.firstDirtyTimestamp.timestamp;
    let timestamp = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < range.segments.length; i++) {
      const segment = range.segments[i]!;
      const end = range.segments[i + 1]?.baseOffset ?? range.firstUncleanable;
      if (end <= range.firstDirty) continue;
      const at = segment.translateOffset(range.firstDirty);
      if (at === undefined) continue;
      const head = segment.read(at.position, rb.BATCH_HEADER_BYTES, Number.MAX_SAFE_INTEGER);
      if (head.length > 0) timestamp = rb.batchMaxTimestamp(head, 0);
      break;
    }
    state.firstDirtyTimestamp = { offset: range.firstDirty, timestamp };
    return timestamp;
  }

  /** Fills the key map from the dirty part; returns the offset the round ends at. */
  private async buildKeyMap(log: PartitionLog, range: CleanableRange): Promise<number> {
    const map = this.keyMap;
    map.clear();
    const view = this.view;
    let stopAt = -1;
    for (let i = 0; i < range.segments.length && stopAt < 0; i++) {
      const segment = range.segments[i]!;
      const end = range.segments[i + 1]?.baseOffset ?? range.firstUncleanable;
      if (end <= range.firstDirty) continue;
      const from = segment.baseOffset < range.firstDirty ? segment.translateOffset(range.firstDirty)?.position : 0;
      if (from === undefined) continue;
      await this.walk(log, segment, from, (buf, pos, size) => {
        if (rb.batchIsControl(buf, pos)) return true;
        if (rb.batchIsTransactional(buf, pos) && log.txnIndex.isAborted(rb.batchProducerId(buf, pos), rb.batchBaseOffset(buf, pos))) return true;
        const records = this.recordsOf(log, buf, pos, size);
        if (records === undefined) return true;
        const base = rb.batchBaseOffset(buf, pos);
        const count = rb.batchRecordCount(buf, pos);
        let at = records.start;
        for (let r = 0; r < count; r++) {
          at = readRecord(records.data, at, records.end, view);
          const offset = base + view.offsetDelta;
          if (offset < range.firstDirty || view.keyLength < 0) continue;
          if (!map.put(records.data.subarray(view.keyStart, view.keyStart + view.keyLength), offset)) {
            stopAt = offset;
            return false;
          }
        }
        return true;
      });
    }
    return stopAt >= 0 ? stopAt : Math.max(range.firstDirty, range.firstUncleanable);
  }

  private async rewrite(log: PartitionLog, segments: readonly Segment[], endOffset: number, nowMs: number,
    stats: RoundStats): Promise<void> {
    let group: { members: Segment[]; end: number; writer: CleanedSegmentWriter } | undefined;
    try {
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i]!;
        const end = this.segmentEnd(log, segment);
        if (group !== undefined) {
          const fits = group.writer.size === 0 || group.writer.size + segment.sizeBytes <= log.config.segmentBytes;
          if (!fits || end - 1 - group.writer.baseOffset > SEGMENT_OFFSET_SPAN_MAX) {
            this.commit(log, group.members, group.end, group.writer);
            group = undefined;
          }
        }
        group ??= { members: [], end, writer: new CleanedSegmentWriter(log.dir, segment.baseOffset, log.config) };
        const writer = group.writer;
        await this.walk(log, segment, 0, (buf, pos, size) => {
          this.filterBatch(log, buf, pos, size, endOffset, nowMs, stats, writer);
          return true;
        });
        group.members.push(segment);
        group.end = end;
        await yieldToEventLoop();
      }
      if (group !== undefined) this.commit(log, group.members, group.end, group.writer);
      group = undefined;
    } finally {
      group?.writer.discard();
    }
  }

  private segmentEnd(log: PartitionLog, segment: Segment): number {
    const list = log.segmentList();
    const at = list.indexOf(segment);
    if (at < 0 || at + 1 >= list.length || log.offline) throw new LogChanged();
    return list[at + 1]!.baseOffset;
  }

  /** Writes one batch, filtered, to `writer`; see the module comment for what goes. */
  private filterBatch(log: PartitionLog, buf: Buffer, pos: number, size: number, endOffset: number, nowMs: number,
    stats: RoundStats, writer: CleanedSegmentWriter): void {
    if (rb.batchIsControl(buf, pos)) {
      writer.append(buf, pos, size);
      return;
    }
    const records = this.recordsOf(log, buf, pos, size);
    if (records === undefined) {
      writer.append(buf, pos, size);
      return;
    }
    const map = this.keyMap;
    const view = this.view;
    const base = rb.batchBaseOffset(buf, pos);
    const attributes = rb.batchAttributes(buf, pos);
    const hasHorizon = (attributes & rb.ATTR_DELETE_HORIZON) !== 0;
    const baseTimestamp = rb.batchBaseTimestamp(buf, pos);
    const tombstonesExpired = hasHorizon && nowMs >= baseTimestamp;
    const count = rb.batchRecordCount(buf, pos);
    const kept: Array<{ start: number; end: number; timestampDelta: number }> = [];
    let tombstonesKept = 0;
    let at = records.start;
    for (let r = 0; r < count; r++) {
      at = readRecord(records.data, at, records.end, view);
      const offset = base + view.offsetDelta;
      let keep = true;
      if (offset < endOffset) {
        if (view.keyLength < 0) keep = false;
        else if (map.get(records.data.subarray(view.keyStart, view.keyStart + view.keyLength)) > offset) keep = false;
        else if (view.valueLength < 0 && tombstonesExpired) keep = false;
      }
      if (!keep) continue;
      kept.push({ start: view.start, end: view.end, timestampDelta: view.timestampDelta });
      if (view.valueLength < 0) tombstonesKept++;
    }
    stats.recordsRemoved += count - kept.length;
    const setHorizon = tombstonesKept > 0 && !hasHorizon;
    if (tombstonesKept > 0) {
      stats.deleteHorizonMs = Math.max(stats.deleteHorizonMs, hasHorizon ? baseTimestamp : nowMs + log.config.deleteRetentionMs);
    }
    if (kept.length === count && !setHorizon) {
      writer.append(buf, pos, size);
      return;
    }
    const producerId = rb.batchProducerId(buf, pos);
    const lastOffset = rb.batchLastOffset(buf, pos);
    if (kept.length === 0 && !(producerId >= 0 && log.producerState.entry(producerId)?.batches.at(-1)?.lastOffset === lastOffset)) {
      return;
    }
    const fields: BatchFields = {
      baseOffset: base,
      partitionLeaderEpoch: rb.batchLeaderEpoch(buf, pos),
      compression: kept.length === 0 ? CODEC_NONE : attributes & rb.ATTR_COMPRESSION_MASK,
      logAppendTime: (attributes & rb.ATTR_TIMESTAMP_LOG_APPEND) !== 0,
      transactional: (attributes & rb.ATTR_TRANSACTIONAL) !== 0,
      producerId,
      producerEpoch: rb.batchProducerEpoch(buf, pos),
      baseSequence: rb.batchBaseSequence(buf, pos),
    };
    const newBaseTimestamp = setHorizon ? nowMs + log.config.deleteRetentionMs : baseTimestamp;
    const encoded = kept.map((k) => setHorizon
      ? rebaseRecordTimestamp(records.data, k.start, k.end, baseTimestamp + k.timestampDelta - newBaseTimestamp)
      : records.data.subarray(k.start, k.end));
    const out = assembleBatch(fields, encoded, kept.length, rb.batchLastOffsetDelta(buf, pos), newBaseTimestamp,
      rb.batchMaxTimestamp(buf, pos));
    if (hasHorizon || setHorizon) {
      out.writeInt16BE(out.readInt16BE(rb.OFFSET_ATTRIBUTES) | rb.ATTR_DELETE_HORIZON, rb.OFFSET_ATTRIBUTES);
      rb.rewriteBatchCrc(out, 0, out.length);
    }
    writer.append(out, 0, out.length);
  }

  /** The batch's record bytes, decompressed when needed; undefined when its codec is not available. */
  private recordsOf(log: PartitionLog, buf: Buffer, pos: number, size: number):
    { data: Buffer; start: number; end: number } | undefined {
    const codec = rb.batchCompression(buf, pos);
    if (codec === CODEC_NONE) return { data: buf, start: pos + rb.BATCH_HEADER_BYTES, end: pos + size };
    if (!hasCodec(codec)) {
      if (!this.codecsWarned.has(codec)) {
        this.codecsWarned.add(codec);
        this.logger.warn('log cleaner keeps batches of an unavailable codec as they are', {
          topic: log.topic, partition: log.partition, codec: CODEC_NAMES[codec] ?? codec,
        });
      }
      return undefined;
    }
    const data = codecFor(codec).decompress(buf.subarray(pos + rb.BATCH_HEADER_BYTES, pos + size), DECOMPRESSED_BYTES_MAX);
    return { data, start: 0, end: data.length };
  }

  /**
   * Swaps a group's cleaned segment in (cleaner-swap.ts steps 2-5). Everything here is
   * synchronous, so no append or read sees the directory or the segment list half done.
   */
  private commit(log: PartitionLog, members: readonly Segment[], end: number, writer: CleanedSegmentWriter): void {
    writer.finish();
    const list = log.segmentList();
    const first = list.indexOf(members[0]!);
    const intact = !log.offline && first >= 0 && members.every((s, i) => list[first + i] === s)
      && list[first + members.length]?.baseOffset === end;
    if (!intact) throw new LogChanged();
    commitCleaned(log.dir, writer.baseOffset, end);
    const replacement = Segment.open(log.dir, writer.baseOffset, log.config, writer.size, end, Number.MAX_SAFE_INTEGER);
    log.replaceSegments(members, replacement);
    installSwap(log.dir, writer.baseOffset, end);
    writer.committed = true;
  }

  /**
   * Visits the batches of `segment` from byte `from`, yielding to the event loop every
   * CHUNK_BYTES. `visit` returns false to stop. The visited buffer is a shared scratch
   * buffer: valid only during the call.
   */
  private async walk(log: PartitionLog, segment: Segment, from: number,
    visit: (buf: Buffer, pos: number, size: number) => boolean): Promise<void> {
    const end = segment.sizeBytes;
    let position = from;
    while (position < end) {
      if (log.offline || !log.segmentList().includes(segment)) throw new LogChanged();
      let budget = CHUNK_BYTES;
      let paused = false;
      let stopped = false;
      position = segment.scan(position, (buf, pos, size) => {
        if (budget <= 0) {
          paused = true;
          return false;
        }
        budget -= size;
        if (visit(buf, pos, size)) return true;
        stopped = true;
        return false;
      }, end);
      if (stopped) return;
      if (!paused && position < end) {
        throw new Error(`segment ${segment.baseOffset} of ${log.topic}-${log.partition} is unreadable at byte ${position}`);
      }
      if (paused) await yieldToEventLoop();
    }
  }

  // --- state and checkpoints ---------------------------------------------------------

  private stateOf(log: PartitionLog): LogState {
    const key = stateKey(log);
    let state = this.states.get(key);
    if (state === undefined) {
      state = { cleaning: false, uncleanable: false, truncations: 0, deleteHorizonMs: -1, firstDirtyTimestamp: undefined };
      this.states.set(key, state);
    }
    return state;
  }

  private dirCheckpoints(log: PartitionLog): Map<string, number> {
    const logDir = dirname(log.dir);
    let entries = this.checkpoints.get(logDir);
    if (entries === undefined) {
      entries = new Map();
      for (const line of readCheckpoint(join(logDir, CLEANER_CHECKPOINT_FILE)) ?? []) {
        const m = /^(\S+) (\d+) (\d+)$/.exec(line);
        if (m !== null) entries.set(`${m[1]} ${m[2]}`, Number(m[3]));
      }
      this.checkpoints.set(logDir, entries);
    }
    return entries;
  }

  private setCheckpoint(log: PartitionLog, offset: number): void {
    const entries = this.dirCheckpoints(log);
    if (entries.get(entryName(log)) === offset) return;
    entries.set(entryName(log), offset);
    this.writeCheckpoints(dirname(log.dir), entries);
  }

  private writeCheckpoints(logDir: string, entries: Map<string, number>): void {
    writeCheckpoint(join(logDir, CLEANER_CHECKPOINT_FILE), [...entries].map(([name, offset]) => `${name} ${offset}`));
  }
}

function stateKey(log: PartitionLog): string {
  return `${dirname(log.dir)}\0${entryName(log)}`;
}

function entryName(log: PartitionLog): string {
  return `${log.topic} ${log.partition}`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The record at [start, end) with its timestampDelta replaced; everything else byte for byte. */
function rebaseRecordTimestamp(data: Buffer, start: number, end: number, timestampDelta: number): Buffer {
  const cursor = { pos: start };
  readVarint(data, cursor, end);
  const attributesAt = cursor.pos;
  cursor.pos++;
  readVarlong(data, cursor, end);
  const rest = data.subarray(cursor.pos, end);
  const body = 1 + varlongSize(timestampDelta) + rest.length;
  const out = Buffer.allocUnsafe(varintSize(body) + body);
  let pos = writeVarint(out, 0, body);
  out[pos++] = data[attributesAt]!;
  pos = writeVarlong(out, pos, timestampDelta);
  rest.copy(out, pos);
  return out;
}

/**
 * The cleaned segment being written: `<base>.log.cleaned` with its indexes, built as
 * Segment builds them (an entry every index.interval.bytes, a final time-index entry
 * with the largest timestamp), so the replacement opens without a rebuild.
 */
class CleanedSegmentWriter {
  size = 0;
  committed = false;
  private fd: number | undefined;
  private readonly staged = Buffer.allocUnsafe(CHUNK_BYTES);
  private stagedBytes = 0;
  private readonly offsetIndex: OffsetIndex;
  private readonly timeIndex: TimeIndex;
  private bytesSinceIndexEntry = 0;
  private maxTimestamp = -1;
  private lastBatchBase = -1;

  constructor(private readonly dir: string, readonly baseOffset: number, private readonly config: SegmentConfig) {
    discardCleaned(dir, baseOffset);
    this.fd = openSync(cleanedPath(dir, baseOffset, '.log'), 'w');
    this.offsetIndex = OffsetIndex.create(cleanedPath(dir, baseOffset, '.index'), baseOffset, config.segmentIndexBytes);
    this.timeIndex = TimeIndex.create(cleanedPath(dir, baseOffset, '.timeindex'), baseOffset, config.segmentIndexBytes);
  }

  /** Copies the batch at `pos`: `buf` may be a scratch buffer the caller reuses. */
  append(buf: Buffer, pos: number, size: number): void {
    const base = rb.batchBaseOffset(buf, pos);
    const maxTimestamp = rb.batchMaxTimestamp(buf, pos);
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
    if (this.offsetIndex.entryCount === 0 || this.bytesSinceIndexEntry >= this.config.indexIntervalBytes) {
      if (!this.offsetIndex.isFull) this.offsetIndex.append(base, this.size);
      // One time-index slot stays free for the final entry: it carries the segment's max timestamp.
      if (this.timeIndex.entryCount < this.timeIndex.entriesMax - 1) this.timeIndex.maybeAppend(this.maxTimestamp, base);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += size;
    this.lastBatchBase = base;
    if (this.stagedBytes + size > this.staged.length) this.flushStaged();
    if (size > this.staged.length) {
      writeFully(this.fd!, buf.subarray(pos, pos + size), this.size);
    } else {
      buf.copy(this.staged, this.stagedBytes, pos, pos + size);
      this.stagedBytes += size;
    }
    this.size += size;
  }

  private flushStaged(): void {
    if (this.stagedBytes === 0) return;
    writeFully(this.fd!, this.staged.subarray(0, this.stagedBytes), this.size - this.stagedBytes);
    this.stagedBytes = 0;
  }

  /** Makes the files durable and closes them; they are then ready for commitCleaned. */
  finish(): void {
    this.flushStaged();
    fdatasyncSync(this.fd!);
    closeSync(this.fd!);
    this.fd = undefined;
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.lastBatchBase);
    this.offsetIndex.persist(true);
    this.timeIndex.persist(true);
  }

  discard(): void {
    if (this.committed) return;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    discardCleaned(this.dir, this.baseOffset);
  }
}
