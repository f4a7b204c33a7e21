/**
 * What every group type has in common for the coordinator: its committed offsets, the
 * commits still being written, and what Kafka's retention and delete rules ask of it.
 * Classic and consumer (KIP-848) groups share one offsets store per group id, so the
 * coordinator's commit, fetch, expiry and delete paths do not care which type a group is.
 */
import type { CommittedOffset } from './storage-records.js';

export type GroupType = 'classic' | 'consumer';

export abstract class GroupOffsets {
  /** Committed offsets by topic and partition. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** Commits appended but not yet durable, per "topic:partition": they are neither visible nor expirable. */
  readonly pendingCommits = new Map<string, number>();

  abstract readonly groupId: string;
  abstract readonly type: GroupType;
  /** Kafka's state name for the group type ('Empty' and 'Dead' mean the same for both). */
  abstract get state(): string;
  /** Which committed offsets `offsets.retention.minutes` has expired at `nowMs`. */
  abstract expiredOffsets(nowMs: number): Array<{ topic: string; partition: number }>;
  /** Whether OffsetDelete must keep this topic's offsets (GROUP_SUBSCRIBED_TO_TOPIC). */
  abstract isSubscribedTo(topic: string): boolean;
  /** Dead for good: pending requests are answered, timers cancelled. */
  abstract markDead(): void;
  /** Cancels every deadline and answers whatever waits with `errorCode`. */
  abstract stop(errorCode: number): void;

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, value: CommittedOffset | null): void {
    let byPartition = this.offsets.get(topic);
    if (value === null) {
      byPartition?.delete(partition);
      if (byPartition?.size === 0) this.offsets.delete(topic);
      return;
    }
    if (byPartition === undefined) this.offsets.set(topic, (byPartition = new Map()));
    byPartition.set(partition, value);
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0 || this.pendingCommits.size > 0;
  }

  /**
   * Offsets of topics not in `keep` that are past retention counted from `base`, or past
   * their own expire timestamp; commits still in flight are never expired.
   */
  protected expiredSince(nowMs: number, retentionMs: number, base: (o: CommittedOffset) => number, keep: ReadonlySet<string>): Array<{ topic: string; partition: number }> {
    const out: Array<{ topic: string; partition: number }> = [];
    for (const [topic, byPartition] of this.offsets) {
      if (keep.has(topic)) continue;
      for (const [partition, o] of byPartition) {
        if (this.pendingCommits.has(`${topic}:${partition}`)) continue;
        const expired = o.expireTimestampMs !== null ? nowMs >= o.expireTimestampMs : nowMs - base(o) >= retentionMs;
        if (expired) out.push({ topic, partition });
      }
    }
    return out;
  }
}
