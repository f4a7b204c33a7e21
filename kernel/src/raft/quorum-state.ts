/**
 * The epoch, the vote and the current role of one node, and the only place they change.
 * The voter set is read through `voters()` at each transition: it changes as voters entries
 * are appended and truncated (KIP-853). Only a node that `mayCampaign()` becomes prospective.
 * Every transition that changes the epoch or the vote writes the store before the new role
 * is visible, so nothing is ever sent on a promise the node could forget in a crash; one
 * that learns the epoch's leader writes it too (where a restart resumes following).
 */
import type { Clock } from '../clock.js';
import { CandidateState } from './candidate-state.js';
import { FollowerState } from './follower-state.js';
import { LeaderState } from './leader-state.js';
import { ProspectiveState } from './prospective-state.js';
import type { QuorumStateStore } from './quorum-state-store.js';
import type { Random } from './random.js';
import type { RaftConfig } from './raft-config.js';
import type { Epoch, NodeId } from './types.js';
import { UnattachedState } from './unattached-state.js';

export type RoleState = UnattachedState | FollowerState | ProspectiveState | CandidateState | LeaderState;

export class QuorumState {
  private epochValue: Epoch;
  private votedForValue: NodeId | null;
  /** Stored with the epoch and vote so that a restart can resume following it. */
  private leaderIdValue: NodeId | null;
  private roleValue: RoleState;

  constructor(
    readonly localId: NodeId,
    private readonly voters: () => readonly NodeId[],
    private readonly mayCampaign: () => boolean,
    private readonly store: QuorumStateStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly config: RaftConfig,
  ) {
    const stored = store.read();
    this.epochValue = stored?.epoch ?? 0;
    this.votedForValue = stored?.votedFor ?? null;
    this.leaderIdValue = stored?.leaderId ?? null;
    const current = voters();
    const leader = this.leaderIdValue;
    if (leader !== null && leader !== localId && current.includes(leader)) {
      // Resume following the leader this node knew, as KRaft does, rather than waiting out an
      // election timeout to hear of it again. Safe: at most one leader is ever elected in an
      // epoch and the node recorded this one for this very epoch, so it follows the only
      // leader the epoch can have; following implies no vote (the stored vote stays as it
      // was, and a follower grants none in its epoch); and until a fetch succeeds the node
      // vouches for nobody (pre-votes are granted, `leaderId` is not passed on). If the
      // quorum moved on, the leader's answer names the newer epoch; if the leader is gone,
      // the fetch timeout starts a pre-vote as from any follower.
      this.roleValue = new FollowerState(leader, clock.nowMs());
      return;
    }
    // A node that was the leader starts resigned: unattached in its epoch, its vote (for
    // itself) kept so it is not cast twice. It pre-votes at once rather than after an
    // election timeout: the pre-vote changes nobody's state, voters that follow a leader
    // elected since refuse it and name that leader, and if none was, the quorum needs an
    // election anyway. A sole voter has nobody to split a vote with, so it campaigns at
    // once, as KRaft's does; a non-voter has no election to wait for and looks for the
    // leader at once.
    const campaignsAtOnce = !mayCampaign() || leader === localId || (current.length === 1 && current[0] === localId);
    this.roleValue = new UnattachedState(campaignsAtOnce ? clock.nowMs() : this.randomElectionDeadline());
  }

  get epoch(): Epoch {
    return this.epochValue;
  }

  get votedFor(): NodeId | null {
    return this.votedForValue;
  }

  get role(): RoleState {
    return this.roleValue;
  }

  leaderId(): NodeId | null {
    const role = this.roleValue;
    if (role.name === 'leader') return this.localId;
    if (role.name === 'follower') return role.leaderId;
    return null;
  }

  /** A higher epoch was seen without its leader, or the leader resigned (same epoch). */
  transitionToUnattached(epoch: Epoch): void {
    if (epoch < this.epochValue) throw new Error(`unattached at ${epoch} below epoch ${this.epochValue}`);
    if (epoch > this.epochValue) this.persist(epoch, null, null);
    this.roleValue = new UnattachedState(this.mayCampaign() ? this.randomElectionDeadline() : this.clock.nowMs());
  }

  transitionToFollower(epoch: Epoch, leaderId: NodeId): void {
    if (epoch < this.epochValue) throw new Error(`follower at ${epoch} below epoch ${this.epochValue}`);
    if (leaderId === this.localId) throw new Error(`node ${leaderId} cannot follow itself`);
    if (epoch === this.epochValue && this.roleValue.name === 'leader') {
      throw new Error(`two leaders in epoch ${epoch}: ${this.localId} and ${leaderId}`);
    }
    if (epoch > this.epochValue) this.persist(epoch, null, leaderId);
    else if (leaderId !== this.leaderIdValue) this.persist(epoch, this.votedForValue, leaderId);
    this.roleValue = new FollowerState(leaderId, this.clock.nowMs());
  }

  transitionToProspective(): void {
    if (this.roleValue.name === 'leader') throw new Error('a leader does not pre-vote');
    if (!this.mayCampaign()) throw new Error(`node ${this.localId} may not campaign`);
    const retryAtMs = this.clock.nowMs() + this.config.retryBackoffMs;
    this.roleValue = new ProspectiveState(this.voters(), this.localId, this.randomElectionDeadline(), retryAtMs);
  }

  transitionToCandidate(): void {
    if (this.roleValue.name !== 'prospective') throw new Error(`candidate from ${this.roleValue.name}`);
    this.persist(this.epochValue + 1, this.localId, null);
    const retryAtMs = this.clock.nowMs() + this.config.retryBackoffMs;
    this.roleValue = new CandidateState(this.voters(), this.localId, this.randomElectionDeadline(), retryAtMs);
  }

  transitionToLeader(epochStartOffset: number): LeaderState {
    const role = this.roleValue;
    if (role.name !== 'candidate' || !role.tally.isWon()) throw new Error(`leader from ${role.name} without a majority`);
    this.persist(this.epochValue, this.localId, this.localId);
    const leader = new LeaderState(this.localId, this.voters(), epochStartOffset, this.clock.nowMs());
    this.roleValue = leader;
    return leader;
  }

  /** Records a vote in the current epoch; the caller has checked it may be granted. */
  grantVote(candidateId: NodeId): void {
    if (this.votedForValue !== null && this.votedForValue !== candidateId) {
      throw new Error(`vote for ${candidateId} in epoch ${this.epochValue} after voting for ${this.votedForValue}`);
    }
    this.persist(this.epochValue, candidateId, this.leaderIdValue);
    // Granting a vote defers this node's own election, as a heartbeat would.
    if (this.roleValue.name === 'unattached') this.roleValue = new UnattachedState(this.randomElectionDeadline());
  }

  randomElectionDeadline(): number {
    const base = this.config.electionTimeoutMs;
    return this.clock.nowMs() + base + this.random.nextInt(base);
  }

  private persist(epoch: Epoch, votedFor: NodeId | null, leaderId: NodeId | null): void {
    this.store.write({ epoch, votedFor, leaderId });
    this.epochValue = epoch;
    this.votedForValue = votedFor;
    this.leaderIdValue = leaderId;
  }
}
