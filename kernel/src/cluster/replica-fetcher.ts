/**
 * The follower side of replication: one fetcher per leader broker fetches every partition
 * this node follows from that leader in one `replica.fetch` request at a time (Kafka's
 * ReplicaFetcherThread), and applies the answer partition by partition:
 * - a diverging epoch: truncate to min(the leader's end offset of that epoch, our end offset
 *   for it), then fetch again from there (KIP-320: the next fetch checks the new end);
 * - records: append them with the leader's offsets and epochs (`appendAsFollower`);
 * - the high watermark: min(the leader's, our log end);
 * - an error: the partition backs off for replica.fetch.backoff.ms and retries, until the
 *   metadata names a new leader (the replica manager then moves it to another fetcher).
 *
 * Throttling (replication-throttle.ts): while the broker's follower throttle is used up,
 * fetches leave out the partitions throttled here (listed in the topic's
 * follower.replication.throttled.replicas for this broker, and out of the ISR); the bytes
 * fetched for them are charged to it.
 *
 * Durability: a follower does not fsync what it fetches. Replication is the durability in a
 * cluster: an acknowledged write is on the leader's disk (the leader counts only what it
 * flushed) and in the memory of every in-sync follower, and a follower that crashes is
 * dropped from the ISR by the controller before it can lead. The fetch offset a follower
 * reports is exactly what it appended, nothing more.
 */
import type { Logger, ReplicaFetchRequest, ReplicaFetchResponse } from '@sluice/sdk';
import { ErrorCode } from '../errors.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { ReplicaTimer } from './replica-timer.js';
import { isThrottledReplica, type ReplicationThrottle } from './replication-throttle.js';

export interface ReplicaFetchSettings {
  /** replica.fetch.wait.max.ms: how long the leader may hold a fetch without new data. */
  readonly waitMaxMs: number;
  /** replica.fetch.min.bytes */
  readonly minBytes: number;
  /** replica.fetch.max.bytes: per partition. */
  readonly partitionMaxBytes: number;
  /** replica.fetch.response.max.bytes: per request. */
  readonly responseMaxBytes: number;
  /** replica.fetch.backoff.ms: after a failed fetch or a partition error. */
  readonly backoffMs: number;
  /** How long a fetch may take on the wire beyond its wait before it counts as failed. */
  readonly requestTimeoutMs: number;
}

/** A partition this node follows, in one leader epoch. */
export interface FollowedPartition {
  readonly topic: string;
  readonly topicId: Uint8Array;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly log: PartitionLog;
  /** Whether this replica is in the ISR now (in-sync replicas are never throttled); out of it when absent. */
  readonly inSync?: () => boolean;
}

export interface ReplicaFetcherOptions {
  readonly nodeId: number;
  readonly leaderId: number;
  readonly brokerEpoch: () => number;
  /** The transport: sends a fetch to `leaderId` and resolves with its answer. */
  readonly call: (leaderId: number, request: ReplicaFetchRequest, timeoutMs: number) => Promise<ReplicaFetchResponse>;
  readonly timer: ReplicaTimer;
  readonly settings: ReplicaFetchSettings;
  readonly logger: Logger;
  /** The broker's follower.replication.throttled.rate, shared by its fetchers; none: unlimited. */
  readonly throttle?: ReplicationThrottle;
}

interface Fetching {
  readonly followed: FollowedPartition;
  /** Set for replica.fetch.backoff.ms after a partition error: fetches leave the partition out. */
  backingOff: boolean;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class ReplicaFetcher {
  private readonly partitions = new Map<string, Fetching>();
  private running = false;
  private stopped = false;
  /** Wakes the loop when it idles (no partition to fetch, or all backing off). */
  private wakeLoop: (() => void) | undefined;
  private cancelBackoff: () => void = () => {};

  constructor(private readonly opts: ReplicaFetcherOptions) {}

  get leaderId(): number {
    return this.opts.leaderId;
  }

  get size(): number {
    return this.partitions.size;
  }

  /** Starts (or restarts, in a new epoch) fetching a partition; replaces its previous state. */
  add(followed: FollowedPartition): void {
    this.partitions.set(partitionKey(followed.topic, followed.partition), { followed, backingOff: false });
    this.wake();
    if (!this.running && !this.stopped) {
      this.running = true;
      void this.run();
    }
  }

  remove(topic: string, partition: number): void {
    this.partitions.delete(partitionKey(topic, partition));
  }

  stop(): void {
    this.stopped = true;
    this.partitions.clear();
    this.cancelBackoff();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const ready = [...this.partitions.values()].filter((f) => !f.backingOff);
      const throttle = this.opts.throttle;
      const sent = throttle?.isExceeded() === true ? ready.filter((f) => !this.isThrottled(f)) : ready;
      if (sent.length === 0) {
        if (ready.length > 0) await this.pause(throttle!.delayMs());
        else {
          await new Promise<void>((resolve) => {
            this.wakeLoop = resolve;
          });
        }
        continue;
      }
      const request = this.buildRequest(sent);
      let response: ReplicaFetchResponse;
      try {
        response = await this.opts.call(this.opts.leaderId, request, this.opts.settings.waitMaxMs + this.opts.settings.requestTimeoutMs);
      } catch (err) {
        if (this.stopped) break;
        this.opts.logger.debug('replica fetch failed', { leader: this.opts.leaderId, error: (err as Error).message });
        await this.pause(this.opts.settings.backoffMs);
        continue;
      }
      if (this.stopped) break;
      if (response.errorCode !== 0) {
        this.opts.logger.debug('replica fetch refused', { leader: this.opts.leaderId, errorCode: response.errorCode });
        await this.pause(this.opts.settings.backoffMs);
        continue;
      }
      for (const answer of response.partitions) {
        const fetching = this.partitions.get(partitionKey(answer.topic, answer.partition));
        // Removed or re-added (a new epoch) while the fetch was out: the answer is stale.
        if (fetching === undefined || !sent.includes(fetching)) continue;
        if (throttle !== undefined && answer.records.byteLength > 0 && this.isThrottled(fetching)) throttle.record(answer.records.byteLength);
        this.apply(fetching, answer);
      }
    }
    this.running = false;
  }

