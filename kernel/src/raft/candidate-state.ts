/**
 * A node that won its pre-vote, bumped the epoch and voted for itself. It either collects a
 * majority, learns of a leader or a higher epoch, or times out and goes back to pre-voting
 * with a fresh random timeout, which is what breaks split votes.
 */
import type { NodeId } from './types.js';
import { VoteTally } from './vote-tally.js';

export class CandidateState {
  readonly name = 'candidate' as const;
  readonly tally: VoteTally;

  constructor(
    voters: readonly NodeId[],
    self: NodeId,
    readonly electionDeadlineMs: number,
    public retryAtMs: number,
  ) {
    this.tally = new VoteTally(voters, self);
  }
}
