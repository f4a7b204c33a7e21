/**
 * Partition replication on one node (Kafka's ReplicaManager): follows the partition states
 * of the metadata image and makes each local replica a leader or a follower.
 *
 * - A partition this node replicates gets its local log (`openLog`), then:
 *   leader with more than one replica: a PartitionLeader takes the log over (ISR, high
 *   watermark, acks=all); leader of a single replica: the log stays standalone, exactly the
 *   single-node behaviour (high watermark = flushed offset, group commit), until replicas
 *   join (a reassignment, same leader epoch) and a PartitionLeader takes over; follower: the log
 *   refuses producers and consumers and a ReplicaFetcher for the leader broker feeds it.
 * - A partition this node no longer replicates (or whose topic is gone) stops and its log
 *   is handed to `dropLog`.
 * - `partition.leadership` events announce every leadership gained (per leader epoch) and
 *   lost, after the log has changed role.
 * - `handleReplicaFetch` answers followers: each partition from its PartitionLeader, held
 *   up to the request's wait (at most REPLICA_FETCH_WAIT_MS_MAX) until one of them has data.
 *   Partitions the topic lists in leader.replication.throttled.replicas for this broker are
 *   answered without records, to a follower out of the ISR, while the broker's leader
 *   throttle (leader.replication.throttled.rate) is used up (replication-throttle.ts).
 */
import type { AlterPartitionRequest, AlterPartitionResponse, Logger, ReplicaFetchRequest, ReplicaFetchResponse } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { ErrorCode } from '../errors.js';
import type { KernelEventBus } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import { PartitionLeader, type ReplicaFetchPartitionResult } from './partition-leader.js';
import { partitionKey, ReplicaFetcher, type ReplicaFetchSettings } from './replica-fetcher.js';
import type { ReplicaTimer } from './replica-timer.js';
import { isThrottledReplica, replicationThrottle, type ReplicationThrottle } from './replication-throttle.js';

/** Longest a leader holds a follower's fetch without new data, whatever the follower asks. */
export const REPLICA_FETCH_WAIT_MS_MAX = 10_000;

/** A partition as the metadata image has it (metadata-image.ts PartitionState, with its names). */
export interface ReplicaPartitionState {
  readonly topic: string;
  readonly topicId: Uint8Array;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** -1: no leader (the ISR is empty of live brokers). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface ReplicationSettings extends ReplicaFetchSettings {
  /** replica.lag.time.max.ms */
  readonly replicaLagTimeMaxMs: number;
  /** follower.replication.throttled.rate, bytes/s; absent: unlimited. */
  readonly followerThrottledRateBytesPerS?: number;
  /** leader.replication.throttled.rate, bytes/s; absent: unlimited. */
  readonly leaderThrottledRateBytesPerS?: number;
}

/** The replica.* (and follower.replication.throttled.rate) broker keys as the replica manager takes them. */
export function replicationSettings(config: BrokerConfig): ReplicationSettings {
  return {
    replicaLagTimeMaxMs: config.replicaLagTimeMaxMs, waitMaxMs: config.replicaFetchWaitMaxMs, minBytes: config.replicaFetchMinBytes,
    partitionMaxBytes: config.replicaFetchMaxBytes, responseMaxBytes: config.replicaFetchResponseMaxBytes,
    backoffMs: config.replicaFetchBackoffMs, requestTimeoutMs: config.replicaSocketTimeoutMs,
    followerThrottledRateBytesPerS: config.followerReplicationThrottledRate,
    leaderThrottledRateBytesPerS: config.leaderReplicationThrottledRate,
  };
}

export interface ReplicaManagerOptions {
  readonly nodeId: number;
  /** This broker's epoch from its registration; fetches and AlterPartition carry it. */
  readonly brokerEpoch: () => number;
  /** The local log of a partition this node replicates, created empty if it does not exist. */
  readonly openLog: (topic: string, topicId: Uint8Array, partition: number) => PartitionLog;
  /** This node no longer replicates the partition: close and delete its log. */
  readonly dropLog: (topic: string, partition: number) => Promise<void>;
  readonly alterPartition: (request: AlterPartitionRequest) => Promise<AlterPartitionResponse>;
  /** Sends a replica fetch to another node (the `cluster.transport`, node id mapped to its address). */
  readonly fetchFrom: (leaderId: number, request: ReplicaFetchRequest, timeoutMs: number) => Promise<ReplicaFetchResponse>;
  readonly events: KernelEventBus;
  readonly clock: Clock;
  readonly timer: ReplicaTimer;
  readonly settings: ReplicationSettings;
  readonly logger: Logger;
}

interface Replica {
  readonly topic: string;
  readonly topicId: Uint8Array;
  readonly partition: number;
  readonly log: PartitionLog;
  state: ReplicaPartitionState;
  /** Set while this node leads a partition of more than one replica. */
  leader: PartitionLeader | undefined;
  /** Whether this node leads (with or without a PartitionLeader). */
  leading: boolean;
  /** The fetcher feeding this follower, if it follows a live leader. */
  fetcher: ReplicaFetcher | undefined;
}

export class ReplicaManager {
  private readonly replicas = new Map<string, Replica>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** One follower throttle for the broker, shared by its fetchers as Kafka's quota is. */
  private readonly throttle: ReplicationThrottle | undefined;
  /** One leader throttle for the broker, shared by every follower's fetch it answers. */
  private readonly leaderThrottle: ReplicationThrottle | undefined;
  private closed = false;

