/**
 * One voter of a Raft quorum, as pure logic: it reacts to a message (`handle`), to the
 * passage of time (`poll`, due at `nextWakeupMs()`) and to a client (`propose`), and acts
 * only through what it was given: the log, the quorum-state store, the network channel and
 * the commit listener. It reads time from the injected clock and draws randomness from the
 * injected source, so the simulator runs this exact code under a seed.
 *
 * Replication is pull-based, as in Kafka's KRaft (KIP-595), not Raft's push AppendEntries:
 * - the metadata log will be served over the same Fetch path as partition replicas, and
 *   brokers that are not voters (observers) replicate it by fetching too; one mechanism,
 *   one set of bugs;
 * - divergence is found per epoch: the leader answers a Fetch whose (fetchOffset,
 *   lastFetchedEpoch) does not match its log with the end of that epoch in its own log, and
 *   the follower truncates there in one round trip (KIP-101/KIP-279 semantics);
 * - the leader needs no per-follower send loop: a validated Fetch both acknowledges the
 *   follower's log up to its fetch offset and proves the follower can reach the leader,
 *   which is what check-quorum counts.
 * A newly elected leader announces itself with BeginQuorumEpoch and appends a leader-change
 * entry; it commits (advances the high watermark) only once that entry is on a majority.
 * A leader stepping down gracefully (`resign`, when its node stops) tells the other voters
 * with EndQuorumEpoch, so they elect a successor at once rather than after a fetch timeout.
 *
 * Elections use pre-vote (KIP-996): a node whose leader went silent first asks whether it
 * could win, and voters that still fetch successfully from a leader say no, so a node that
 * rejoins after a partition cannot depose a working leader. A leader that has not been
 * fetched from by a majority for 1.5 fetch timeouts resigns (check-quorum), so a leader cut
 * off in a minority stops claiming leadership.
 *
 * Durability: votes are written to the store before they are sent. The leader counts only
 * its flushed offset towards the majority and flushes after `appendLingerMs`; a follower
 * flushes before any Fetch, because its fetch offset is an acknowledgement.
 *
 * Snapshots (KIP-630): the state machine stores snapshots of committed state in the log and
 * may delete the prefix below one. A fetch the leader cannot answer from its log (below its
 * start, or diverging inside the deleted prefix) is answered with the latest snapshot's id;
 * the follower fetches it chunk by chunk (FetchSnapshot), installs it (its log restarts
 * empty at the snapshot's end, `RaftListener.onSnapshot` resets the state machine) and
 * fetches the log from there. The follower's high watermark never exceeds the snapshot's
 * end when it is told to fetch one: its log matched the leader's only below the point the
 * leader cannot serve, and committed entries are in every leader's log.
 *
 * The voter set (KIP-853) is the set of the last `voters` entry in the log, committed or not,
 * else the one of the snapshot the log starts at, else the static bootstrap set; truncating a
 * voters entry brings back the set before it (voter-set-history.ts). The leader changes it
 * one voter at a time (`addVoter`, `removeVoter`), only once it has committed an entry of
 * its own epoch and no other change is uncommitted: two overlapping single-server changes
 * could otherwise leave two disjoint majorities (the bug in Ongaro's single-server change,
 * fixed as KIP-853 does). A node outside the set is an observer: its fetches count for
 * nothing, and without a leader it asks the voters for one by fetching. A leader that
 * removed itself leads until that entry commits, then resigns.
 *
 * Who may campaign: a voter of the current set, or, while that set is not known to be
 * committed, of the set before it (committed, since a change starts only once the previous
 * one committed; and known after a restart, unlike the high watermark). The second keeps
 * a quorum live when an uncommitted entry removed the one node with the longest log: the
 * remaining voters cannot elect each other (their logs are behind it), so it must be able
 * to win, with the votes of the new set and without counting its own.
 */
import type { Clock } from '../clock.js';
import type {
  BeginQuorumEpoch, EndQuorumEpoch, FetchRequest, FetchResponse, FetchSnapshotRequest, FetchSnapshotResponse, NetworkChannel, RaftMessage,
  VoteRequest, VoteResponse,
} from './messages.js';
import type { FollowerState } from './follower-state.js';
import { LeaderState } from './leader-state.js';
import { checkQuorumTimeoutMs, endQuorumBackoffMs, SNAPSHOT_CHUNK_BYTES_DEFAULT, type RaftConfig } from './raft-config.js';
import type { RaftLog } from './raft-log.js';
import type { QuorumStateStore } from './quorum-state-store.js';
import { QuorumState } from './quorum-state.js';
import type { Random } from './random.js';
import { isLogUpToDate, type Epoch, type LogEntry, type NodeId, type OffsetAndEpoch, type RoleName } from './types.js';
import { loadVoterSetHistory, type VoterSetHistory } from './voter-set-history.js';
import { decodeVotersRecord, encodeVotersRecord, VoterSet, type Voter } from './voter-set.js';

