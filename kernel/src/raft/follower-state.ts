/**
 * Following a known leader in the current epoch. The follower drives replication: it sends
 * one Fetch at a time and treats the time since its last successful fetch as the leader's
 * liveness, both to time out (fetch timeout) and to refuse pre-votes while the leader is fine.
 */
import type { NodeId, OffsetAndEpoch } from './types.js';

/** A snapshot being fetched from the leader, chunk by chunk. */
export interface SnapshotDownload {
  readonly id: OffsetAndEpoch;
  readonly chunks: Uint8Array[];
  /** Bytes received so far: the position of the next chunk. */
  position: number;
}

export class FollowerState {
  readonly name = 'follower' as const;
  /** When the in-flight Fetch was sent, or null when none is outstanding. */
  fetchSentMs: number | null = null;
  nextFetchMs: number;
  /**
   * Null until a fetch from this leader succeeds. A leader only heard of (from a peer or a
   * BeginQuorumEpoch) gets one fetch timeout to prove itself but is not vouched for to
   * others: peers that timed out could otherwise keep reviving a dead leader for each other.
   */
  lastFetchSuccessMs: number | null = null;
  /** While set, the follower fetches this snapshot instead of the log. */
  snapshot: SnapshotDownload | null = null;
  /**
   * Set when the leader announced it is stepping down (EndQuorumEpoch): from then on the
   * leader is not live for pre-votes, and the fetch timeout falls at this time at the latest.
   */
  leaderEndedAtMs: number | null = null;

  constructor(readonly leaderId: NodeId, private readonly sinceMs: number) {
    this.nextFetchMs = sinceMs;
  }

  fetchTimeoutAtMs(fetchTimeoutMs: number): number {
    return Math.min((this.lastFetchSuccessMs ?? this.sinceMs) + fetchTimeoutMs, this.leaderEndedAtMs ?? Infinity);
  }

  hasLiveLeader(nowMs: number, fetchTimeoutMs: number): boolean {
    return this.leaderEndedAtMs === null && this.lastFetchSuccessMs !== null && nowMs < this.lastFetchSuccessMs + fetchTimeoutMs;
  }
}
