/**
 * The voter sets a node's log has held, by the offset of the entry that set each (Kafka's
 * VoterSetHistory). The effective set is the newest: a single-server change takes effect
 * when its entry is appended, committed or not (Raft dissertation §4.1), so a truncation
 * that removes the entry must bring back the set before it, which is why older ones are kept.
 * Below every entry lies the set of the snapshot the log starts at, else the static
 * bootstrap set.
 */
import type { RaftLog } from './raft-log.js';
import type { NodeId } from './types.js';
import { decodeVotersRecord, type Voter, type VoterSet } from './voter-set.js';

/** Entries read at a time when the voter sets are rebuilt from the log at start. */
const VOTER_SCAN_ENTRIES_MAX = 500;

export class VoterSetHistory {
  private readonly entries: Array<{ readonly offset: number; readonly set: VoterSet }> = [];

  /** `snapshotSet`: the set the latest snapshot carries, null when it carries none (or there is none). */
  constructor(private readonly bootstrap: VoterSet, private snapshotSet: VoterSet | null) {}

  latest(): VoterSet {
    return this.entries.at(-1)?.set ?? this.snapshotSet ?? this.bootstrap;
  }

  /** Offset of the newest voters entry in the log, or -1 when the set comes from a snapshot or the bootstrap. */
  latestOffset(): number {
    return this.entries.at(-1)?.offset ?? -1;
  }

  /** The set a snapshot ending at `offset` carries: the one in effect below it, null while that is the bootstrap set. */
  dynamicSetBefore(offset: number): VoterSet | null {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.offset < offset) return this.entries[i]!.set;
    return this.snapshotSet;
  }

  /**
   * The set before the newest voters entry (the newest itself without one). A leader appends
   * a change only once the one before is committed, so this set is committed, unlike perhaps
   * the newest; and it is known after a restart, when the high watermark is not.
   */
  previous(): VoterSet {
    if (this.entries.length === 0) return this.latest();
    return this.entries.at(-2)?.set ?? this.snapshotSet ?? this.bootstrap;
  }

  /**
   * Voter `id` as the newest set holding it records it: a leader that removed itself still
   * leads until that commits, and its followers must still reach it.
   */
  find(id: NodeId): Voter | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const voter = this.entries[i]!.set.get(id);
      if (voter !== undefined) return voter;
    }
    return this.snapshotSet?.get(id) ?? this.bootstrap.get(id);
  }

  add(offset: number, set: VoterSet): void {
    const last = this.entries.at(-1);
    if (last !== undefined && offset <= last.offset) throw new Error(`voter set at offset ${offset} after one at ${last.offset}`);
    this.entries.push({ offset, set });
  }

  /** The log lost every entry at or above `offset`. */
  truncateTo(offset: number): void {
    while (this.entries.length > 0 && this.entries.at(-1)!.offset >= offset) this.entries.pop();
  }

  /** The log restarts from a snapshot carrying `snapshotSet` (null: the static set still holds). */
  reset(snapshotSet: VoterSet | null): void {
    this.snapshotSet = snapshotSet;
    this.entries.length = 0;
  }
}

/**
 * The voter sets of a log as of its open: the latest snapshot's set (`snapshotVoters` reads
 * the state machine's snapshot format) or the bootstrap set, then every voters entry after it.
 */
export function loadVoterSetHistory(log: RaftLog, bootstrap: VoterSet, snapshotVoters: (bytes: Uint8Array) => VoterSet | null): VoterSetHistory {
  const latest = log.latestSnapshot();
  let base: VoterSet | null = null;
  if (latest !== null) {
    const chunk = log.readSnapshot(latest, 0, Number.MAX_SAFE_INTEGER);
    if (chunk === undefined) throw new Error(`snapshot ${latest.offset}@${latest.epoch} listed but not readable`);
    base = snapshotVoters(chunk.bytes);
  }
  const history = new VoterSetHistory(bootstrap, base);
  const end = log.endOffset();
  for (let from = Math.max(log.startOffset(), latest?.offset ?? 0); from < end;) {
    const entries = log.read(from, VOTER_SCAN_ENTRIES_MAX);
    for (const entry of entries) if (entry.kind === 'voters') history.add(entry.offset, decodeVotersRecord(entry.data));
    from += entries.length;
  }
  return history;
}