  constructor(private readonly opts: ReplicaManagerOptions) {
    const { followerThrottledRateBytesPerS: followerRate, leaderThrottledRateBytesPerS: leaderRate } = opts.settings;
    this.throttle = followerRate === undefined ? undefined : replicationThrottle(followerRate, opts.clock);
    this.leaderThrottle = leaderRate === undefined ? undefined : replicationThrottle(leaderRate, opts.clock);
  }

  /** The leader side of a partition this node leads with followers, if any. */
  leaderOf(topic: string, partition: number): PartitionLeader | undefined {
    return this.replicas.get(partitionKey(topic, partition))?.leader;
  }

  /** The local log of a partition this node replicates, leader or follower. */
  logOf(topic: string, partition: number): PartitionLog | undefined {
    return this.replicas.get(partitionKey(topic, partition))?.log;
  }

  isLeader(topic: string, partition: number): boolean {
    return this.replicas.get(partitionKey(topic, partition))?.leading ?? false;
  }

  /** Partitions this node replicates, as `topic\0partition` keys (see `partitionKey`). */
  hostedKeys(): readonly string[] {
    return [...this.replicas.keys()];
  }

  /**
   * Applies the image's state of one partition. Call it for every partition of every topic
   * when the image changes (unchanged ones cost a comparison), and `removePartition` for
   * partitions that left the image.
   */
  async applyPartition(state: ReplicaPartitionState): Promise<void> {
    if (this.closed) return;
    const key = partitionKey(state.topic, state.partition);
    let replica = this.replicas.get(key);
    if (!state.replicas.includes(this.opts.nodeId)) {
      if (replica !== undefined) await this.removePartition(state.topic, state.partition);
      return;
    }
    if (replica === undefined) {
      const log = this.opts.openLog(state.topic, state.topicId, state.partition);
      replica = { topic: state.topic, topicId: state.topicId, partition: state.partition, log, state, leader: undefined,
        leading: false, fetcher: undefined };
      this.replicas.set(key, replica);
    } else if (state.leaderEpoch < replica.state.leaderEpoch
      || (state.leaderEpoch === replica.state.leaderEpoch && state.partitionEpoch < replica.state.partitionEpoch)) {
      return;
    } else if (state.leaderEpoch === replica.state.leaderEpoch && state.leader === replica.state.leader
      && (replica.leading || replica.fetcher !== undefined || state.leader < 0)) {
      replica.state = state;
      // Replicas added (a reassignment) do not change the leader epoch: a standalone leader
      // that gains followers needs a PartitionLeader now, and one left alone goes standalone.
      if (replica.leading && (replica.leader === undefined) !== (state.replicas.length === 1)) this.startLeading(replica);
      else replica.leader?.applyState(state);
      return;
    }
    replica.state = state;
    if (state.leader === this.opts.nodeId) this.makeLeader(replica);
    else this.makeFollower(replica);
  }

