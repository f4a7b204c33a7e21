/**
 * Replication throttling (Kafka's ReplicationQuotaManager, KIP-73): a byte rate shared by
 * every replica fetch of this broker for the partitions a topic lists as throttled, so that
 * moving a partition (a reassignment, a replica catching up) cannot take the bandwidth
 * producers and in-sync followers need.
 *
 * - Which partitions: the topic config `follower.replication.throttled.replicas` (or
 *   `leader.`) lists `partition:broker` pairs, or `*` for every replica of the topic. A
 *   follower throttles the partitions listed with its own broker id. As in Kafka, a
 *   replica in the ISR is never throttled: it is what acks=all waits for.
 * - How much: `follower.replication.throttled.rate` bytes/s, a token bucket that saves up
 *   at most THROTTLE_BURST_MS of the rate. A fetch may overdraw it (a batch comes whole);
 *   the debt holds throttled partitions back until the rate has paid it.
 */
import type { Clock } from '../clock.js';

/** The most of the rate an idle throttle saves up to spend at once, in ms of the rate. */
export const THROTTLE_BURST_MS = 1000;
/** Rates at or above this many bytes/s (Kafka's default is Long.MAX_VALUE) mean "not throttled". */
export const THROTTLE_RATE_UNLIMITED_BYTES_PER_S = Number.MAX_SAFE_INTEGER;

export class ReplicationThrottle {
  private tokens: number;
  private lastMs: number;
  private readonly capacity: number;

  constructor(private readonly rateBytesPerS: number, private readonly clock: Clock) {
    if (!(rateBytesPerS > 0)) throw new RangeError(`replication throttle rate ${rateBytesPerS} is not positive`);
    this.capacity = (rateBytesPerS * THROTTLE_BURST_MS) / 1000;
    this.tokens = this.capacity;
    this.lastMs = clock.nowMs();
  }

  /** Whether throttled partitions must wait: the bytes already fetched used up the rate. */
  isExceeded(): boolean {
    this.refill();
    return this.tokens <= 0;
  }

  /** Bytes fetched for throttled partitions. */
  record(bytes: number): void {
    this.refill();
    this.tokens -= bytes;
  }

  /** How long until throttled partitions may be fetched again, in ms (0: now). */
  delayMs(): number {
    this.refill();
    return this.tokens > 0 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rateBytesPerS);
  }

  private refill(): void {
    const now = this.clock.nowMs();
    if (now > this.lastMs) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.lastMs) * this.rateBytesPerS) / 1000);
    this.lastMs = now;
  }
}

/** A throttle for `rateBytesPerS`, or none when the rate is unlimited. */
export function replicationThrottle(rateBytesPerS: number, clock: Clock): ReplicationThrottle | undefined {
  return rateBytesPerS >= THROTTLE_RATE_UNLIMITED_BYTES_PER_S ? undefined : new ReplicationThrottle(rateBytesPerS, clock);
}

/** Whether a `*.replication.throttled.replicas` list names `partition` on `brokerId`. */
export function isThrottledReplica(list: readonly string[], partition: number, brokerId: number): boolean {
  return list.some((entry) => entry === '*' || entry === `${partition}:${brokerId}`);
}