/**
 * What the node reports upward: entries below the high watermark, in offset order, once each,
 * starting at the log's latest snapshot (the state machine loads that itself at start); and a
 * snapshot fetched from the leader, which replaces the state machine's state.
 */
export interface RaftListener {
  onCommit(entries: readonly LogEntry[], highWatermark: number): void;
  onSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void;
}

export type ProposeResult =
  | { readonly accepted: true; readonly offset: number; readonly epoch: Epoch }
  | { readonly accepted: false; readonly leaderId: NodeId | null };

export type VoterChangeError = 'not-leader' | 'request-timed-out' | 'duplicate-voter' | 'voter-not-found' | 'invalid-request';

export type VoterChangeResult =
  | { readonly accepted: true; readonly offset: number; readonly epoch: Epoch; readonly voters: VoterSet }
  | { readonly accepted: false; readonly error: VoterChangeError; readonly message: string; readonly leaderId: NodeId | null };

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** The static bootstrap set (`controller.quorum.voters`): in effect until a voters entry or snapshot says otherwise. */
  readonly voters: VoterSet | readonly NodeId[];
  /** The voter set a snapshot of the state machine carries, null for none (snapshot bytes are the state machine's format). */
  readonly snapshotVoters: (bytes: Uint8Array) => VoterSet | null;
  readonly log: RaftLog;
  readonly store: QuorumStateStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly channel: NetworkChannel;
  readonly listener: RaftListener;
  readonly config: RaftConfig;
}

const NO_DATA = new Uint8Array(0);

export class RaftNode {
  readonly id: NodeId;
  private readonly quorum: QuorumState;
  private readonly log: RaftLog;
  private readonly clock: Clock;
  private readonly channel: NetworkChannel;
  private readonly listener: RaftListener;
  private readonly config: RaftConfig;
  /** Volatile: after a restart the node learns it again from the leader or by committing. */
  private hw = 0;
  private applied = 0;
  private readonly bootstrapVoters: VoterSet;
  private readonly history: VoterSetHistory;
  private readonly snapshotVoters: (bytes: Uint8Array) => VoterSet | null;
  /** The voter a non-voter without a leader asks next. */
  private nextVoterAsked = 0;

  constructor(opts: RaftNodeOptions) {
    this.bootstrapVoters = opts.voters instanceof VoterSet ? opts.voters : VoterSet.ofIds(opts.voters);
    this.id = opts.id;
    this.log = opts.log;
    this.clock = opts.clock;
    this.channel = opts.channel;
    this.listener = opts.listener;
    this.config = opts.config;
    this.snapshotVoters = opts.snapshotVoters;
    this.history = loadVoterSetHistory(opts.log, this.bootstrapVoters, opts.snapshotVoters);
    this.quorum = new QuorumState(
      opts.id, () => this.history.latest().ids(), () => this.mayCampaign(), opts.store, opts.clock, opts.random, opts.config,
    );
    // A snapshot holds only committed state, and the state machine starts from the latest.
    this.hw = Math.max(this.log.startOffset(), this.log.latestSnapshot()?.offset ?? 0);
    this.applied = this.hw;
  }

  epoch(): Epoch {
    return this.quorum.epoch;
  }

  role(): RoleName {
    return this.quorum.role.name;
  }

  leaderId(): NodeId | null {
    return this.quorum.leaderId();
  }

  votedFor(): NodeId | null {
    return this.quorum.votedFor;
  }

  highWatermark(): number {
    return this.hw;
  }

  /** The voter set in effect: that of the last voters entry in the log, committed or not. */
  voters(): VoterSet {
    return this.history.latest();
  }

  isVoter(): boolean {
    return this.history.latest().has(this.id);
  }

  /** Node `id` as the newest voter set holding it records it (its endpoints), if any does. */
  knownVoter(id: NodeId): Voter | undefined {
    return this.history.find(id);
  }

  private mayCampaign(): boolean {
    // Once this node knows its removal committed, the set before it is history.
    return this.isVoter() || (this.history.latestOffset() >= this.hw && this.history.previous().has(this.id));
  }

