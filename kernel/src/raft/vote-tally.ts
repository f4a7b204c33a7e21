/**
 * The grants a prospective or candidate node has collected in one round, over the voter set
 * of the round's start. A candidate outside that set (removed by an entry not committed yet)
 * does not count its own vote.
 */
import { majorityOf, type NodeId } from './types.js';

export class VoteTally {
  private readonly granted = new Set<NodeId>();
  private readonly rejected = new Set<NodeId>();

  constructor(private readonly voters: readonly NodeId[], self: NodeId) {
    if (voters.includes(self)) this.granted.add(self);
  }

  record(voter: NodeId, granted: boolean): void {
    if (!this.voters.includes(voter)) return;
    if (granted) this.granted.add(voter);
    else this.rejected.add(voter);
  }

  isWon(): boolean {
    return this.granted.size >= majorityOf(this.voters.length);
  }

  /** Voters that have not answered, to whom the request is resent. */
  unanswered(): NodeId[] {
    return this.voters.filter((v) => !this.granted.has(v) && !this.rejected.has(v));
  }
}
