/**
 * The log of one partition: a directory `<topic>-<partition>` of segments (segment.ts),
 * producer-state snapshots (producer-state.ts) and a leader-epoch checkpoint
 * (leader-epoch-cache.ts).
 *
 * Offsets and their invariants (checked by assertions that stay on):
 *   logStartOffset <= highWatermark <= logEndOffset, flushedOffset <= logEndOffset
 * - logEndOffset (LEO): next offset to assign.
 * - flushedOffset: everything below it is fdatasynced; also the recovery point.
 * - highWatermark: what consumers may read. On a log of its own (one replica) it is the
 *   flushed offset with write caching off (the default), so a consumer never sees data a
 *   crash could take back, and the LEO with write caching on. On a replicated partition
 *   replication drives it (`setHighWatermark`): the leader's PartitionLeader computes it
 *   over the in-sync replicas, a follower takes the leader's.
 *
 * Roles: a log starts standalone (the single-node behaviour above). `becomeLeader` with a
 * `LeaderReplication` hands acks=all appends and the high watermark to replication;
 * `becomeFollower` refuses producer appends and consumer reads (NOT_LEADER_OR_FOLLOWER)
 * and takes batches from the leader through `appendAsFollower`, offsets and epochs kept.
 * A follower does not fsync what it appends (replication is the durability in a cluster)
 * except when a segment rolls, so that its recovery point moves.
 *
 * Durability: appends write to the page cache synchronously; fdatasync runs on the libuv
 * pool as a group commit: one sync covers every append that arrived while the previous
 * one ran, and `durable` appends resolve when a sync covering them completes.
 *
 * Transactions: the last stable offset (LSO) is the first offset of the oldest open
 * transaction, or the high watermark when that is lower or none is open. A read_committed
 * read stops there and carries the aborted transactions overlapping what it returns,
 * from the aborted-transaction index (txn-index.ts), kept per segment and rebuilt with
 * producer state by replaying the batches after the newest producer snapshot.
 *
 * Recovery (open): segments after the recovery point are re-scanned with CRC checks; a
 * torn or corrupt tail is cut, and any segment after a cut is deleted. Start-up reads
 * nothing else but the last segment's index tail, so it does not grow with log size.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { asOffset, KafkaError, type AppendAcks, type AppendResult, type IsolationLevel, type Logger, type Offset,
  type ProducerDescription,
  type PartitionHandle, type ReadResult } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { assert, kafkaError } from '../errors.js';
import type { LogConfig } from '../config/topic-config.js';
import { fsyncDirSync } from './checkpoint-file.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { buildMarkerBatch, ProducerStateManager, type CompletedTxn } from './producer-state.js';
import { TxnIndex } from './txn-index.js';
import * as rb from './record-batch.js';
import { checkCompactedKeys, DECOMPRESSED_BYTES_MAX } from './compacted-keys.js';
import { codecFor, CODEC_GZIP, CODEC_LZ4, CODEC_NONE, CODEC_SNAPPY, CODEC_ZSTD, recompressBatch } from './compression.js';
import { emptyRecordView, readRecord } from './records.js';
import { recoverInterruptedCleaning } from './cleaner-swap.js';
import { SCAN_BATCH_BYTES_MAX, Segment, segmentFileName } from './segment.js';

/** Producer snapshots kept below the newest one, so a damaged snapshot has a fallback. */
const PRODUCER_SNAPSHOTS_KEPT = 2;
/** Replicas of every partition until replication exists. */
const IN_SYNC_REPLICAS = 1;
/** `compression.type` values that name a codec; `producer` keeps what the producer sent. */
const TOPIC_CODECS: Readonly<Record<string, number>> = { uncompressed: CODEC_NONE, gzip: CODEC_GZIP, snappy: CODEC_SNAPPY, lz4: CODEC_LZ4, zstd: CODEC_ZSTD };
/** Offsets a segment can hold: relative offsets in the indexes are uint32. */
const SEGMENT_OFFSET_SPAN_MAX = 0xffffffff;

export interface PartitionLogEvents {
  batchAppended?(log: PartitionLog, baseOffset: number, lastOffset: number, recordCount: number, sizeBytes: number): void;
  segmentRolled?(log: PartitionLog, baseOffset: number): void;
  /** DeleteRecords moved the log start offset: it must reach its checkpoint before the answer. */
  logStartOffsetChanged?(log: PartitionLog): void;
  /**
   * The log end moved back (replication truncated it): the recovery point on disk may now
   * lie past it, and must not stay there once new batches follow, or recovery after a
   * machine crash would trust them unscanned (Kafka checkpoints recovery points here too).
   */
  truncated?(log: PartitionLog): void;
  segmentDeleted?(log: PartitionLog, baseOffset: number,
    reason: 'retention' | 'log-start-offset' | 'compaction' | 'truncation' | 'topic-deleted'): void;
}

export interface PartitionLogOptions {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  readonly config: LogConfig;
  readonly clock: Clock;
  readonly log: Logger;
  /** From the recovery-point checkpoint; 0 when unknown (everything is re-scanned). */
  readonly recoveryPoint: number;
  readonly logStartOffset: number;
  /** The broker stopped cleanly: nothing needs re-scanning. */
  readonly cleanShutdown: boolean;
  readonly events?: PartitionLogEvents;
  /**
   * The partition is replicated (a cluster): the log opens as a follower, refusing producers
   * and consumers, until replication makes it leader. Without it a restarted replica would
   * take writes before it learns who leads.
   */
  readonly replicated?: boolean;
}

/**
 * What a replicated leader's log asks of replication (kernel/src/cluster/partition-leader.ts).
 * Absent on a standalone log, whose hot path stays as it was.
 */
export interface LeaderReplication {
  /** acks=all, before appending: throws NOT_ENOUGH_REPLICAS when the ISR is too small. */
  checkDurableAppend(): void;
  /** acks=all, after appending: resolves once the high watermark reaches `endOffset`. */
  awaitReplicated(endOffset: number, timeoutMs: number | undefined): Promise<void>;
  /** The log end or flushed offset moved: the high watermark and waiting fetches may move. */
  logAdvanced(): void;
}

