/**
 * Leading an epoch. The leader learns each follower's progress from the fetch offsets of
 * validated Fetch requests, and from the same requests whether a majority still reaches it
 * (check-quorum). It commits only past `epochStartOffset`, the offset of its own
 * leader-change entry: Raft's rule that entries of older epochs are committed indirectly,
 * by committing one of the current epoch on top of them (Figure 8 of the Raft paper).
 */
import { majorityOf, type NodeId } from './types.js';

/** Observers whose progress a leader remembers for DescribeQuorum; the least recent is forgotten first. */
const OBSERVERS_TRACKED_MAX = 1000;

interface ReplicaProgress {
  endOffset: number;
  /** Last Fetch in this epoch, or null before the first, when BeginQuorumEpoch is resent. */
  lastFetchMs: number | null;
}

export class LeaderState {
  readonly name = 'leader' as const;
  private readonly replicas = new Map<NodeId, ReplicaProgress>();
  /** Non-voters fetching the log, in order of their last fetch (oldest first). */
  private readonly observers = new Map<NodeId, { endOffset: number; lastFetchMs: number }>();
  /** When unflushed appends must be flushed, or null when everything is flushed. */
  flushAtMs: number | null = null;
  beginQuorumRetryAtMs: number;

  constructor(
    private readonly self: NodeId,
    private readonly voters: readonly NodeId[],
    readonly epochStartOffset: number,
    private readonly electedMs: number,
  ) {
    for (const v of voters) if (v !== self) this.replicas.set(v, { endOffset: 0, lastFetchMs: null });
    this.beginQuorumRetryAtMs = electedMs;
  }

  recordFetch(replica: NodeId, endOffset: number, nowMs: number): void {
    const progress = this.replicas.get(replica);
    if (progress === undefined) return;
    progress.endOffset = endOffset;
    progress.lastFetchMs = nowMs;
  }

  /** A voter's fetch that acknowledges nothing (it needs a snapshot) but shows it reaches this leader. */
  recordContact(replica: NodeId, nowMs: number): void {
    const progress = this.replicas.get(replica);
    if (progress !== undefined) progress.lastFetchMs = nowMs;
  }

  /** Voters that have not fetched in this epoch yet and so may not know it began. */
  unacknowledged(): NodeId[] {
    return [...this.replicas].filter(([, p]) => p.lastFetchMs === null).map(([id]) => id);
  }

  /** The largest offset that a majority of voters, this leader included, have durably. */
  majorityEndOffset(selfFlushedOffset: number): number {
    const offsets = [selfFlushedOffset, ...[...this.replicas.values()].map((p) => p.endOffset)];
    offsets.sort((a, b) => b - a);
    return offsets[majorityOf(this.voters.length) - 1]!;
  }

  /**
   * When the leader must resign unless more fetches arrive: the majority-th most recent
   * contact (the leader counting itself as contacted now) plus the timeout. A replica that
   * never fetched counts as contacted at the election, which gives it one full timeout.
   */
  checkQuorumDeadlineMs(nowMs: number, timeoutMs: number): number {
    const contacts = [nowMs, ...[...this.replicas.values()].map((p) => p.lastFetchMs ?? this.electedMs)];
    contacts.sort((a, b) => b - a);
    return contacts[majorityOf(this.voters.length) - 1]! + timeoutMs;
  }

  /** An observer's fetch: reported by DescribeQuorum, counted for nothing. */
  recordObserverFetch(observer: NodeId, endOffset: number, nowMs: number): void {
    this.observers.delete(observer);
    this.observers.set(observer, { endOffset, lastFetchMs: nowMs });
    if (this.observers.size > OBSERVERS_TRACKED_MAX) this.observers.delete(this.observers.keys().next().value!);
  }

  observerProgress(): Array<{ readonly id: NodeId; readonly endOffset: number; readonly lastFetchMs: number }> {
    return [...this.observers].map(([id, p]) => ({ id, ...p }));
  }

  /** What the leader knows of each other voter, for DescribeQuorum. */
  progress(): Array<{ readonly id: NodeId; readonly endOffset: number; readonly lastFetchMs: number | null }> {
    return [...this.replicas].map(([id, p]) => ({ id, endOffset: p.endOffset, lastFetchMs: p.lastFetchMs }));
  }

  isVoter(id: NodeId): boolean {
    return id !== this.self && this.replicas.has(id);
  }
}