  /**
   * The voter set a snapshot ending at `offset` must carry, or null while the set is the
   * static bootstrap one (a static-only quorum writes no voters records, as KRaft's).
   */
  snapshotVoterSet(offset: number): VoterSet | null {
    return this.history.dynamicSetBefore(offset);
  }

  /**
   * On the leader: appends the voter set with `voter` added. The caller learns that it took
   * effect when the high watermark passes `offset`. Refused (REQUEST_TIMED_OUT in Kafka's
   * terms) while the leader has not committed in its epoch, while another change is
   * uncommitted, or when the node is not an observer that reached the high watermark within
   * a fetch timeout: a voter that is far behind would stall commits until it caught up.
   */
  addVoter(voter: Voter): VoterChangeResult {
    const role = this.leaderForVoterChange();
    if (!(role instanceof LeaderState)) return role;
    const voters = this.history.latest();
    if (voters.has(voter.id)) return this.refuse('duplicate-voter', `node ${voter.id} is already a voter of ${voters}`);
    if (!role.isCaughtUpObserver(voter.id, this.clock.nowMs(), this.config.fetchTimeoutMs)) {
      return this.refuse('request-timed-out', `node ${voter.id} is not an observer that fetched up to the high watermark ${this.hw} within ${this.config.fetchTimeoutMs} ms`);
    }
    return this.appendVoters(role, voters.with(voter));
  }

  /**
   * On the leader: appends the voter set without `id`. `directoryId` all zero matches any
   * directory, as does a voter recorded without one (a static voter). Removing this leader
   * itself is allowed: it leads until the entry commits, then resigns.
   */
  removeVoter(id: NodeId, directoryId: Uint8Array): VoterChangeResult {
    const role = this.leaderForVoterChange();
    if (!(role instanceof LeaderState)) return role;
    const voters = this.history.latest();
    const voter = voters.get(id);
    if (voter === undefined || (!isZeroDirectory(directoryId) && !isZeroDirectory(voter.directoryId) && !sameBytes(directoryId, voter.directoryId))) {
      return this.refuse('voter-not-found', `node ${id}${isZeroDirectory(directoryId) ? '' : ' with that directory id'} is not a voter of ${voters}`);
    }
    if (voters.size() === 1) return this.refuse('invalid-request', `node ${id} is the only voter; removing it would leave no quorum`);
    return this.appendVoters(role, voters.without(id));
  }
  /** On the leader, each other voter's acknowledged end offset and last fetch; null elsewhere. */
  voterProgress(): ReturnType<LeaderState['progress']> | null {
    const role = this.quorum.role;
    return role.name === 'leader' ? role.progress() : null;
  }

  /** On the leader, the observers that fetched in this epoch; null elsewhere. */
  observerProgress(): ReturnType<LeaderState['observerProgress']> | null {
    const role = this.quorum.role;
    return role.name === 'leader' ? role.observerProgress() : null;
  }

  /** Appends `data` if this node leads; committed once the high watermark passes `offset`. */
  propose(data: Uint8Array): ProposeResult {
    const role = this.quorum.role;
    if (role.name !== 'leader') return { accepted: false, leaderId: this.quorum.leaderId() };
    const offset = this.appendAsLeader(role, 'data', data);
    return { accepted: true, offset, epoch: this.quorum.epoch };
  }

  /**
   * On the leader, when its node stops gracefully: stops leading and sends EndQuorumEpoch to
   * the other voters, the ones that acknowledged the most log first (the likeliest to win).
   * The node stays in its epoch, unattached, its vote for itself kept: it casts no other
   * vote in this epoch, and the next leader is elected in a later one. A sole voter has
   * nobody to hand over to and leads on until it stops.
   */
  resign(): void {
    const role = this.quorum.role;
    if (role.name !== 'leader') return;
    const successors = role.progress().sort((a, b) => b.endOffset - a.endOffset).map((p) => p.id);
    if (successors.length === 0) return;
    const epoch = this.quorum.epoch;
    this.quorum.transitionToUnattached(epoch);
    for (const to of successors) this.channel.send({ type: 'end-quorum-epoch', from: this.id, to, epoch, preferredSuccessors: successors });
  }