  private makeLeader(replica: Replica): void {
    const { state } = replica;
    this.stopFetching(replica);
    this.startLeading(replica);
    replica.leading = true;
    this.opts.logger.info('leading partition', { topic: state.topic, partition: state.partition, leaderEpoch: state.leaderEpoch });
    this.opts.events.emit('partition.leadership', { topic: state.topic, partition: state.partition, leader: true, leaderEpoch: state.leaderEpoch });
  }

  /** The leader side for the partition's current replicas: standalone alone, else a PartitionLeader. */
  private startLeading(replica: Replica): void {
    const { state, log } = replica;
    replica.leader?.stop();
    if (state.replicas.length === 1) {
      replica.leader = undefined;
      log.becomeLeader(state.leaderEpoch, undefined);
    } else {
      replica.leader = new PartitionLeader({
        log, topicId: state.topicId, nodeId: this.opts.nodeId, state, brokerEpoch: this.opts.brokerEpoch,
        alterPartition: this.opts.alterPartition, clock: this.opts.clock, timer: this.opts.timer,
        replicaLagTimeMaxMs: this.opts.settings.replicaLagTimeMaxMs, logger: this.opts.logger,
      });
    }
  }

  private makeFollower(replica: Replica): void {
    const { state, log } = replica;
    const wasLeading = replica.leading;
    replica.leader?.stop();
    replica.leader = undefined;
    replica.leading = false;
    this.stopFetching(replica);
    log.becomeFollower(state.leaderEpoch);
    if (wasLeading) {
      this.opts.events.emit('partition.leadership', { topic: state.topic, partition: state.partition, leader: false, leaderEpoch: state.leaderEpoch });
    }
    if (state.leader < 0) return;
    let fetcher = this.fetchers.get(state.leader);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher({
        nodeId: this.opts.nodeId, leaderId: state.leader, brokerEpoch: this.opts.brokerEpoch, call: this.opts.fetchFrom,
        timer: this.opts.timer, settings: this.opts.settings, logger: this.opts.logger,
        ...(this.throttle !== undefined ? { throttle: this.throttle } : {}),
      });
      this.fetchers.set(state.leader, fetcher);
    }
    replica.fetcher = fetcher;
    fetcher.add({
      topic: state.topic, topicId: state.topicId, partition: state.partition, leaderEpoch: state.leaderEpoch, log,
      inSync: () => replica.state.isr.includes(this.opts.nodeId),
    });
  }

  private stopFetching(replica: Replica): void {
    const fetcher = replica.fetcher;
    if (fetcher === undefined) return;
    replica.fetcher = undefined;
    fetcher.remove(replica.topic, replica.partition);
    if (fetcher.size === 0) {
      fetcher.stop();
      this.fetchers.delete(fetcher.leaderId);
    }
  }

  /** This node no longer replicates the partition (reassigned, or its topic deleted). */
  async removePartition(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    const replica = this.replicas.get(key);
    if (replica === undefined) return;
    this.replicas.delete(key);
    this.stopFetching(replica);
    replica.leader?.stop();
    if (replica.leading) {
      this.opts.events.emit('partition.leadership', { topic, partition, leader: false, leaderEpoch: replica.state.leaderEpoch });
    }
    await this.opts.dropLog(topic, partition);
  }

