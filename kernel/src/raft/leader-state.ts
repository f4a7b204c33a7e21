/**
 * Leading an epoch. The leader learns each follower's progress from the fetch offsets of
 * validated Fetch requests, and from the same requests whether a majority still reaches it
 * (check-quorum). It commits only past `epochStartOffset`, the offset of its own
 * leader-change entry: Raft's rule that entries of older epochs are committed indirectly,
 * by committing one of the current epoch on top of them (Figure 8 of the Raft paper).
 *
 * The voter set may change while it leads (KIP-853, one voter at a time): majorities and
 * check-quorum are counted over the current set, from the moment its entry is appended.
 * A leader that removed itself counts neither its log nor its own contact.
 */
import { majorityOf, type NodeId } from './types.js';

/** Observers whose progress a leader remembers for DescribeQuorum; the least recent is forgotten first. */
const OBSERVERS_TRACKED_MAX = 1000;

interface ObserverProgress {
  endOffset: number;
  lastFetchMs: number;
  /** Last fetch at or past the high watermark of the moment, or null: what adding it as a voter needs. */
  lastCaughtUpMs: number | null;
}

interface ReplicaProgress {
  endOffset: number;
  /** Last Fetch in this epoch, or null before the first, when BeginQuorumEpoch is resent. */
  lastFetchMs: number | null;
}

export class LeaderState {
  readonly name = 'leader' as const;
  private readonly replicas = new Map<NodeId, ReplicaProgress>();
  /** Non-voters fetching the log, in order of their last fetch (oldest first). */
  private readonly observers = new Map<NodeId, ObserverProgress>();
  private selfVotes: boolean;
  /** When unflushed appends must be flushed, or null when everything is flushed. */
  flushAtMs: number | null = null;
  beginQuorumRetryAtMs: number;

  constructor(
    private readonly self: NodeId,
    voters: readonly NodeId[],
    readonly epochStartOffset: number,
    private readonly electedMs: number,
  ) {
    for (const v of voters) if (v !== self) this.replicas.set(v, { endOffset: 0, lastFetchMs: null });
    this.selfVotes = voters.includes(self);
    this.beginQuorumRetryAtMs = electedMs;
  }

  /**
   * The voter set changed (an entry appended, never truncated on a leader). A new voter
   * starts from what it fetched as an observer; a removed one is forgotten.
   */
  setVoters(voters: readonly NodeId[]): void {
    const next = new Set(voters);
    for (const id of [...this.replicas.keys()]) if (!next.has(id)) this.replicas.delete(id);
    for (const id of next) {
      if (id === this.self || this.replicas.has(id)) continue;
      const observed = this.observers.get(id);
      this.observers.delete(id);
      this.replicas.set(id, { endOffset: observed?.endOffset ?? 0, lastFetchMs: observed?.lastFetchMs ?? null });
    }
    this.selfVotes = next.has(this.self);
  }

  private voterCount(): number {
    return this.replicas.size + (this.selfVotes ? 1 : 0);
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
    const offsets = [...this.replicas.values()].map((p) => p.endOffset);
    if (this.selfVotes) offsets.push(selfFlushedOffset);
    offsets.sort((a, b) => b - a);
    return offsets[majorityOf(this.voterCount()) - 1]!;
  }

  /**
   * When the leader must resign unless more fetches arrive: the majority-th most recent
   * contact (the leader counting itself as contacted now) plus the timeout. A replica that
   * never fetched counts as contacted at the election, which gives it one full timeout.
   */
  checkQuorumDeadlineMs(nowMs: number, timeoutMs: number): number {
    const contacts = [...this.replicas.values()].map((p) => p.lastFetchMs ?? this.electedMs);
    if (this.selfVotes) contacts.push(nowMs);
    contacts.sort((a, b) => b - a);
    return contacts[majorityOf(this.voterCount()) - 1]! + timeoutMs;
  }

  /** An observer's fetch: reported by DescribeQuorum, counted for nothing. */
  recordObserverFetch(observer: NodeId, endOffset: number, nowMs: number, highWatermark: number): void {
    const lastCaughtUpMs = endOffset >= highWatermark ? nowMs : this.observers.get(observer)?.lastCaughtUpMs ?? null;
    this.observers.delete(observer);
    this.observers.set(observer, { endOffset, lastFetchMs: nowMs, lastCaughtUpMs });
    if (this.observers.size > OBSERVERS_TRACKED_MAX) this.observers.delete(this.observers.keys().next().value!);
  }

  observerProgress(): Array<{ readonly id: NodeId; readonly endOffset: number; readonly lastFetchMs: number }> {
    return [...this.observers].map(([id, p]) => ({ id, endOffset: p.endOffset, lastFetchMs: p.lastFetchMs }));
  }

  /** Whether an observer reached the high watermark within `windowMs`: it can vote without stalling commits. */
  isCaughtUpObserver(id: NodeId, nowMs: number, windowMs: number): boolean {
    const caughtUp = this.observers.get(id)?.lastCaughtUpMs ?? null;
    return caughtUp !== null && nowMs - caughtUp <= windowMs;
  }

  /** What the leader knows of each other voter, for DescribeQuorum. */
  progress(): Array<{ readonly id: NodeId; readonly endOffset: number; readonly lastFetchMs: number | null }> {
    return [...this.replicas].map(([id, p]) => ({ id, endOffset: p.endOffset, lastFetchMs: p.lastFetchMs }));
  }

  isVoter(id: NodeId): boolean {
    return id !== this.self && this.replicas.has(id);
  }
}