  /** The earliest virtual time at which `poll` has something to do. */
  nextWakeupMs(): number {
    const role = this.quorum.role;
    switch (role.name) {
      case 'unattached':
        return role.electionDeadlineMs;
      case 'prospective':
      case 'candidate':
        return Math.min(role.electionDeadlineMs, role.retryAtMs);
      case 'follower': {
        const fetchAt = role.fetchSentMs === null ? role.nextFetchMs : role.fetchSentMs + this.config.retryBackoffMs;
        return Math.min(role.fetchTimeoutAtMs(this.config.fetchTimeoutMs), fetchAt);
      }
      case 'leader': {
        const now = this.clock.nowMs();
        let at = role.checkQuorumDeadlineMs(now, checkQuorumTimeoutMs(this.config));
        if (role.flushAtMs !== null) at = Math.min(at, role.flushAtMs);
        if (role.unacknowledged().length > 0) at = Math.min(at, role.beginQuorumRetryAtMs);
        return at;
      }
    }
  }

  /** Fires whatever timers are due. */
  poll(): void {
    const now = this.clock.nowMs();
    const role = this.quorum.role;
    switch (role.name) {
      case 'unattached':
        if (now < role.electionDeadlineMs) return;
        if (this.mayCampaign()) this.startPreVote();
        else this.askVoterForLeader(role);
        return;
      case 'prospective':
      case 'candidate':
        if (now >= role.electionDeadlineMs) this.startPreVote();
        else if (now >= role.retryAtMs) {
          role.retryAtMs = now + this.config.retryBackoffMs;
          this.sendVoteRequests(role.name === 'prospective', role.tally.unanswered());
        }
        return;
      case 'follower':
        if (now < role.fetchTimeoutAtMs(this.config.fetchTimeoutMs)) this.maybeSendFetch(role);
        else if (this.mayCampaign()) this.startPreVote();
        // An observer that lost its leader looks for the next one; the epoch stays.
        else this.quorum.transitionToUnattached(this.quorum.epoch);
        return;
      case 'leader':
        this.pollLeader(role, now);
        return;
    }
  }

  handle(message: RaftMessage): void {
    if (message.to !== this.id) throw new Error(`node ${this.id} got a message for ${message.to}`);
    switch (message.type) {
      case 'vote-request':
        return this.handleVoteRequest(message);
      case 'vote-response':
        return this.handleVoteResponse(message);
      case 'begin-quorum-epoch':
        return this.handleBeginQuorumEpoch(message);
      case 'end-quorum-epoch':
        return this.handleEndQuorumEpoch(message);
      case 'fetch-request':
        return this.handleFetchRequest(message);
      case 'fetch-response':
        return this.handleFetchResponse(message);
      case 'fetch-snapshot-request':
        return this.handleFetchSnapshotRequest(message);
      case 'fetch-snapshot-response':
        return this.handleFetchSnapshotResponse(message);
    }
  }

  private pollLeader(role: LeaderState, now: number): void {
    if (now >= role.checkQuorumDeadlineMs(now, checkQuorumTimeoutMs(this.config))) {
      // Resigning keeps the epoch: a majority may have elected someone else in a later one.
      this.quorum.transitionToUnattached(this.quorum.epoch);
      return;
    }
    if (role.flushAtMs !== null && now >= role.flushAtMs) {
      this.log.flush();
      role.flushAtMs = null;
      this.maybeAdvanceLeaderHighWatermark(role);
      if (this.quorum.role !== role) return;
    }
    if (now >= role.beginQuorumRetryAtMs) {
      role.beginQuorumRetryAtMs = now + this.config.retryBackoffMs;
      for (const voter of role.unacknowledged()) this.sendBeginQuorumEpoch(voter);
    }
  }

  private startPreVote(): void {
    this.quorum.transitionToProspective();
    const role = this.quorum.role;
    if (role.name !== 'prospective') throw new Error(`pre-vote left the node ${role.name}`);
    if (role.tally.isWon()) this.startElection();
    else this.sendVoteRequests(true, role.tally.unanswered());
  }

  private startElection(): void {
    this.quorum.transitionToCandidate();
    const role = this.quorum.role;
    if (role.name !== 'candidate') throw new Error(`election left the node ${role.name}`);
    if (role.tally.isWon()) this.becomeLeader();
    else this.sendVoteRequests(false, role.tally.unanswered());
  }

  private becomeLeader(): void {
    const leader = this.quorum.transitionToLeader(this.log.endOffset());
    this.appendAsLeader(leader, 'leader-change', NO_DATA);
    for (const voter of leader.unacknowledged()) this.sendBeginQuorumEpoch(voter);
    leader.beginQuorumRetryAtMs = this.clock.nowMs() + this.config.retryBackoffMs;
  }

  private appendAsLeader(role: LeaderState, kind: LogEntry['kind'], data: Uint8Array): number {
    const offset = this.log.endOffset();
    this.log.append({ epoch: this.quorum.epoch, offset, kind, data });
    role.flushAtMs ??= this.clock.nowMs() + this.config.appendLingerMs;
    return offset;
  }