/** Options of one append beyond its acks. */
export interface AppendOptions {
  /** acks=all on a replicated partition: give up with REQUEST_TIMED_OUT after this long (the request's timeout). */
  readonly timeoutMs?: number;
}

interface SyncWaiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class PartitionLog implements PartitionHandle {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  config: LogConfig;
  readonly producerState: ProducerStateManager;
  readonly txnIndex: TxnIndex;
  readonly epochCache: LeaderEpochCache;
  /** Epoch stamped into appended batches; replication sets it on leader change. */
  leaderEpoch = 0;

  private segments: Segment[] = [];
  private leo = 0;
  private flushed = 0;
  private hw = 0;
  private startOffset = 0;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: PartitionLogEvents;

  private syncing = false;
  private flushScheduled = false;
  private syncWaiters: SyncWaiter[] = [];
  private unsyncedSegments = new Set<Segment>();
  private dirDirty = false;
  private unflushedMessages = 0;
  private lastFlushMs: number;
  private dataWaiters = new Set<() => void>();
  /** Set while this log leads a replicated partition. */
  private replication: LeaderReplication | undefined;
  private follower = false;
  /** Counts truncations, so a sync started before one does not vouch for bytes written after. */
  private truncations = 0;
  private closed = false;
  private offlineReason: string | undefined;
  /**
   * Broker time of the first append into the active segment (or of loading it): the
   * reference for segment.ms. Producer timestamps are not used, because replayed or
   * skewed timestamps would roll a segment on every append.
   */
  private activeSinceMs = -1;