  /**
   * A follower's fetch (`replica.fetch`): every partition answered by its leader here, the
   * whole request held until one has data past its fetch offset, the request's wait passes
   * or `signal` aborts (the connection closed).
   */
  async handleReplicaFetch(request: ReplicaFetchRequest, signal?: AbortSignal): Promise<ReplicaFetchResponse> {
    const throttled = new Set<string>();
    let answers = this.fetchAll(request, throttled);
    const waitMs = Math.min(request.maxWaitMs, REPLICA_FETCH_WAIT_MS_MAX);
    if (waitMs <= 0 || signal?.aborted || !this.shouldWait(request, answers)) return { errorCode: 0, partitions: answers };
    const waiting = new AbortController();
    const cancelTimer = this.opts.timer.after(waitMs, () => waiting.abort());
    const onAbort = (): void => waiting.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const waits: Promise<void>[] = [];
    for (const p of request.partitions) {
      // A throttled partition's data is there already: it waits for the rate, not for appends.
      if (throttled.has(partitionKey(p.topic, p.partition))) continue;
      const leader = this.leaderOf(p.topic, p.partition);
      if (leader !== undefined) waits.push(leader.waitForAppend(p.fetchOffset, waiting.signal));
    }
    if (waits.length > 0) await Promise.race(waits);
    else if (throttled.size > 0) {
      // Only throttled partitions: hold the whole wait, so the follower does not ask again at once.
      await new Promise<void>((resolve) => waiting.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    waiting.abort();
    cancelTimer();
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted || this.closed) return { errorCode: 0, partitions: answers };
    answers = this.fetchAll(request);
    return { errorCode: 0, partitions: answers };
  }

  /** Hold the fetch only when it would return too little and nothing went wrong. */
  private shouldWait(request: ReplicaFetchRequest, answers: readonly ReplicaFetchPartitionResult[]): boolean {
    let bytes = 0;
    for (const a of answers) {
      if (a.errorCode !== 0 || a.divergingEpoch !== null) return false;
      bytes += a.records.byteLength;
    }
    return bytes < Math.max(1, request.minBytes);
  }

  /** Each partition's answer; `throttled` collects the partitions the leader throttle answered without records. */
  private fetchAll(request: ReplicaFetchRequest, throttled?: Set<string>): ReplicaFetchPartitionResult[] {
    let budget = request.maxBytes;
    return request.partitions.map((p) => {
      const leader = this.leaderOf(p.topic, p.partition);
      if (leader === undefined) {
        const errorCode = this.replicas.has(partitionKey(p.topic, p.partition))
          ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return { topic: p.topic, partition: p.partition, errorCode, highWatermark: -1, logStartOffset: -1, divergingEpoch: null,
          records: new Uint8Array(0) };
      }
      let answer = leader.handleFetch(request.replicaId, request.brokerEpoch, p, budget);
      const throttle = this.leaderThrottle;
      if (throttle !== undefined && answer.records.byteLength > 0
        && isThrottledReplica(leader.log.config.leaderReplicationThrottledReplicas, p.partition, this.opts.nodeId)
        && !leader.inSyncReplicas.includes(request.replicaId)) {
        // Kafka's leader throttle: the follower's progress counts, its data waits for the rate.
        if (throttle.isExceeded()) {
          answer = { ...answer, records: new Uint8Array(0) };
          throttled?.add(partitionKey(p.topic, p.partition));
        } else {
          throttle.record(answer.records.byteLength);
        }
      }
      budget -= answer.records.byteLength;
      return answer;
    });
  }

  /** Stops every fetcher and leader; the logs stay open (the log manager closes them). */
  close(): void {
    this.closed = true;
    for (const fetcher of this.fetchers.values()) fetcher.stop();
    this.fetchers.clear();
    for (const replica of this.replicas.values()) replica.leader?.stop();
  }
}