  /** This node's leader state when a voter change may start now, else why not. */
  private leaderForVoterChange(): LeaderState | VoterChangeResult {
    const role = this.quorum.role;
    if (role.name !== 'leader') return this.refuse('not-leader', `node ${this.id} is not the leader`);
    if (this.hw <= role.epochStartOffset) {
      return this.refuse('request-timed-out', `the leader has not committed an entry of its epoch ${this.quorum.epoch} yet`);
    }
    const pending = this.history.latestOffset();
    if (pending >= this.hw) return this.refuse('request-timed-out', `the voter change at offset ${pending} is not committed yet`);
    return role;
  }

  private refuse(error: VoterChangeError, message: string): VoterChangeResult {
    return { accepted: false, error, message, leaderId: this.quorum.leaderId() };
  }

  private appendVoters(role: LeaderState, next: VoterSet): VoterChangeResult {
    const offset = this.appendAsLeader(role, 'voters', encodeVotersRecord(next));
    this.history.add(offset, next);
    role.setVoters(next.ids());
    for (const voter of role.unacknowledged()) this.sendBeginQuorumEpoch(voter);
    // A smaller majority may already hold everything (a lagging voter removed).
    this.maybeAdvanceLeaderHighWatermark(role);
    return { accepted: true, offset, epoch: this.quorum.epoch, voters: next };
  }

  /** Without a leader, a non-voter asks the voters in turn: any that knows the leader names it. */
  private askVoterForLeader(role: { electionDeadlineMs: number }): void {
    const voters = this.history.latest().ids().filter((v) => v !== this.id);
    role.electionDeadlineMs = this.clock.nowMs() + this.config.fetchBackoffMs;
    if (voters.length === 0) return;
    const to = voters[this.nextVoterAsked++ % voters.length]!;
    this.channel.send({
      type: 'fetch-request', from: this.id, to, epoch: this.quorum.epoch,
      fetchOffset: this.log.endOffset(), lastFetchedEpoch: this.log.lastEpoch(),
    });
  }

  /**
   * After the voter set changed under this node (an append, a truncation, a snapshot): a
   * leader recounts its majorities, a node no longer voting abandons its campaign, and a
   * leader whose own removal is committed resigns.
   */
  private afterVoterSetChange(): void {
    const role = this.quorum.role;
    if (role.name === 'leader') {
      role.setVoters(this.history.latest().ids());
      this.maybeAdvanceLeaderHighWatermark(role);
    } else if ((role.name === 'prospective' || role.name === 'candidate') && !this.mayCampaign()) {
      this.quorum.transitionToUnattached(this.quorum.epoch);
    }
  }

  private sendVoteRequests(preVote: boolean, voters: readonly NodeId[]): void {
    // A pre-vote asks about the epoch the node would campaign in; a vote is cast in the current one.
    const epoch = preVote ? this.quorum.epoch + 1 : this.quorum.epoch;
    const lastEpoch = this.log.lastEpoch();
    const endOffset = this.log.endOffset();
    for (const to of voters) {
      this.channel.send({ type: 'vote-request', from: this.id, to, preVote, epoch, lastEpoch, endOffset });
    }
  }

  private sendBeginQuorumEpoch(to: NodeId): void {
    this.channel.send({ type: 'begin-quorum-epoch', from: this.id, to, epoch: this.quorum.epoch });
  }

  private localPosition(): OffsetAndEpoch {
    return { offset: this.log.endOffset(), epoch: this.log.lastEpoch() };
  }

  private hasLiveLeader(now: number): boolean {
    const role = this.quorum.role;
    if (role.name === 'leader') return true;
    return role.name === 'follower' && role.hasLiveLeader(now, this.config.fetchTimeoutMs);
  }

  /**
   * The leader as told to others: only one this node still fetches from. Passing on a leader
   * it has lost contact with would pull timed-out peers back to a dead leader, each renewing
   * the others' belief, and no election would ever start.
   */
  private liveLeaderId(): NodeId | null {
    return this.hasLiveLeader(this.clock.nowMs()) ? this.quorum.leaderId() : null;
  }

