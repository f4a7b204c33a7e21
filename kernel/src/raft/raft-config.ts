/**
 * Timing and sizing of the Raft core. Names follow Kafka's `controller.quorum.*` settings;
 * the simulator shrinks them so that a run covers many elections in little virtual time.
 */
export interface RaftConfig {
  /** Base election timeout; each wait draws uniformly from [base, 2 × base). */
  readonly electionTimeoutMs: number;
  /** A follower that has not fetched successfully for this long looks for a new leader. */
  readonly fetchTimeoutMs: number;
  /** Pause between fetches while caught up (the stand-in for Kafka's long poll). */
  readonly fetchBackoffMs: number;
  /** Resend of an unanswered Fetch, Vote or BeginQuorumEpoch. */
  readonly retryBackoffMs: number;
  /** How long a leader batches appends before it flushes (Kafka's `append.linger.ms`). */
  readonly appendLingerMs: number;
  readonly maxFetchEntries: number;
  /** Bytes of snapshot in one FetchSnapshot answer; default `SNAPSHOT_CHUNK_BYTES_DEFAULT`. */
  readonly maxSnapshotChunkBytes?: number;
}

/** Kafka's FetchSnapshot callers ask for up to `quorum.fetch.max.bytes`-sized chunks; 1 MiB keeps one answer small. */
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;

export const DEFAULT_RAFT_CONFIG: RaftConfig = {
  electionTimeoutMs: 1000,
  fetchTimeoutMs: 2000,
  fetchBackoffMs: 50,
  retryBackoffMs: 20,
  appendLingerMs: 25,
  maxFetchEntries: 500,
};

/**
 * A leader that has not heard from a majority for this long resigns (check-quorum). 1.5 ×
 * the fetch timeout, as in KRaft, leaves followers one retry before the leader gives up.
 */
export function checkQuorumTimeoutMs(config: RaftConfig): number {
  return Math.floor(config.fetchTimeoutMs * 1.5);
}

/**
 * How long a voter told by EndQuorumEpoch that its leader stepped down waits before it
 * campaigns, given its `position` among the preferred successors (0: the most up to date,
 * at once). Later positions wait a retry backoff more each, so the first usually wins
 * before the next asks, never longer than an election timeout (what it would wait anyway).
 */
export function endQuorumBackoffMs(config: RaftConfig, position: number): number {
  return Math.min(position * config.retryBackoffMs, config.electionTimeoutMs);
}
