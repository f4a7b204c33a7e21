/**
 * Pre-vote (KIP-996): the node asks whether it could win in `epoch + 1` without changing
 * its epoch. Only if a majority says yes does it become a candidate and bump the epoch, so
 * a node cut off from a live leader cannot raise the quorum's epoch and depose it on return.
 */
import type { NodeId } from './types.js';
import { VoteTally } from './vote-tally.js';

export class ProspectiveState {
  readonly name = 'prospective' as const;
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