  private handleVoteRequest(req: VoteRequest): void {
    const upToDate = isLogUpToDate({ offset: req.endOffset, epoch: req.lastEpoch }, this.localPosition());
    let granted = false;
    if (req.preVote) {
      // The requester's own epoch is one below the one it asks about. If even that is ahead of
      // ours, it is a fact the quorum must adopt: the requester will never follow a leader of
      // an older epoch, and it reached its epoch only by winning a pre-vote earlier.
      if (req.epoch - 1 > this.quorum.epoch) this.quorum.transitionToUnattached(req.epoch - 1);
      // Otherwise nothing changes: the answer is what a vote would be, plus leader stickiness.
      granted = req.epoch > this.quorum.epoch && upToDate && !this.hasLiveLeader(this.clock.nowMs());
    } else {
      if (req.epoch > this.quorum.epoch) this.quorum.transitionToUnattached(req.epoch);
      if (req.epoch === this.quorum.epoch) granted = this.tryGrantVote(req.from, upToDate);
    }
    this.channel.send({
      type: 'vote-response', from: this.id, to: req.from, preVote: req.preVote, requestEpoch: req.epoch,
      epoch: this.quorum.epoch, leaderId: this.liveLeaderId(), granted,
    });
  }

  private tryGrantVote(candidateId: NodeId, upToDate: boolean): boolean {
    const votedFor = this.quorum.votedFor;
    // A retransmitted request gets the same answer; the vote itself is already durable.
    if (votedFor === candidateId) return true;
    const role = this.quorum.role.name;
    if (votedFor !== null || !upToDate || (role !== 'unattached' && role !== 'prospective')) return false;
    this.quorum.grantVote(candidateId);
    return true;
  }

  private handleVoteResponse(resp: VoteResponse): void {
    if (this.observeEpoch(resp.epoch, resp.leaderId)) return;
    const role = this.quorum.role;
    if (resp.preVote) {
      if (role.name !== 'prospective' || resp.requestEpoch !== this.quorum.epoch + 1) return;
      role.tally.record(resp.from, resp.granted);
      if (role.tally.isWon()) this.startElection();
    } else {
      if (role.name !== 'candidate' || resp.requestEpoch !== this.quorum.epoch) return;
      role.tally.record(resp.from, resp.granted);
      if (role.tally.isWon()) this.becomeLeader();
    }
  }

  private handleBeginQuorumEpoch(msg: BeginQuorumEpoch): void {
    this.observeEpoch(msg.epoch, msg.from);
  }

  /**
   * The leader of `msg.epoch` stepped down. A follower of it stops vouching for it at once
   * (so it grants the first successor's pre-vote) and times out after its backoff; a node
   * that knew no leader in the epoch shortens its election wait the same way. Nothing else
   * changes: campaigning goes through a pre-vote as always, so a late or forged message can
   * at worst start an election a fetch timeout early. One of an older epoch, or about a
   * leader other than the one followed, is stale and ignored.
   */
  private handleEndQuorumEpoch(msg: EndQuorumEpoch): void {
    if (msg.epoch < this.quorum.epoch) return;
    if (msg.epoch > this.quorum.epoch) this.quorum.transitionToUnattached(msg.epoch);
    const position = msg.preferredSuccessors.indexOf(this.id);
    const at = this.clock.nowMs() + endQuorumBackoffMs(this.config, position < 0 ? msg.preferredSuccessors.length : position);
    const role = this.quorum.role;
    if (role.name === 'follower' && role.leaderId === msg.from) role.leaderEndedAtMs = Math.min(role.leaderEndedAtMs ?? at, at);
    else if (role.name === 'unattached' && this.mayCampaign()) role.electionDeadlineMs = Math.min(role.electionDeadlineMs, at);
  }

  /**
   * Moves to a higher epoch, or to following a leader announced for the current one.
   * Returns true when the role changed, so the caller drops the message it was handling.
   */
  private observeEpoch(epoch: Epoch, leaderId: NodeId | null): boolean {
    if (epoch < this.quorum.epoch) return false;
    const role = this.quorum.role;
    if (leaderId === null || leaderId === this.id) {
      if (epoch === this.quorum.epoch) return false;
      this.quorum.transitionToUnattached(epoch);
      return true;
    }
    if (epoch === this.quorum.epoch && role.name === 'follower' && role.leaderId === leaderId) return false;
    this.quorum.transitionToFollower(epoch, leaderId);
    const follower = this.quorum.role;
    if (follower.name === 'follower') this.maybeSendFetch(follower);
    return true;
  }

