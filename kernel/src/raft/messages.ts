/**
 * The RPCs between voters, modelled on KRaft's (KIP-595, KIP-996). Each message names its
 * sender and receiver because the network under the core may be any transport; every
 * response echoes what it answers so that a late or duplicated response is recognised and
 * dropped rather than applied to a state it was not meant for.
 */
import type { Epoch, LogEntry, NodeId, OffsetAndEpoch } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
}

/**
 * Vote (`preVote: false`) and PreVote (`preVote: true`). A pre-vote asks "would you vote for
 * me in `epoch`?" without anyone changing epoch, so a node coming back from a partition
 * cannot force an election on a quorum that still has a working leader.
 */
export interface VoteRequest extends Envelope {
  readonly type: 'vote-request';
  readonly preVote: boolean;
  readonly epoch: Epoch;
  readonly lastEpoch: Epoch;
  readonly endOffset: number;
}

export interface VoteResponse extends Envelope {
  readonly type: 'vote-response';
  readonly preVote: boolean;
  /** The epoch of the request this answers. */
  readonly requestEpoch: Epoch;
  /** The responder's epoch, so a candidate behind the quorum learns it. */
  readonly epoch: Epoch;
  /** The leader the responder follows in `epoch`, so a node that missed its election learns it. */
  readonly leaderId: NodeId | null;
  readonly granted: boolean;
}

/** Sent by a new leader so voters stop waiting for their election timeout and fetch from it. */
export interface BeginQuorumEpoch extends Envelope {
  readonly type: 'begin-quorum-epoch';
  readonly epoch: Epoch;
}

/**
 * Sent by a leader stepping down gracefully (the node stopping), to every other voter, so
 * that they elect a successor at once instead of after a fetch timeout. `preferredSuccessors`
 * lists them by how much of the log each acknowledged, most first: the first campaigns at
 * once, the others after a backoff growing with their position, so the voter least likely
 * to be refused for a shorter log usually wins (Kafka's EndQuorumEpoch, KIP-595).
 */
export interface EndQuorumEpoch extends Envelope {
  readonly type: 'end-quorum-epoch';
  readonly epoch: Epoch;
  readonly preferredSuccessors: readonly NodeId[];
}

/**
 * Replication is pulled: `fetchOffset` is the follower's log end offset and
 * `lastFetchedEpoch` the epoch of its last entry. The leader uses the fetch offset of a
 * validated fetch as the follower's acknowledgement.
 */
export interface FetchRequest extends Envelope {
  readonly type: 'fetch-request';
  readonly epoch: Epoch;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: Epoch;
}

export type FetchError = 'none' | 'fenced-epoch' | 'not-leader';

/** FetchSnapshot's errors: a snapshot the leader no longer has is SNAPSHOT_NOT_FOUND. */
export type FetchSnapshotError = FetchError | 'snapshot-not-found';

export interface FetchResponse extends Envelope {
  readonly type: 'fetch-response';
  readonly error: FetchError;
  readonly epoch: Epoch;
  readonly leaderId: NodeId | null;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: Epoch;
  readonly highWatermark: number;
  readonly entries: readonly LogEntry[];
  /** Set when the follower's log diverges: truncate to at most this position, fetch again. */
  readonly divergingEpoch: OffsetAndEpoch | null;
  /**
   * Set when what the follower needs is below the leader's log start: fetch this snapshot
   * (FetchSnapshot), install it, and fetch the log after it.
   */
  readonly snapshotId: OffsetAndEpoch | null;
}

/** One chunk of a snapshot, from byte `position` (Kafka's FetchSnapshot, KIP-630). */
export interface FetchSnapshotRequest extends Envelope {
  readonly type: 'fetch-snapshot-request';
  readonly epoch: Epoch;
  readonly snapshotId: OffsetAndEpoch;
  readonly position: number;
}

export interface FetchSnapshotResponse extends Envelope {
  readonly type: 'fetch-snapshot-response';
  readonly error: FetchSnapshotError;
  readonly epoch: Epoch;
  readonly leaderId: NodeId | null;
  readonly snapshotId: OffsetAndEpoch;
  /** The snapshot's whole size in bytes. */
  readonly size: number;
  /** Where `bytes` starts in the snapshot. */
  readonly position: number;
  readonly bytes: Uint8Array;
}

export type RaftMessage =
  | VoteRequest | VoteResponse | BeginQuorumEpoch | EndQuorumEpoch | FetchRequest | FetchResponse | FetchSnapshotRequest | FetchSnapshotResponse;

/** How the core sends; delivery is best effort, the core retries what matters. */
export interface NetworkChannel {
  send(message: RaftMessage): void;
}
