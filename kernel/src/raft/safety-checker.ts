/**
 * The simulator's oracle: Raft's safety properties (Raft paper, Figure 3) checked as the
 * cluster runs, so that a violation is reported at the event that caused it rather than
 * inferred from a final state. Every check is incremental, which is what lets thousands of
 * seeds run per CI job.
 */
import type { LogEntry, NodeId } from './types.js';
import { decodeVotersRecord, VoterSet } from './voter-set.js';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

interface EntryIdentity {
  readonly kind: LogEntry['kind'];
  readonly data: string;
  readonly prevEpoch: number;
}

function dataKey(entry: LogEntry): string {
  return Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength).toString('hex');
}

function sameEntry(a: LogEntry, b: LogEntry): boolean {
  return a.epoch === b.epoch && a.offset === b.offset && a.kind === b.kind && dataKey(a) === dataKey(b);
}

export class SafetyChecker {
  private readonly leaderOfEpoch = new Map<number, NodeId>();
  private readonly entryAt = new Map<string, EntryIdentity>();
  /** Every entry any node reported committed, by offset. */
  readonly committed: LogEntry[] = [];
  private readonly nextApply = new Map<NodeId, number>();
  private readonly lastHighWatermark = new Map<NodeId, number>();
  /** The voter set of the last committed voters entry (the bootstrap set before one). */
  private committedVotersValue: VoterSet;

  constructor(bootstrapVoters: VoterSet = VoterSet.ofIds([])) {
    this.committedVotersValue = bootstrapVoters;
  }

  committedVoters(): VoterSet {
    return this.committedVotersValue;
  }

  /**
   * Election Safety (at most one leader per epoch); and Leader Completeness, checked when a
   * leader is first seen: its log must hold every entry committed so far. True for a new leader.
   */
  observeLeader(id: NodeId, epoch: number, entryAt: (offset: number) => LogEntry | undefined): boolean {
    const known = this.leaderOfEpoch.get(epoch);
    if (known === id) return false;
    if (known !== undefined) throw new SafetyViolation(`two leaders in epoch ${epoch}: ${known} and ${id}`);
    this.leaderOfEpoch.set(epoch, id);
    for (const entry of this.committed) {
      const local = entryAt(entry.offset);
      if (local === undefined || !sameEntry(local, entry)) {
        throw new SafetyViolation(`leader ${id} of epoch ${epoch} lacks committed offset ${entry.offset}`);
      }
    }
    return true;
  }

  /**
   * Log Matching, by induction: if an (offset, epoch) pair always names the same entry
   * with the same epoch before it, two logs agreeing on an entry agree on all before it.
   */
  observeAppend(id: NodeId, entry: LogEntry, prevEpoch: number): void {
    const key = `${entry.offset}:${entry.epoch}`;
    const identity: EntryIdentity = { kind: entry.kind, data: dataKey(entry), prevEpoch };
    const known = this.entryAt.get(key);
    if (known === undefined) {
      this.entryAt.set(key, identity);
      return;
    }
    if (known.kind !== identity.kind || known.data !== identity.data || known.prevEpoch !== prevEpoch) {
      throw new SafetyViolation(`node ${id} appended a different entry at offset ${entry.offset} epoch ${entry.epoch}`);
    }
  }

  /** A committed entry may never leave a log that holds it, by truncation or by a crash. */
  observeRemoval(id: NodeId, removed: readonly LogEntry[], cause: string): void {
    for (const entry of removed) {
      const committed = this.committed[entry.offset];
      if (committed !== undefined && sameEntry(committed, entry)) {
        throw new SafetyViolation(`node ${id} lost committed offset ${entry.offset} by ${cause}`);
      }
    }
  }

  /** State Machine Safety: every node applies the same entry at an offset, in order, once. */
  observeCommit(id: NodeId, entries: readonly LogEntry[], highWatermark: number): void {
    let next = this.nextApply.get(id) ?? 0;
    for (const entry of entries) {
      if (entry.offset !== next) throw new SafetyViolation(`node ${id} applied offset ${entry.offset}, expected ${next}`);
      const known = this.committed[entry.offset];
      if (known === undefined) this.recordCommitted(entry);
      else if (!sameEntry(known, entry)) {
        throw new SafetyViolation(`node ${id} applied a different entry at committed offset ${entry.offset}`);
      }
      next++;
    }
    if (next !== highWatermark) throw new SafetyViolation(`node ${id} applied up to ${next}, high watermark ${highWatermark}`);
    this.nextApply.set(id, next);
  }

  /** The high watermark of one process never goes back. */
  observeHighWatermark(id: NodeId, highWatermark: number): void {
    const last = this.lastHighWatermark.get(id) ?? 0;
    if (highWatermark < last) throw new SafetyViolation(`node ${id} high watermark went back from ${last} to ${highWatermark}`);
    this.lastHighWatermark.set(id, highWatermark);
  }

  /** A restarted process rebuilds its state from its latest snapshot (offset 0 without one) with no high watermark. */
  observeRestart(id: NodeId, fromOffset = 0): void {
    this.nextApply.set(id, fromOffset);
    this.lastHighWatermark.delete(id);
  }

  /**
   * A snapshot a node stored or installed: it holds committed entries only, the same ones
   * every node committed at those offsets. Installing one moves the node's state machine to its end.
   */
  observeSnapshot(id: NodeId, entries: readonly LogEntry[], installed: boolean): void {
    entries.forEach((entry, offset) => {
      if (entry.offset !== offset) throw new SafetyViolation(`node ${id} snapshot holds offset ${entry.offset} at position ${offset}`);
      const known = this.committed[offset];
      if (known === undefined) this.recordCommitted(entry);
      else if (!sameEntry(known, entry)) throw new SafetyViolation(`node ${id} snapshot differs at committed offset ${offset}`);
    });
    if (installed) this.nextApply.set(id, entries.length);
  }

  /**
   * Committed means durable on enough voters: after a crash each committed entry must still
   * be in the durable logs of at least `majority` voters, up or down (for a fixed voter set
   * of odd size, a majority; with changing sets, enough that every majority meets one).
   */
  checkCommittedDurable(logs: ReadonlyMap<NodeId, (offset: number) => LogEntry | undefined>, majority: number): void {
    for (const entry of this.committed) {
      let holders = 0;
      for (const entryAt of logs.values()) {
        const local = entryAt(entry.offset);
        if (local !== undefined && sameEntry(local, entry)) holders++;
      }
      if (holders < majority) throw new SafetyViolation(`committed offset ${entry.offset} is on ${holders} logs, fewer than ${majority}`);
    }
  }

  /**
   * Committed entries are learned as a prefix, in offset order. A committed voter set must
   * differ from the one committed before it by exactly one voter (single-server changes).
   */
  private recordCommitted(entry: LogEntry): void {
    if (entry.offset !== this.committed.length) throw new SafetyViolation(`committed offset ${entry.offset} learned before offset ${this.committed.length}`);
    this.committed.push(entry);
    if (entry.kind !== 'voters') return;
    const next = decodeVotersRecord(entry.data);
    const changed = next.distance(this.committedVotersValue);
    if (changed !== 1) {
      throw new SafetyViolation(`committed voter set ${next} at offset ${entry.offset} differs from ${this.committedVotersValue} by ${changed} voters`);
    }
    this.committedVotersValue = next;
  }

  isCommitted(entry: LogEntry): boolean {
    const known = this.committed[entry.offset];
    return known !== undefined && sameEntry(known, entry);
  }
}
