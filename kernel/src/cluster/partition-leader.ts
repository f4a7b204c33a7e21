/**
 * The leader side of one replicated partition (Kafka's Partition as leader): it tracks
 * each follower's fetch offset, computes the high watermark, decides ISR changes and
 * answers acks=all appends once the in-sync replicas hold them.
 *
 * - High watermark: the minimum over the ISR of the followers' fetch offsets (what they
 *   acknowledged having appended) and the leader's own flushed offset (its log end with
 *   write caching on): the leader counts only what it fsynced, so a leader crash never takes
 *   back an acknowledged write it held alone. A follower whose fetch offset is still unknown
 *   after the election holds the high watermark where it is.
 * - ISR expansion: a follower joins once its fetch offset reaches the high watermark and the
 *   start of the leader's epoch. ISR shrink: a member whose last caught-up time is older
 *   than replica.lag.time.max.ms leaves, checked every half of it. The last caught-up time
 *   is Kafka's lastCaughtUpTimeMs: the time of a fetch at the leader's log end, or the time
 *   of the previous fetch when this one reached the log end as it was then.
 * - ISR changes go to the controller as AlterPartition, one in flight per partition, and
 *   take effect only when its answer (or the metadata image) carries them. While one is in
 *   flight the high watermark counts the union of the old and the proposed ISR (Kafka's
 *   maximal ISR), so neither a shrink nor an expansion can move it early.
 * - acks=all: refused with NOT_ENOUGH_REPLICAS before appending when the ISR is smaller than
 *   min.insync.replicas; answered when the high watermark passes the batch, with
 *   NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is smaller than that by then, with
 *   REQUEST_TIMED_OUT when the caller's timeout passes first, and NOT_LEADER_OR_FOLLOWER
 *   when this node stops leading.
 */
import type { AlterPartitionRequest, AlterPartitionResponse, Logger, ReplicaFetchRequest, ReplicaFetchResponse } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { assert, ErrorCode, kafkaError } from '../errors.js';
import type { LeaderReplication, PartitionLog } from '../log/partition-log.js';
import type { ReplicaTimer } from './replica-timer.js';

/** acks=all appends waiting for replication per partition; more are refused (NOT_ENOUGH_REPLICAS) before appending. */
export const ACKS_ALL_WAITERS_MAX = 10_000;
/** Timeout of an acks=all append whose caller gives none (a transaction marker): Kafka's request.timeout.ms default. */
export const ACKS_ALL_TIMEOUT_MS_DEFAULT = 30_000;

export type ReplicaFetchPartition = ReplicaFetchRequest['partitions'][number];
export type ReplicaFetchPartitionResult = ReplicaFetchResponse['partitions'][number];

/** The partition as the metadata image has it, for a partition this node leads. */
export interface LeaderPartitionState {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface PartitionLeaderOptions {
  readonly log: PartitionLog;
  readonly topicId: Uint8Array;
  readonly nodeId: number;
  readonly state: LeaderPartitionState;
  /** This broker's current epoch, sent with AlterPartition. */
  readonly brokerEpoch: () => number;
  /** Sends AlterPartition to the active controller; rejects when it cannot be reached. */
  readonly alterPartition: (request: AlterPartitionRequest) => Promise<AlterPartitionResponse>;
  readonly clock: Clock;
  readonly timer: ReplicaTimer;
  /** replica.lag.time.max.ms */
  readonly replicaLagTimeMaxMs: number;
  readonly logger: Logger;
}

interface FollowerState {
  /** The follower's log end as of its last fetch; -1 until it fetches in this epoch. */
  fetchOffset: number;
  lastCaughtUpMs: number;
  lastFetchMs: number;
  /** The leader's log end at the follower's previous fetch. */
  lastFetchLeaderEndOffset: number;
  /** Highest broker epoch seen from the follower: fetches from before its restart are stale. */
  brokerEpoch: number;
}

interface AcksWaiter {
  readonly endOffset: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly cancelTimer: () => void;
}

const EMPTY = new Uint8Array(0);

export class PartitionLeader implements LeaderReplication {
  readonly log: PartitionLog;
  readonly leaderEpoch: number;
  private replicas: readonly number[];
  private isr: readonly number[];
  private partitionEpoch: number;
  /** The ISR proposed by the AlterPartition in flight. */
  private pendingIsr: readonly number[] | undefined;
  private readonly followers = new Map<number, FollowerState>();
  private waiters: AcksWaiter[] = [];
  private readonly appendWaiters = new Set<() => void>();
  /** Where this leader's epoch starts: a follower joins the ISR only past it. */
  private readonly epochStartOffset: number;
  private stopped = false;
  private cancelIsrCheck: () => void = () => {};