  private handleFetchRequest(req: FetchRequest): void {
    if (req.epoch > this.quorum.epoch) {
      this.quorum.transitionToUnattached(req.epoch);
      return;
    }
    const role = this.quorum.role;
    if (req.epoch < this.quorum.epoch || role.name !== 'leader') {
      this.sendFetchResponse(req, req.epoch < this.quorum.epoch ? 'fenced-epoch' : 'not-leader', [], null);
      return;
    }
    const start = this.log.startOffset();
    const end = req.fetchOffset < start ? null : this.log.endOffsetForEpoch(req.lastFetchedEpoch);
    const diverges = end !== null && (end.epoch !== req.lastFetchedEpoch || req.fetchOffset > end.offset);
    if (end === null || (diverges && end.offset < start)) {
      // What the fetcher needs is gone from the log: only the snapshot has it.
      if (role.isVoter(req.from)) role.recordContact(req.from, this.clock.nowMs());
      this.sendFetchResponse(req, 'none', [], null, this.log.latestSnapshot());
      return;
    }
    if (diverges) {
      this.sendFetchResponse(req, 'none', [], end);
      return;
    }
    // Observers (nodes that do not vote) replicate the log too, but their fetches neither
    // acknowledge entries nor keep this leader in office: only voters count.
    if (role.isVoter(req.from)) {
      role.recordFetch(req.from, req.fetchOffset, this.clock.nowMs());
      this.maybeAdvanceLeaderHighWatermark(role);
    } else {
      role.recordObserverFetch(req.from, req.fetchOffset, this.clock.nowMs(), this.hw);
    }
    this.sendFetchResponse(req, 'none', this.log.read(req.fetchOffset, this.config.maxFetchEntries), null);
  }

  private sendFetchResponse(
    req: FetchRequest, error: FetchResponse['error'], entries: readonly LogEntry[], divergingEpoch: OffsetAndEpoch | null,
    snapshotId: OffsetAndEpoch | null = null,
  ): void {
    this.channel.send({
      type: 'fetch-response', from: this.id, to: req.from, error, epoch: this.quorum.epoch,
      leaderId: this.liveLeaderId(), fetchOffset: req.fetchOffset, lastFetchedEpoch: req.lastFetchedEpoch,
      highWatermark: this.hw, entries, divergingEpoch, snapshotId,
    });
  }

  private handleFetchSnapshotRequest(req: FetchSnapshotRequest): void {
    if (req.epoch > this.quorum.epoch) {
      this.quorum.transitionToUnattached(req.epoch);
      return;
    }
    const role = this.quorum.role;
    const answer = (error: FetchSnapshotResponse['error'], size: number, bytes: Uint8Array): void => this.channel.send({
      type: 'fetch-snapshot-response', from: this.id, to: req.from, error, epoch: this.quorum.epoch, leaderId: this.liveLeaderId(),
      snapshotId: req.snapshotId, size, position: req.position, bytes,
    });
    if (req.epoch < this.quorum.epoch || role.name !== 'leader') {
      answer(req.epoch < this.quorum.epoch ? 'fenced-epoch' : 'not-leader', 0, NO_DATA);
      return;
    }
    if (role.isVoter(req.from)) role.recordContact(req.from, this.clock.nowMs());
    const chunk = this.log.readSnapshot(req.snapshotId, req.position, this.config.maxSnapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES_DEFAULT);
    if (chunk === undefined || req.position > chunk.size) answer('snapshot-not-found', 0, NO_DATA);
    else answer('none', chunk.size, chunk.bytes);
  }

  private handleFetchSnapshotResponse(resp: FetchSnapshotResponse): void {
    if (resp.epoch < this.quorum.epoch || this.observeEpoch(resp.epoch, resp.leaderId)) return;
    const role = this.quorum.role;
    if (role.name !== 'follower' || role.leaderId !== resp.from) return;
    const download = role.snapshot;
    // Answers another request: a duplicate, a late one, or one for a snapshot given up on.
    if (download === null || resp.snapshotId.offset !== download.id.offset || resp.snapshotId.epoch !== download.id.epoch
      || resp.position !== download.position) return;
    const now = this.clock.nowMs();
    role.fetchSentMs = null;
    if (resp.error !== 'none' || (resp.bytes.length === 0 && download.position < resp.size)) {
      // The leader moved on to a newer snapshot (or lost leadership): start over with a fetch.
      if (resp.error === 'snapshot-not-found') role.snapshot = null;
      role.nextFetchMs = now + this.config.fetchBackoffMs;
      return;
    }
    role.lastFetchSuccessMs = now;
    download.chunks.push(resp.bytes);
    download.position += resp.bytes.length;
    if (download.position >= resp.size) {
      role.snapshot = null;
      this.installSnapshot(download.id, Buffer.concat(download.chunks));
    }
    role.nextFetchMs = now;
    this.maybeSendFetch(role);
  }