  private constructor(opts: PartitionLogOptions) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.dir = opts.dir;
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.log;
    this.events = opts.events ?? {};
    this.producerState = new ProducerStateManager(opts.dir);
    this.txnIndex = new TxnIndex(opts.dir);
    this.epochCache = LeaderEpochCache.load(opts.dir);
    this.lastFlushMs = opts.clock.nowMs();
    this.follower = opts.replicated === true;
  }

  static open(opts: PartitionLogOptions): PartitionLog {
    mkdirSync(opts.dir, { recursive: true });
    const log = new PartitionLog(opts);
    log.load(opts);
    return log;
  }

  // --- PartitionHandle ---------------------------------------------------------

  get logStartOffset(): Offset {
    return asOffset(this.startOffset);
  }
  get logEndOffset(): Offset {
    return asOffset(this.leo);
  }
  get highWatermark(): Offset {
    return asOffset(this.hw);
  }
  get flushedOffset(): Offset {
    return asOffset(this.flushed);
  }
  get offline(): boolean {
    return this.offlineReason !== undefined;
  }
  get sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.sizeBytes;
    return total;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Sealed and active segments, oldest first; for the cleaner and tooling. */
  segmentList(): readonly Segment[] {
    return this.segments;
  }
  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Appends one or more batches from a producer. The buffer is validated as a whole
   * first; on any error nothing is written. Offsets, leader epoch and (for LogAppendTime
   * topics) timestamps are written into the buffer in place.
   */
  async append(batches: Uint8Array, acks: AppendAcks, options?: AppendOptions): Promise<AppendResult> {
    if (this.replication !== undefined) return this.appendReplicated(this.replication, batches, acks, options);
    if (this.follower) throw this.notLeader();
    // One replica holds the data: acks=all cannot be met when the topic asks for more.
    if (acks === 'durable' && this.config.minInsyncReplicas > IN_SYNC_REPLICAS) {
      throw kafkaError('NOT_ENOUGH_REPLICAS',
        `min.insync.replicas is ${this.config.minInsyncReplicas} but ${this.topic}-${this.partition} has ${IN_SYNC_REPLICAS} in-sync replica`);
    }
    const result = this.appendNow(batches);
    if (acks === 'durable' && !this.config.writeCaching && !result.duplicate) await this.waitFlushed(result.lastOffset + 1);
    return result;
  }

  private async appendReplicated(replication: LeaderReplication, batches: Uint8Array, acks: AppendAcks,
    options: AppendOptions | undefined): Promise<AppendResult> {
    if (acks === 'durable') replication.checkDurableAppend();
    const result = this.appendNow(batches);
    // A retried batch waits too: its first copy may not have reached the in-sync replicas yet.
    if (acks === 'durable') await replication.awaitReplicated(result.lastOffset + 1, options?.timeoutMs);
    return result;
  }

  /** The synchronous part of `append`: validate, assign, write. Durability is awaited by the caller. */
  appendNow(input: Uint8Array): AppendResult {
    this.checkOnline();
    let buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (buf.length === 0) throw kafkaError('CORRUPT_MESSAGE', 'empty record set');
    // Pass 1: validate everything, including producer sequences, before touching the log.
    const pending = new Map<number, { epoch: number; lastSeq: number }>();
    let pos = 0;
    let recordCount = 0;
    while (pos < buf.length) {
      const size = rb.validateProducedBatch(buf, pos, buf.length);
      if (size > this.config.maxMessageBytes) {
        throw kafkaError('MESSAGE_TOO_LARGE', `batch of ${size} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`);
      }
      if (this.config.cleanupPolicyCompact) checkCompactedKeys(buf, pos, size);
      const dup = this.producerState.check(buf, pos, pending);
      if (dup !== undefined) {
        return {
          baseOffset: asOffset(dup.duplicate.firstOffset), lastOffset: asOffset(dup.duplicate.lastOffset),
          logAppendTimeMs: -1, logStartOffset: asOffset(this.startOffset), duplicate: true,
        };
      }
      recordCount += rb.batchRecordCount(buf, pos);
      pos += size;
    }
    const targetCodec = TOPIC_CODECS[this.config.compressionType];
    if (targetCodec !== undefined) buf = recompressTo(buf, targetCodec);
    return this.writeBatches(buf, recordCount);
  }

  /**
   * Writes a COMMIT or ABORT marker for a producer's transaction; resolves once it is
   * durable, so a coordinator that then completes the transaction never loses a marker.
   * Refuses a marker from an older producer epoch (INVALID_PRODUCER_EPOCH) or an older
   * coordinator epoch (TRANSACTION_COORDINATOR_FENCED).
   */
  async writeTxnMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean): Promise<AppendResult> {
    this.checkOnline();
    if (this.follower) throw this.notLeader();
    this.producerState.checkMarker(producerId, producerEpoch, coordinatorEpoch);
    const marker = buildMarkerBatch(producerId, producerEpoch, coordinatorEpoch, commit, this.clock.nowMs());
    const result = this.writeBatches(marker, 1);
    if (this.replication !== undefined) await this.replication.awaitReplicated(result.lastOffset + 1, undefined);
    else if (!this.config.writeCaching) await this.waitFlushed(result.lastOffset + 1);
    return result;
  }

  /** Pass 2 of an append, for validated batches: assign offsets and epochs in place, write, update state. */
  private writeBatches(buf: Buffer, recordCount: number): AppendResult {
    let pos: number;
    const now = this.clock.nowMs();
    const baseOffset = this.leo;
    let next = baseOffset;
    let firstMaxTimestamp = -1;
    for (pos = 0; pos < buf.length;) {
      const size = rb.batchSize(buf, pos);
      rb.setBatchBaseOffset(buf, pos, next);
      rb.setBatchLeaderEpoch(buf, pos, this.leaderEpoch);
      if (this.config.logAppendTime) rb.stampLogAppendTime(buf, pos, size, now);
      if (firstMaxTimestamp < 0) firstMaxTimestamp = rb.batchMaxTimestamp(buf, pos);
      next += rb.batchLastOffsetDelta(buf, pos) + 1;
      pos += size;
    }
    const lastOffset = next - 1;
    this.maybeRoll(buf.length, lastOffset, now);
    this.writeToActive(buf);
    for (pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) this.applyToProducerState(buf, pos, this.active.baseOffset);
    this.epochCache.assign(this.leaderEpoch, baseOffset);
    this.leo = next;
    this.unflushedMessages += recordCount;
    this.afterAppend();
    this.events.batchAppended?.(this, baseOffset, lastOffset, recordCount, buf.length);
    this.replication?.logAdvanced();
    return {
      baseOffset: asOffset(baseOffset), lastOffset: asOffset(lastOffset),
      logAppendTimeMs: this.config.logAppendTime ? now : -1, logStartOffset: asOffset(this.startOffset), duplicate: false,
    };
  }

  /** Updates producer state with a batch in the log; an ABORT marker adds to the aborted-transaction index. */
  private applyToProducerState(buf: Buffer, pos: number, segmentBase: number): void {
    const done: CompletedTxn | undefined = this.producerState.update(buf, pos);
    if (done === undefined || !done.aborted) return;
    const unstable = this.producerState.firstUnstableOffset();
    this.txnIndex.append(segmentBase, {
      producerId: done.producerId, firstOffset: done.firstOffset, lastOffset: done.lastOffset,
      lastStableOffset: Math.min(unstable ?? Number.MAX_SAFE_INTEGER, done.lastOffset + 1),
    });
  }

  private writeToActive(buf: Buffer): void {
    const segment = this.active;
    const before = segment.sizeBytes;
    try {
      segment.append(buf);
    } catch (err) {
      // Nothing partial may stay: cut back to the previous end, or take the log offline.
      try {
        segment.truncateToSize(before);
      } catch (cutErr) {
        this.goOffline(`write failed and could not be undone: ${(cutErr as Error).message}`);
      }
      this.logger.error('log append failed', { topic: this.topic, partition: this.partition, error: (err as Error).message });
      throw kafkaError('KAFKA_STORAGE_ERROR', `append to ${this.topic}-${this.partition} failed: ${(err as Error).message}`);
    }
  }

  private afterAppend(): void {
    if (this.config.writeCaching) {
      if (this.replication === undefined) this.setHighWatermark(this.leo);
      if (this.unflushedMessages >= this.config.flushMessages) this.flush();
    } else {
      this.scheduleFlush();
    }
  }

  /** Called by the log manager's scheduler: flush.ms for write-cached topics. */
  flushIfDue(nowMs: number): void {
    if (this.leo > this.flushed && nowMs - this.lastFlushMs >= this.config.flushMs) this.flush();
  }

  /** Starts a group-commit sync unless one is running; the running one re-arms itself. */
  flush(): void {
    if (this.syncing || this.offline) return;
    if (this.leo === this.flushed && this.unsyncedSegments.size === 0 && !this.dirDirty) return;
    this.syncing = true;
    const target = this.leo;
    const truncations = this.truncations;
    const segments = [...this.unsyncedSegments, this.active];
    this.unsyncedSegments.clear();
    const syncDir = this.dirDirty;
    this.dirDirty = false;
    this.active.persistIndexes();
    this.unflushedMessages = 0;
    this.lastFlushMs = this.clock.nowMs();
    const work: Promise<void>[] = segments.map((s) => s.fdatasync());
    if (syncDir) work.push(Promise.resolve().then(() => fsyncDirSync(this.dir)));
    work.push(Promise.resolve().then(() => this.txnIndex.syncNow()));
    // Before the flushed offset passes the first batch of a new epoch (see LeaderEpochCache).
    work.push(Promise.resolve().then(() => this.epochCache.sync()));
    Promise.all(work).then(
      () => {
        this.syncing = false;
        // A truncation while syncing may have replaced bytes below `target`: sync again instead.
        if (truncations === this.truncations) this.onFlushed(target);
        else this.scheduleFlush();
        if (this.leo > this.flushed || this.unsyncedSegments.size > 0) this.scheduleFlush();
      },
      (err: Error) => {
        this.syncing = false;
        this.goOffline(`fdatasync failed: ${err.message}`);
      },
    );
  }

  /**
   * Group commit for durable appends starts at the end of the event-loop turn, not at
   * once: a sync started by the first of several appends made in one turn (the batches of
   * one request, or the appenders the previous sync just released) would cover that one
   * alone, and the rest would wait a whole second sync. In bench:log, 16 durable appends
   * in flight got 8 batches per sync this way, and 16 (and ~25 % more MiB/s) deferred.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.syncing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private onFlushed(target: number): void {
    if (target > this.flushed) this.flushed = target;
    if (this.replication !== undefined) this.replication.logAdvanced();
    else if (!this.config.writeCaching && !this.follower) this.setHighWatermark(this.flushed);
    if (this.syncWaiters.length === 0) return;
    const still: SyncWaiter[] = [];
    for (const w of this.syncWaiters) {
      if (w.offset <= this.flushed) w.resolve();
      else still.push(w);
    }
    this.syncWaiters = still;
  }

  /** Resolves once everything below `offset` is fdatasynced. */
  waitFlushed(offset: number): Promise<void> {
    if (offset <= this.flushed) return Promise.resolve();
    if (this.offline) return Promise.reject(this.storageError());
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ offset, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Moves the high watermark forward (never back: a lower `offset` is ignored) and wakes
   * readers waiting for data. Replication calls it on replicated partitions.
   */
  setHighWatermark(offset: number): void {
    if (offset <= this.hw) return;
    assert(offset <= this.leo, `high watermark ${offset} beyond log end ${this.leo}`);
    this.hw = offset;
    if (this.dataWaiters.size > 0) {
      const waiters = [...this.dataWaiters];
      this.dataWaiters.clear();
      for (const wake of waiters) wake();
    }
  }

  waitForData(offset: Offset, signal: AbortSignal, isolation: IsolationLevel = 'read_uncommitted'): Promise<void> {
    // The LSO moves only with the high watermark (a marker becomes readable) or past it, so
    // waking on high-watermark moves and checking again covers read_committed readers too.
    const ready = (): boolean => (isolation === 'read_committed' ? this.lastStableOffset : this.hw) > offset;
    if (ready() || signal.aborted || this.offline) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        if (!ready() && !signal.aborted && !this.offline && !this.closed) {
          this.dataWaiters.add(wake);
          return;
        }
        this.dataWaiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.dataWaiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  private goOffline(reason: string): void {
    if (this.offlineReason !== undefined) return;
    this.offlineReason = reason;
    this.logger.error('partition offline', { topic: this.topic, partition: this.partition, reason });
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w.reject(this.storageError());
    for (const wake of [...this.dataWaiters]) wake();
  }

  private notLeader(): KafkaError {
    return kafkaError('NOT_LEADER_OR_FOLLOWER', `this node is not the leader of ${this.topic}-${this.partition}`);
  }

  private storageError(): KafkaError {
    return kafkaError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition} is offline: ${this.offlineReason}`);
  }

  private checkOnline(): void {
    if (this.offlineReason !== undefined) throw this.storageError();
  }

  // --- roll --------------------------------------------------------------------

  private maybeRoll(incomingBytes: number, lastOffset: number, nowMs: number): void {
    const active = this.active;
    if (active.sizeBytes === 0) {
      this.activeSinceMs = nowMs;
      return;
    }
    const full = active.sizeBytes + incomingBytes > this.config.segmentBytes;
    const aged = nowMs - this.activeSinceMs > this.config.segmentMs;
    const span = lastOffset - active.baseOffset > SEGMENT_OFFSET_SPAN_MAX;
    if (full || aged || span || active.indexFull) {
      this.roll();
      this.activeSinceMs = nowMs;
    }
  }

  /** Seals the active segment and starts a new one at the log end offset. */
  roll(): void {
    const old = this.active;
    if (old.sizeBytes === 0) return;
    old.seal();
    this.unsyncedSegments.add(old);
    this.producerState.writeSnapshot(this.leo);
    this.producerState.deleteSnapshotsBefore(this.leo, PRODUCER_SNAPSHOTS_KEPT);
    this.segments.push(Segment.create(this.dir, this.leo, this.config));
    this.dirDirty = true;
    this.events.segmentRolled?.(this, this.leo);
  }

  // --- read --------------------------------------------------------------------

  read(offset: Offset, maxBytes: number, isolation: IsolationLevel): ReadResult {
    this.checkOnline();
    if (this.follower) throw this.notLeader();
    if (offset < this.startOffset || offset > this.leo) {
      throw kafkaError('OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside [${this.startOffset}, ${this.leo}] of ${this.topic}-${this.partition}`);
    }
    const committed = isolation === 'read_committed';
    const end = committed ? this.lastStableOffset : this.hw;
    let records: Buffer = EMPTY;
    if (offset < end) {
      for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
        const segment = this.segments[i]!;
        const at = segment.translateOffset(offset);
        if (at === undefined) continue;
        records = segment.read(at.position, maxBytes, end);
        break;
      }
    }
    const abortedTransactions = committed && records.length > 0
      ? this.txnIndex.collect(offset, lastOffsetOf(records) + 1, this.segments[this.segmentIndexFor(offset)]!.baseOffset).map((t) => ({ producerId: t.producerId, firstOffset: asOffset(t.firstOffset) }))
      : [];
    return {
      records, highWatermark: asOffset(this.hw), lastStableOffset: asOffset(this.lastStableOffset),
      logStartOffset: asOffset(this.startOffset), logEndOffset: asOffset(this.leo), abortedTransactions,
    };
  }

  get lastStableOffset(): Offset {
    const unstable = this.producerState.firstUnstableOffset();
    return asOffset(unstable === undefined ? this.hw : Math.min(unstable, this.hw));
  }

  /** Index of the last segment whose base offset is <= `offset` (0 if none). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * ListOffsets by time: the first record at or after the log start whose timestamp is >=
   * `timestampMs`, as Kafka answers it: the record, not the batch holding it, since a
   * consumer seeking there must not re-read the batch's earlier records.
   */
  offsetForTimestamp(timestampMs: number): { offset: Offset; timestampMs: number } | undefined {
    const startOffset = this.startOffset;
    const inBatch = (buf: Buffer, pos: number, size: number): { offset: number; timestamp: number } | undefined =>
      firstRecordAtOrAfter(buf, pos, size, timestampMs, startOffset);
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestampMs) continue;
      const found = segment.findOffsetByTimestamp(timestampMs, startOffset, inBatch);
      if (found !== undefined && found.offset < this.hw) return { offset: asOffset(found.offset), timestampMs: found.timestamp };
    }
    return undefined;
  }

  /**
   * ListOffsets MAX_TIMESTAMP: the first record carrying the largest timestamp below the high
   * watermark. Finds the segment and batch by their max timestamps, then reads that batch's
   * records (decompressing if needed) for the exact record.
   */
  maxTimestamp(): { offset: Offset; timestampMs: number } | undefined {
    let best: Segment | undefined;
    for (const segment of this.segments) {
      if (segment.baseOffset >= this.hw) break;
      if (segment.sizeBytes > 0 && (best === undefined || segment.maxTimestamp > best.maxTimestamp)) best = segment;
    }
    if (best === undefined || best.maxTimestamp < 0) return undefined;
    let found: { offset: Offset; timestampMs: number } | undefined;
    let bestTs = -1;
    best.scan(0, (buf, pos, size) => {
      if (rb.batchBaseOffset(buf, pos) >= this.hw) return false;
      const ts = rb.batchMaxTimestamp(buf, pos);
      if (ts > bestTs && rb.batchLastOffset(buf, pos) >= this.startOffset) {
        bestTs = ts;
        found = { offset: asOffset(offsetOfTimestampInBatch(buf, pos, size, ts)), timestampMs: ts };
      }
      return true;
    });
    return found;
  }

  /** OffsetForLeaderEpoch: the end offset of `epoch` as this log knows it. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochCache.endOffsetFor(epoch, this.leo);
  }

  endOffsetForLeaderEpoch(epoch: number): { leaderEpoch: number; endOffset: number } {
    const { epoch: leaderEpoch, endOffset } = this.endOffsetForEpoch(epoch);
    return { leaderEpoch, endOffset };
  }

  /** DeleteRecords: resolves with the log start offset after the move. */
  deleteRecordsBefore(offset: Offset): Promise<Offset> {
    try {
      this.advanceLogStartOffset(offset);
      return Promise.resolve(this.logStartOffset);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  producers(): ProducerDescription[] {
    return [...this.producerState.entries()].map((e) => {
      const last = e.batches[e.batches.length - 1];
      return {
        producerId: e.producerId, producerEpoch: e.epoch, lastSequence: last?.lastSeq ?? -1, lastTimestampMs: e.lastTimestamp,
        coordinatorEpoch: e.coordinatorEpoch, currentTxnStartOffset: e.currentTxnFirstOffset,
      };
    });
  }

  // --- replication ---------------------------------------------------------------

  /** Whether this log follows a leader (set by `becomeFollower`). */
  get isFollower(): boolean {
    return this.follower;
  }

  /**
   * This node leads the partition from `leaderEpoch` on. The epoch starts at the log end
   * (recorded now, so followers diverging from it learn where). With `replication`, acks=all
   * appends and the high watermark are replication's; without, the log is standalone.
   */
  becomeLeader(leaderEpoch: number, replication: LeaderReplication | undefined): void {
    this.checkOnline();
    assert(leaderEpoch >= this.leaderEpoch, `leader epoch ${leaderEpoch} below the current ${this.leaderEpoch}`);
    this.leaderEpoch = leaderEpoch;
    this.follower = false;
    this.replication = replication;
    this.epochCache.assign(leaderEpoch, this.leo);
    if (replication === undefined) {
      this.setHighWatermark(this.config.writeCaching ? this.leo : this.flushed);
    } else {
      // What this node appended as a follower was not synced; the sooner it is, the
      // shorter the time a crash here could take back writes already acknowledged.
      this.flush();
    }
  }

  /** Another node leads the partition in `leaderEpoch`; appends come through `appendAsFollower`. */
  becomeFollower(leaderEpoch: number): void {
    this.checkOnline();
    assert(leaderEpoch >= this.leaderEpoch, `leader epoch ${leaderEpoch} below the current ${this.leaderEpoch}`);
    this.leaderEpoch = leaderEpoch;
    this.follower = true;
    this.replication = undefined;
  }

  /**
   * Appends batches whose offsets and partition leader epochs a leader already assigned (a
   * replica follower, or the Raft log of the metadata quorum on a standalone log; Kafka's
   * appendAsFollower). Written as given, nothing rewritten: each batch must pass its header
   * and CRC checks and start at or after the log end (a compacted leader leaves gaps) and
   * after the previous batch; control batches are allowed. Refused on a replicated leader.
   */
  appendAsFollower(input: Uint8Array): AppendResult {
    this.checkOnline();
    if (this.replication !== undefined) throw kafkaError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is led here`);
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (buf.length === 0) throw kafkaError('CORRUPT_MESSAGE', 'empty record set');
    let next = this.leo;
    let recordCount = 0;
    for (let pos = 0; pos < buf.length;) {
      const probe = rb.probeBatch(buf, pos, buf.length, SCAN_BATCH_BYTES_MAX);
      if (probe.kind !== 'batch' || !rb.batchCrcValid(buf, pos, probe.size)) {
        throw kafkaError('CORRUPT_MESSAGE', `invalid record batch at byte ${pos} of a follower append`);
      }
      const base = rb.batchBaseOffset(buf, pos);
      if (base < next || rb.batchLastOffsetDelta(buf, pos) < 0) {
        throw kafkaError('INVALID_RECORD', `batch at offset ${base} does not continue the log at ${next}`);
      }
      next = rb.batchLastOffset(buf, pos) + 1;
      recordCount += rb.batchRecordCount(buf, pos);
      pos += probe.size;
    }
    const baseOffset = rb.batchBaseOffset(buf, 0);
    this.maybeRoll(buf.length, next - 1, this.clock.nowMs());
    this.writeToActive(buf);
    const segmentBase = this.active.baseOffset;
    for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) {
      this.epochCache.assign(rb.batchLeaderEpoch(buf, pos), rb.batchBaseOffset(buf, pos));
      this.applyToProducerState(buf, pos, segmentBase);
    }
    this.leo = next;
    this.unflushedMessages += recordCount;
    if (!this.follower) this.afterAppend();
    else if (this.unsyncedSegments.size > 0) this.scheduleFlush();
    this.events.batchAppended?.(this, baseOffset, next - 1, recordCount, buf.length);
    return {
      baseOffset: asOffset(baseOffset), lastOffset: asOffset(next - 1), logAppendTimeMs: -1,
      logStartOffset: asOffset(this.startOffset), duplicate: false,
    };
  }

  /**
   * Whole batches from `offset` for a follower: past the high watermark, up to the log
   * end. The first batch is returned whole even when larger than `maxBytes`.
   */
  readForReplica(offset: number, maxBytes: number): Buffer {
    this.checkOnline();
    if (offset < this.startOffset || offset > this.leo) {
      throw kafkaError('OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside [${this.startOffset}, ${this.leo}] of ${this.topic}-${this.partition}`);
    }
    if (offset === this.leo) return EMPTY;
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const at = segment.translateOffset(offset);
      if (at === undefined) continue;
      return segment.read(at.position, maxBytes, this.leo);
    }
    return EMPTY;
  }

  // --- truncation, retention, log start offset -----------------------------------

  /**
   * Removes every batch at or after `offset` (a follower diverging from its leader).
   * The batch containing `offset` goes too, as Kafka does. Durable on return (synced here,
   * not by the group commit): a crash must not bring back a tail the leader told us to drop
   * after we fetched its replacement.
   */
  truncateTo(offset: number): void {
    this.checkOnline();
    if (offset >= this.leo) {
      // An epoch this node began as leader without writing to it ends nowhere in the log;
      // kept, it would make every fetch claim it and diverge again (Kafka drops it too).
      this.epochCache.truncateFromEnd(this.leo);
      return;
    }
    if (offset <= this.segments[0]!.baseOffset) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    let dropped = false;
    while (this.segments.length > 1 && this.active.baseOffset >= offset) {
      const gone = this.segments.pop()!;
      this.unsyncedSegments.delete(gone);
      gone.delete();
      this.txnIndex.dropSegment(gone.baseOffset);
      this.events.segmentDeleted?.(this, gone.baseOffset, 'truncation');
      dropped = true;
    }
    this.leo = this.active.truncateToOffset(offset);
    this.active.fdatasyncNow();
    if (dropped) fsyncDirSync(this.dir);
    this.afterTruncation();
  }

  /** Deletes the whole log and starts it again, empty, at `offset`. */
  truncateFullyAndStartAt(offset: number): void {
    for (const s of this.segments) {
      s.delete();
      this.txnIndex.dropSegment(s.baseOffset);
      this.events.segmentDeleted?.(this, s.baseOffset, 'truncation');
    }
    this.unsyncedSegments.clear();
    this.segments = [Segment.create(this.dir, offset, this.config)];
    fsyncDirSync(this.dir);
    this.leo = offset;
    this.startOffset = offset;
    this.afterTruncation();
  }

  private afterTruncation(): void {
    this.truncations++;
    this.flushed = Math.min(this.flushed, this.leo);
    this.hw = Math.min(this.hw, this.leo);
    // Appends waiting for offsets that no longer exist will not get them from this log.
    const waiters = this.syncWaiters;
    this.syncWaiters = waiters.filter((w) => w.offset <= this.leo);
    for (const w of waiters) if (w.offset > this.leo) w.reject(this.notLeader());
    this.epochCache.truncateFromEnd(this.leo);
    this.producerState.deleteSnapshotsAfter(this.leo);
    this.rebuildProducerState();
    this.events.truncated?.(this);
    this.flush();
  }

  /**
   * Moves the log start offset forward (DeleteRecords, or retention): offsets below it
   * are no longer readable, and whole segments below it are deleted.
   */
  advanceLogStartOffset(offset: number): void {
    this.checkOnline();
    if (offset <= this.startOffset) return;
    if (offset > this.hw) {
      throw kafkaError('OFFSET_OUT_OF_RANGE', `cannot delete records up to ${offset}: high watermark is ${this.hw}`);
    }
    this.startOffset = offset;
    this.epochCache.truncateFromStart(offset);
    this.producerState.removeBefore(offset);
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= offset) {
      this.deleteOldestSegment('log-start-offset');
    }
    this.events.logStartOffsetChanged?.(this);
  }

  private deleteOldestSegment(reason: 'retention' | 'log-start-offset'): void {
    const gone = this.segments.shift()!;
    this.unsyncedSegments.delete(gone);
    gone.delete();
    this.txnIndex.dropSegment(gone.baseOffset);
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    this.events.segmentDeleted?.(this, gone.baseOffset, reason);
  }

  /**
   * retention.ms and retention.bytes for `cleanup.policy` including delete. Only
   * segments wholly below the high watermark go; an expired active segment is rolled
   * first, as Kafka does. Returns the number of segments deleted.
   */
  applyRetention(nowMs: number): number {
    if (!this.config.cleanupPolicyDelete || this.offline) return 0;
    let deleted = 0;
    const retentionMs = this.config.retentionMs;
    if (retentionMs >= 0) {
      for (;;) {
        const oldest = this.segments[0]!;
        // A sealed segment that compaction emptied holds nothing to keep and has no timestamp.
        const emptied = oldest.sizeBytes === 0 && oldest !== this.active;
        if (!emptied && (oldest.sizeBytes === 0 || oldest.maxTimestamp < 0 || oldest.maxTimestamp >= nowMs - retentionMs)) break;
        if (oldest === this.active) {
          if (this.leo > this.hw) break;
          this.roll();
        }
        if (this.segments[1]!.baseOffset > this.hw) break;
        this.deleteOldestSegment('retention');
        deleted++;
      }
    }
    const retentionBytes = this.config.retentionBytes;
    if (retentionBytes >= 0) {
      let excess = this.sizeBytes - retentionBytes;
      while (this.segments.length > 1 && excess >= this.segments[0]!.sizeBytes && this.segments[1]!.baseOffset <= this.hw) {
        excess -= this.segments[0]!.sizeBytes;
        this.deleteOldestSegment('retention');
        deleted++;
      }
    }
    if (deleted > 0) {
      this.epochCache.truncateFromStart(this.startOffset);
      this.producerState.removeBefore(this.startOffset);
    }
    return deleted;
  }

  /** Forgets idle producers (producer.id.expiration.ms). */
  expireProducers(nowMs: number, expirationMs: number): number {
    return this.producerState.removeExpired(nowMs, expirationMs);
  }

  /**
   * Swaps sealed segments for their compacted replacement (the cleaner's commit step).
   * `replaced` must be consecutive sealed segments; `replacement` starts at the first's base.
   */
  replaceSegments(replaced: readonly Segment[], replacement: Segment): void {
    const first = this.segments.indexOf(replaced[0]!);
    assert(first >= 0 && replaced.every((s, i) => this.segments[first + i] === s), 'replaced segments are consecutive');
    assert(first + replaced.length < this.segments.length, 'the active segment is never replaced');
    assert(replacement.baseOffset === replaced[0]!.baseOffset, 'replacement starts where the replaced segments start');
    this.segments.splice(first, replaced.length, replacement);
    this.txnIndex.merge(replaced.map((s) => s.baseOffset));
    for (const s of replaced) {
      // The replacement was synced before the swap; a pending sync of these would use a closed file.
      this.unsyncedSegments.delete(s);
      if (s.baseOffset === replacement.baseOffset) {
        s.detach();
      } else {
        s.delete();
        this.events.segmentDeleted?.(this, s.baseOffset, 'compaction');
      }
    }
  }

  // --- load and close ------------------------------------------------------------

  private load(opts: PartitionLogOptions): void {
    const bases = this.listSegmentFiles();
    const recoveryPoint = opts.cleanShutdown ? Number.MAX_SAFE_INTEGER : opts.recoveryPoint;
    if (bases.length === 0) {
      this.segments = [Segment.create(this.dir, opts.logStartOffset, this.config)];
      this.dirDirty = true;
    } else {
      this.segments = bases.map((b, i) => {
        const next = bases[i + 1];
        const size = statSync(join(this.dir, segmentFileName(b, '.log'))).size;
        return Segment.open(this.dir, b, this.config, size, next ?? b,
          next !== undefined && next <= recoveryPoint ? Number.MAX_SAFE_INTEGER : recoveryPoint);
      });
    }
    let rescanned: readonly Segment[] = [];
    if (opts.cleanShutdown) {
      this.active.loadTrusted();
    } else {
      rescanned = this.recover(recoveryPoint);
    }
    this.leo = this.active.nextOffset;
    this.startOffset = Math.max(opts.logStartOffset, this.segments[0]!.baseOffset);
    if (this.startOffset > this.leo) this.startOffset = this.leo;
    this.epochCache.truncateFromEnd(this.leo);
    this.producerState.deleteSnapshotsAfter(this.leo);
    this.txnIndex.load((offset) => this.segments[this.segmentIndexFor(offset)]!.baseOffset);
    this.rebuildProducerState();
    if (rescanned.length > 0) {
      // Re-scanned bytes may still be only in the page cache (a process crash): make them
      // durable before consumers may read them. Sealed ones get their final time-index
      // entry back too: recovery rebuilt their indexes in memory only, and once the
      // recovery point passes them the files alone give their largest timestamp.
      for (const s of rescanned) {
        if (s !== this.active) s.seal();
        s.fdatasyncNow();
      }
      fsyncDirSync(this.dir);
    }
    // Epochs recovery found in the re-scanned batches: the recovery point may pass them next.
    this.epochCache.sync();
    this.flushed = this.leo;
    // A replica does not know how much of its log was committed: the leader's high watermark
    // (or, leading, its followers' progress) raises it from the start. A single copy's log is
    // all committed once synced.
    this.hw = opts.replicated === true ? this.startOffset : this.leo;
    this.activeSinceMs = this.clock.nowMs();
  }

  /** Base offsets of the `.log` files, after removing leftovers of interrupted deletes and compactions. */
  private listSegmentFiles(): number[] {
    recoverInterruptedCleaning(this.dir);
    const bases: number[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.deleted') || name.endsWith('.tmp')) {
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      const m = /^(\d{20})\.log$/.exec(name);
      if (m !== null) bases.push(Number(m[1]));
    }
    return bases.sort((a, b) => a - b);
  }

  /** Re-scans from the recovery point; returns the segments it re-scanned and kept. */
  private recover(recoveryPoint: number): readonly Segment[] {
    let i = this.segmentIndexFor(recoveryPoint);
    if (this.segments[i]!.baseOffset > recoveryPoint) i = 0;
    let truncatedAt = -1;
    for (let k = i; k < this.segments.length; k++) {
      const segment = this.segments[k]!;
      const cut = segment.recover(k === i ? recoveryPoint : segment.baseOffset, (buf, pos) => {
        this.epochCache.assign(rb.batchLeaderEpoch(buf, pos), rb.batchBaseOffset(buf, pos));
      });
      if (cut > 0) {
        this.logger.warn('recovery cut a torn or corrupt log tail', {
          topic: this.topic, partition: this.partition, segment: segment.baseOffset, bytes: cut,
        });
        truncatedAt = k;
        break;
      }
    }
    if (truncatedAt >= 0) {
      for (const gone of this.segments.splice(truncatedAt + 1)) {
        this.logger.warn('recovery deleted a segment after a corrupt one', {
          topic: this.topic, partition: this.partition, segment: gone.baseOffset,
        });
        gone.delete();
        this.txnIndex.dropSegment(gone.baseOffset);
      }
    }
    return this.segments.slice(i);
  }

  /**
   * Loads the newest producer snapshot at or below the log end and replays the batches
   * after it. Aborted-transaction entries from there on are dropped first and re-made by
   * the replay: whatever a crash left of them, they end up matching the log.
   */
  private rebuildProducerState(): void {
    const snapshotOffset = this.producerState.loadSnapshot(this.leo);
    const from = Math.max(snapshotOffset, this.startOffset);
    this.txnIndex.truncateFrom(from);
    for (let i = this.segmentIndexFor(from); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const at = segment.translateOffset(from);
      if (at === undefined) continue;
      segment.scan(at.position, (buf, pos) => {
        if (rb.batchBaseOffset(buf, pos) >= from) this.applyToProducerState(buf, pos, segment.baseOffset);
      });
    }
  }

  /** Flushes everything, writes indexes and a producer snapshot; the log is unusable after. */
  async close(): Promise<void> {
    if (!this.offline) {
      await this.waitFlushed(this.leo);
      this.active.seal();
      for (const s of this.segments) s.close();
      // Producer state is a function of the log below an offset (but for producers expired
      // since, which expire again once loaded): a restart that wrote nothing keeps its snapshot.
      if (!this.producerState.snapshotOffsets().includes(this.leo)) this.producerState.writeSnapshot(this.leo);
      this.producerState.deleteSnapshotsBefore(this.leo, PRODUCER_SNAPSHOTS_KEPT);
    } else {
      for (const s of this.segments) s.close();
    }
    this.closed = true;
    for (const wake of [...this.dataWaiters]) wake();
  }

  /** Deletes the partition's directory (topic deletion). */
  deleteAll(): void {
    for (const s of this.segments) {
      s.delete();
      this.events.segmentDeleted?.(this, s.baseOffset, 'topic-deleted');
    }
    this.segments = [];
    this.goOffline('topic deleted');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const EMPTY = Buffer.alloc(0);

function lastOffsetOf(records: Buffer): number {
  let last = -1;
  for (let pos = 0; pos < records.length; pos += rb.batchSize(records, pos)) last = rb.batchLastOffset(records, pos);
  return last;
}

/** Re-encodes the batches whose codec differs from the topic's `compression.type`; others are kept as they are. */
function recompressTo(buf: Buffer, codec: number): Buffer {
  let differs = false;
  for (let pos = 0; pos < buf.length && !differs; pos += rb.batchSize(buf, pos)) differs = rb.batchCompression(buf, pos) !== codec;
  if (!differs) return buf;
  const parts: Buffer[] = [];
  for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) {
    const size = rb.batchSize(buf, pos);
    parts.push(rb.batchCompression(buf, pos) === codec ? buf.subarray(pos, pos + size) : recompressBatch(buf, pos, size, codec));
  }
  return Buffer.concat(parts);
}