  constructor(private readonly opts: PartitionLeaderOptions) {
    this.log = opts.log;
    this.leaderEpoch = opts.state.leaderEpoch;
    this.replicas = opts.state.replicas;
    this.isr = opts.state.isr;
    this.partitionEpoch = opts.state.partitionEpoch;
    assert(this.replicas.includes(opts.nodeId), `node ${opts.nodeId} leads ${this.name} without being a replica`);
    this.syncFollowers();
    this.epochStartOffset = this.log.logEndOffset;
    this.log.becomeLeader(this.leaderEpoch, this);
    this.scheduleIsrCheck();
    this.maybeAdvanceHighWatermark();
  }

  private get name(): string {
    return `${this.log.topic}-${this.log.partition}`;
  }

  get inSyncReplicas(): readonly number[] {
    return this.isr;
  }

  // --- LeaderReplication (called by the log) ---------------------------------------

  checkDurableAppend(): void {
    if (this.stopped) throw kafkaError('NOT_LEADER_OR_FOLLOWER', `this node no longer leads ${this.name}`);
    const min = this.log.config.minInsyncReplicas;
    if (this.isr.length < min) {
      throw kafkaError('NOT_ENOUGH_REPLICAS', `min.insync.replicas is ${min} but ${this.name} has ${this.isr.length} in-sync replicas`);
    }
    if (this.waiters.length >= ACKS_ALL_WAITERS_MAX) {
      throw kafkaError('NOT_ENOUGH_REPLICAS', `${ACKS_ALL_WAITERS_MAX} acks=all appends to ${this.name} already wait for replication`);
    }
  }