  private buildRequest(sent: readonly Fetching[]): ReplicaFetchRequest {
    const s = this.opts.settings;
    return {
      replicaId: this.opts.nodeId, brokerEpoch: this.opts.brokerEpoch(), maxWaitMs: s.waitMaxMs, minBytes: s.minBytes,
      maxBytes: s.responseMaxBytes,
      partitions: sent.map(({ followed: f }) => ({
        topic: f.topic, topicId: f.topicId, partition: f.partition, currentLeaderEpoch: f.leaderEpoch,
        fetchOffset: f.log.logEndOffset, lastFetchedEpoch: f.log.epochCache.latest?.epoch ?? -1,
        logStartOffset: f.log.logStartOffset, partitionMaxBytes: s.partitionMaxBytes,
      })),
    };
  }

  private apply(fetching: Fetching, answer: ReplicaFetchResponse['partitions'][number]): void {
    const log = fetching.followed.log;
    try {
      if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && answer.logStartOffset > log.logEndOffset) {
        // The leader deleted what we would fetch next: start over where its log starts.
        log.truncateFullyAndStartAt(answer.logStartOffset);
        return;
      }
      if (answer.errorCode !== 0) {
        this.opts.logger.debug('replica fetch partition error', {
          topic: answer.topic, partition: answer.partition, errorCode: answer.errorCode, leader: this.opts.leaderId,
        });
        this.backoffPartition(fetching);
        return;
      }
      if (answer.divergingEpoch !== null) {
        this.truncateOnDivergence(log, answer.divergingEpoch);
        return;
      }
      if (answer.records.byteLength > 0) log.appendAsFollower(answer.records);
      log.setHighWatermark(Math.min(answer.highWatermark, log.logEndOffset));
      if (answer.logStartOffset > log.logStartOffset && answer.logStartOffset <= log.highWatermark) {
        log.advanceLogStartOffset(answer.logStartOffset);
      }
    } catch (err) {
      this.opts.logger.warn('applying a replica fetch failed', {
        topic: answer.topic, partition: answer.partition, error: (err as Error).message,
      });
      this.backoffPartition(fetching);
    }
  }

  private truncateOnDivergence(log: PartitionLog, diverging: { readonly epoch: number; readonly endOffset: number }): void {
    const ours = log.endOffsetForEpoch(diverging.epoch);
    // Neither side knows an epoch both share: nothing of ours is known to match the leader.
    const to = diverging.epoch < 0 || ours.epoch < 0 ? log.logStartOffset : Math.min(diverging.endOffset, ours.endOffset);
    this.opts.logger.info('truncating on a diverging epoch', {
      topic: log.topic, partition: log.partition, epoch: diverging.epoch, leaderEndOffset: diverging.endOffset, to,
    });
    log.truncateTo(to);
  }

  private backoffPartition(fetching: Fetching): void {
    fetching.backingOff = true;
    this.opts.timer.after(this.opts.settings.backoffMs, () => {
      fetching.backingOff = false;
      this.wake();
    });
  }

  private isThrottled({ followed }: Fetching): boolean {
    return isThrottledReplica(followed.log.config.followerReplicationThrottledReplicas, followed.partition, this.opts.nodeId)
      && followed.inSync?.() !== true;
  }

  /** Waits `ms` (a backoff, or for the throttle to refill); `stop` ends the wait. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.opts.timer.after(ms, () => {
        this.cancelBackoff = () => {};
        resolve();
      });
      this.cancelBackoff = () => {
        cancel();
        resolve();
      };
    });
  }
}