  private installSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    if (id.offset < this.hw) throw new Error(`node ${this.id} told to install snapshot ${id.offset}@${id.epoch} below its high watermark ${this.hw}`);
    this.log.installSnapshot(id, bytes);
    const voters = this.snapshotVoters(bytes);
    this.history.reset(voters);
    this.hw = id.offset;
    this.applied = id.offset;
    this.listener.onSnapshot(id, bytes);
    this.afterVoterSetChange();
  }

  private handleFetchResponse(resp: FetchResponse): void {
    if (resp.epoch < this.quorum.epoch || this.observeEpoch(resp.epoch, resp.leaderId)) return;
    const role = this.quorum.role;
    if (role.name !== 'follower' || role.leaderId !== resp.from || role.snapshot !== null) return;
    // Answers a fetch from another log state: a duplicate or a late one.
    if (resp.fetchOffset !== this.log.endOffset() || resp.lastFetchedEpoch !== this.log.lastEpoch()) return;
    const now = this.clock.nowMs();
    role.fetchSentMs = null;
    if (resp.error !== 'none') {
      role.nextFetchMs = now + this.config.fetchBackoffMs;
      return;
    }
    role.lastFetchSuccessMs = now;
    if (resp.snapshotId !== null) {
      role.snapshot = { id: resp.snapshotId, chunks: [], position: 0 };
      role.nextFetchMs = now;
    } else if (resp.divergingEpoch !== null) {
      this.truncateOnDivergence(resp.divergingEpoch);
      role.nextFetchMs = now;
    } else {
      let votersChanged = false;
      for (const entry of resp.entries) {
        this.log.append(entry);
        if (entry.kind === 'voters') {
          this.history.add(entry.offset, decodeVotersRecord(entry.data));
          votersChanged = true;
        }
      }
      if (votersChanged) this.afterVoterSetChange();
      const hw = Math.min(resp.highWatermark, this.log.endOffset());
      if (hw > this.hw) this.advanceHighWatermark(hw);
      role.nextFetchMs = resp.entries.length > 0 ? now : now + this.config.fetchBackoffMs;
    }
    this.maybeSendFetch(role);
  }

  private truncateOnDivergence(diverging: OffsetAndEpoch): void {
    const local = this.log.endOffsetForEpoch(diverging.epoch);
    const target = Math.min(diverging.offset, local.offset);
    if (target < this.hw) {
      throw new Error(`node ${this.id} told to truncate to ${target} below its high watermark ${this.hw}`);
    }
    this.log.truncateTo(target);
    const before = this.history.latestOffset();
    this.history.truncateTo(target);
    if (this.history.latestOffset() !== before) this.afterVoterSetChange();
  }

  private maybeSendFetch(role: FollowerState): void {
    const now = this.clock.nowMs();
    if (role.fetchSentMs !== null ? now < role.fetchSentMs + this.config.retryBackoffMs : now < role.nextFetchMs) return;
    // The fetch offset acknowledges the log up to it, so it must survive a crash.
    if (this.log.flushedOffset() < this.log.endOffset()) this.log.flush();
    role.fetchSentMs = now;
    if (role.snapshot !== null) {
      this.channel.send({
        type: 'fetch-snapshot-request', from: this.id, to: role.leaderId, epoch: this.quorum.epoch,
        snapshotId: role.snapshot.id, position: role.snapshot.position,
      });
      return;
    }
    this.channel.send({
      type: 'fetch-request', from: this.id, to: role.leaderId, epoch: this.quorum.epoch,
      fetchOffset: this.log.endOffset(), lastFetchedEpoch: this.log.lastEpoch(),
    });
  }

  private maybeAdvanceLeaderHighWatermark(role: LeaderState): void {
    const majority = role.majorityEndOffset(this.log.flushedOffset());
    if (majority > role.epochStartOffset && majority > this.hw) this.advanceHighWatermark(majority);
    // Its own removal committed: the remaining voters elect a leader among themselves.
    if (!this.isVoter() && this.history.latestOffset() < this.hw && this.quorum.role === role) {
      this.quorum.transitionToUnattached(this.quorum.epoch);
    }
  }

  private advanceHighWatermark(hw: number): void {
    if (hw <= this.hw || hw > this.log.endOffset()) {
      throw new Error(`high watermark ${this.hw} -> ${hw} with log end offset ${this.log.endOffset()}`);
    }
    this.hw = hw;
    const entries = this.log.read(this.applied, hw - this.applied);
    this.applied = hw;
    this.listener.onCommit(entries, hw);
  }
}

function isZeroDirectory(id: Uint8Array): boolean {
  return id.every((b) => b === 0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