  awaitReplicated(endOffset: number, timeoutMs: number | undefined): Promise<void> {
    if (this.stopped) return Promise.reject(kafkaError('NOT_LEADER_OR_FOLLOWER', `this node no longer leads ${this.name}`));
    if (this.log.highWatermark >= endOffset) {
      const err = this.minIsrError();
      return err === undefined ? Promise.resolve() : Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const waiter: AcksWaiter = {
        endOffset, resolve, reject,
        cancelTimer: this.opts.timer.after(timeoutMs ?? ACKS_ALL_TIMEOUT_MS_DEFAULT, () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(kafkaError('REQUEST_TIMED_OUT', `the in-sync replicas of ${this.name} did not reach offset ${endOffset - 1} in time`));
        }),
      };
      this.waiters.push(waiter);
    });
  }

  logAdvanced(): void {
    this.maybeAdvanceHighWatermark();
    if (this.appendWaiters.size > 0) this.wakeAppendWaiters();
  }

  // --- follower fetches ----------------------------------------------------------

  /**
   * One partition of a follower's fetch: epoch checks, divergence, the follower's progress,
   * then whole batches from its fetch offset up to the log end (`maxBytes`, the first batch
   * whole). Never throws for a follower's mistake: the answer carries the error code.
   */
  handleFetch(replicaId: number, brokerEpoch: number, p: ReplicaFetchPartition, maxBytes: number): ReplicaFetchPartitionResult {
    if (this.stopped) return this.errorResult(p, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (p.currentLeaderEpoch < this.leaderEpoch) return this.errorResult(p, ErrorCode.FENCED_LEADER_EPOCH);
    if (p.currentLeaderEpoch > this.leaderEpoch) return this.errorResult(p, ErrorCode.UNKNOWN_LEADER_EPOCH);
    const follower = this.followers.get(replicaId);
    if (follower === undefined) return this.errorResult(p, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (brokerEpoch < follower.brokerEpoch) return this.errorResult(p, ErrorCode.STALE_BROKER_EPOCH);
    follower.brokerEpoch = brokerEpoch;
    if (p.lastFetchedEpoch >= 0) {
      const end = this.log.endOffsetForEpoch(p.lastFetchedEpoch);
      if (end.epoch !== p.lastFetchedEpoch || end.endOffset < p.fetchOffset) {
        return { ...this.errorResult(p, 0), divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset } };
      }
    }
    const leo = this.log.logEndOffset;
    if (p.fetchOffset < this.log.logStartOffset || p.fetchOffset > leo) return this.errorResult(p, ErrorCode.OFFSET_OUT_OF_RANGE);
    this.recordFetch(follower, p.fetchOffset, leo);
    this.maybeExpandIsr(replicaId, follower);
    this.maybeAdvanceHighWatermark();
    const records = maxBytes > 0 ? this.log.readForReplica(p.fetchOffset, Math.min(maxBytes, p.partitionMaxBytes)) : EMPTY;
    return {
      topic: p.topic, partition: p.partition, errorCode: 0, highWatermark: this.log.highWatermark,
      logStartOffset: this.log.logStartOffset, divergingEpoch: null, records,
    };
  }

  /** Resolves once the log end passes `offset`, when this node stops leading, or on `signal`. */
  waitForAppend(offset: number, signal: AbortSignal): Promise<void> {
    if (this.log.logEndOffset > offset || this.stopped || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.appendWaiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.appendWaiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  private recordFetch(follower: FollowerState, fetchOffset: number, leaderEndOffset: number): void {
    const now = this.opts.clock.nowMs();
    if (fetchOffset >= leaderEndOffset) follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, now);
    else if (fetchOffset >= follower.lastFetchLeaderEndOffset) follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, follower.lastFetchMs);
    follower.fetchOffset = fetchOffset;
    follower.lastFetchLeaderEndOffset = leaderEndOffset;
    follower.lastFetchMs = now;
  }

  private errorResult(p: ReplicaFetchPartition, errorCode: number): ReplicaFetchPartitionResult {
    return {
      topic: p.topic, partition: p.partition, errorCode, highWatermark: this.log.highWatermark,
      logStartOffset: this.log.logStartOffset, divergingEpoch: null, records: EMPTY,
    };
  }

  // --- high watermark and acks ---------------------------------------------------

  private maximalIsr(): readonly number[] {
    if (this.pendingIsr === undefined) return this.isr;
    return [...new Set([...this.isr, ...this.pendingIsr])];
  }

  private maybeAdvanceHighWatermark(): void {
    if (this.stopped) return;
    let hw: number = this.log.config.writeCaching ? this.log.logEndOffset : this.log.flushedOffset;
    for (const id of this.maximalIsr()) {
      if (id === this.opts.nodeId) continue;
      const follower = this.followers.get(id);
      assert(follower !== undefined, `ISR member ${id} of ${this.name} is not a replica`);
      if (follower.fetchOffset < 0) return;
      hw = Math.min(hw, follower.fetchOffset);
    }
    if (hw <= this.log.highWatermark) return;
    this.log.setHighWatermark(hw);
    this.completeWaiters();
  }

  private completeWaiters(): void {
    if (this.waiters.length === 0) return;
    const hw = this.log.highWatermark;
    const err = this.minIsrError();
    const still: AcksWaiter[] = [];
    for (const w of this.waiters) {
      if (w.endOffset > hw) {
        still.push(w);
        continue;
      }
      w.cancelTimer();
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
    this.waiters = still;
  }

  private minIsrError(): Error | undefined {
    const min = this.log.config.minInsyncReplicas;
    if (this.isr.length >= min) return undefined;
    return kafkaError('NOT_ENOUGH_REPLICAS_AFTER_APPEND',
      `${this.name} has ${this.isr.length} in-sync replicas, below min.insync.replicas ${min}, after the append`);
  }

  // --- ISR changes ---------------------------------------------------------------

  private maybeExpandIsr(replicaId: number, follower: FollowerState): void {
    if (this.pendingIsr !== undefined || this.isr.includes(replicaId)) return;
    if (follower.fetchOffset < this.log.highWatermark || follower.fetchOffset < this.epochStartOffset) return;
    this.proposeIsr([...this.isr, replicaId]);
  }

  private scheduleIsrCheck(): void {
    const intervalMs = Math.max(1, Math.floor(this.opts.replicaLagTimeMaxMs / 2));
    this.cancelIsrCheck = this.opts.timer.after(intervalMs, () => {
      if (this.stopped) return;
      this.maybeShrinkIsr();
      this.scheduleIsrCheck();
    });
  }

  private maybeShrinkIsr(): void {
    if (this.pendingIsr !== undefined) return;
    const now = this.opts.clock.nowMs();
    const lagging = this.isr.filter((id) => id !== this.opts.nodeId
      && now - this.followers.get(id)!.lastCaughtUpMs > this.opts.replicaLagTimeMaxMs);
    if (lagging.length === 0) return;
    this.opts.logger.info('shrinking ISR', { topic: this.log.topic, partition: this.log.partition, lagging });
    this.proposeIsr(this.isr.filter((id) => !lagging.includes(id)));
  }

  private proposeIsr(newIsr: readonly number[]): void {
    this.pendingIsr = newIsr;
    const request: AlterPartitionRequest = {
      brokerId: this.opts.nodeId, brokerEpoch: this.opts.brokerEpoch(),
      topics: [{ topicId: this.opts.topicId, partitions: [{
        partitionIndex: this.log.partition, leaderEpoch: this.leaderEpoch, newIsr, partitionEpoch: this.partitionEpoch,
        newIsrBrokerEpochs: newIsr.map((id) => (id === this.opts.nodeId ? this.opts.brokerEpoch() : this.followers.get(id)?.brokerEpoch ?? -1)),
      }] }],
    };
    this.opts.alterPartition(request).then(
      (response) => this.onAlterPartition(newIsr, response),
      (err: Error) => {
        if (this.pendingIsr === newIsr) this.pendingIsr = undefined;
        this.opts.logger.warn('AlterPartition failed', { topic: this.log.topic, partition: this.log.partition, error: err.message });
      },
    );
  }

  private onAlterPartition(proposed: readonly number[], response: AlterPartitionResponse): void {
    if (this.stopped || this.pendingIsr !== proposed) return;
    this.pendingIsr = undefined;
    // The answer may cover other partitions too (alter-partition-batcher.ts).
    const topic = response.topics.find((t) => Buffer.compare(t.topicId, this.opts.topicId) === 0);
    const answer = topic?.partitions.find((p) => p.partitionIndex === this.log.partition);
    const errorCode = response.errorCode !== 0 ? response.errorCode : answer?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (errorCode !== 0 || answer === undefined) {
      // The metadata image will say what the partition looks like now.
      this.opts.logger.warn('AlterPartition refused', { topic: this.log.topic, partition: this.log.partition, errorCode });
      return;
    }
    if (answer.leaderEpoch !== this.leaderEpoch || answer.partitionEpoch <= this.partitionEpoch) return;
    this.setIsr(answer.isr, answer.partitionEpoch);
  }

  /**
   * The metadata image's view of the partition in this leader's epoch: a newer partition
   * epoch carries ISR (or replica) changes, whoever asked for them.
   */
  applyState(state: LeaderPartitionState): void {
    assert(state.leaderEpoch === this.leaderEpoch, `${this.name}: epoch ${state.leaderEpoch} applied to the leader of ${this.leaderEpoch}`);
    if (state.partitionEpoch <= this.partitionEpoch) return;
    this.replicas = state.replicas;
    this.syncFollowers();
    this.pendingIsr = undefined;
    this.setIsr(state.isr, state.partitionEpoch);
  }

  private setIsr(isr: readonly number[], partitionEpoch: number): void {
    this.isr = isr;
    this.partitionEpoch = partitionEpoch;
    this.opts.logger.info('ISR changed', { topic: this.log.topic, partition: this.log.partition, isr, partitionEpoch });
    this.maybeAdvanceHighWatermark();
    const err = this.minIsrError();
    if (err === undefined) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w.cancelTimer();
      w.reject(err);
    }
  }

  private syncFollowers(): void {
    const now = this.opts.clock.nowMs();
    for (const id of this.replicas) {
      if (id === this.opts.nodeId || this.followers.has(id)) continue;
      // Kafka starts every follower as caught up at the election: the ISR is the
      // controller's word until a follower has had replica.lag.time.max.ms to fetch.
      this.followers.set(id, { fetchOffset: -1, lastCaughtUpMs: now, lastFetchMs: now, lastFetchLeaderEndOffset: -1, brokerEpoch: -1 });
    }
    for (const id of [...this.followers.keys()]) if (!this.replicas.includes(id)) this.followers.delete(id);
  }

  // --- end of leadership ---------------------------------------------------------

  /** This node no longer leads the partition (new epoch, or not a replica): fail whatever waits. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelIsrCheck();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w.cancelTimer();
      w.reject(kafkaError('NOT_LEADER_OR_FOLLOWER', `this node no longer leads ${this.name}`));
    }
    this.wakeAppendWaiters();
  }

  /** Any append moves the log end past every waiting fetch offset (none waits beyond the end). */
  private wakeAppendWaiters(): void {
    for (const wake of [...this.appendWaiters]) wake();
  }
}