const recordView = emptyRecordView();

/** The batch's record bytes, decompressed if need be, and where they lie. */
function recordsOf(buf: Buffer, pos: number, size: number): { records: Buffer; at: number; end: number } {
  const codec = rb.batchCompression(buf, pos);
  if (codec === CODEC_NONE) return { records: buf, at: pos + rb.BATCH_HEADER_BYTES, end: pos + size };
  const records = codecFor(codec).decompress(buf.subarray(pos + rb.BATCH_HEADER_BYTES, pos + size), DECOMPRESSED_BYTES_MAX);
  return { records, at: 0, end: records.length };
}

/** The batch's first record at or after `startOffset` with a timestamp >= `timestampMs`, if any. */
function firstRecordAtOrAfter(buf: Buffer, pos: number, size: number, timestampMs: number, startOffset: number):
  { offset: number; timestamp: number } | undefined {
  const base = rb.batchBaseOffset(buf, pos);
  if ((rb.batchAttributes(buf, pos) & rb.ATTR_TIMESTAMP_LOG_APPEND) !== 0) {
    // Every record carries the batch's append time, whatever the producer wrote.
    const appendTime = rb.batchMaxTimestamp(buf, pos);
    return appendTime >= timestampMs ? { offset: Math.max(base, startOffset), timestamp: appendTime } : undefined;
  }
  const { records, at: first, end } = recordsOf(buf, pos, size);
  let at = first;
  const baseTs = rb.batchBaseTimestamp(buf, pos);
  for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
    at = readRecord(records, at, end, recordView);
    const offset = base + recordView.offsetDelta;
    const timestamp = baseTs + recordView.timestampDelta;
    if (offset >= startOffset && timestamp >= timestampMs) return { offset, timestamp };
  }
  return undefined;
}

/** Offset of the first record in the batch whose timestamp is `timestampMs` (the batch's last offset if none matches). */
function offsetOfTimestampInBatch(buf: Buffer, pos: number, size: number, timestampMs: number): number {
  const base = rb.batchBaseOffset(buf, pos);
  if ((rb.batchAttributes(buf, pos) & rb.ATTR_TIMESTAMP_LOG_APPEND) !== 0) return base;
  const { records, at: first, end } = recordsOf(buf, pos, size);
  let at = first;
  const baseTs = rb.batchBaseTimestamp(buf, pos);
  for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
    at = readRecord(records, at, end, recordView);
    if (baseTs + recordView.timestampDelta === timestampMs) return base + recordView.offsetDelta;
  }
  return rb.batchLastOffset(buf, pos);
}
