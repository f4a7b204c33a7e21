/**
 * What a voter must remember across a crash, as Kafka's `quorum-state` file: the epoch it
 * has seen and whom it voted for in it. Forgetting either would let it vote twice in one
 * epoch, and two leaders could then be elected in it. The leader it knew in that epoch is
 * kept too, not for safety but so that a restarted node resumes fetching from it at once
 * instead of waiting out an election timeout to learn it again.
 */
import type { Epoch, NodeId } from './types.js';

export interface ElectionState {
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
  /** The leader of `epoch` as this node last knew it (itself included), or null. */
  readonly leaderId: NodeId | null;
}

export interface QuorumStateStore {
  /** The last state written, or null on a node that never wrote one. */
  read(): ElectionState | null;
  /** Must be durable when it returns: votes are sent right after. */
  write(state: ElectionState): void;
}

/** Survives simulated crashes because the simulator keeps it, as it keeps the disk. */
export class MemoryQuorumStateStore implements QuorumStateStore {
  private state: ElectionState | null = null;

  read(): ElectionState | null {
    return this.state;
  }

  write(state: ElectionState): void {
    if (this.state !== null && state.epoch < this.state.epoch) {
      throw new Error(`epoch would go back from ${this.state.epoch} to ${state.epoch}`);
    }
    this.state = { ...state };
  }
}
