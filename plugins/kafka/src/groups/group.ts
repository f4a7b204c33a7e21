/**
 * A classic (pre-KIP-848) group: membership, the rebalance state machine and its
 * committed offsets, following Kafka's GroupCoordinator so that clients see the same codes
 * in the same situations.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
 *     ▲                   ▲    │ (no members left)                      │ leader's SyncGroup
 *     └───────────────────┼────┘                                        ▼
 *                         └───────── join, leave, expiry ─────────── Stable
 *   Dead: deleted, or expired while Empty with no offsets left; never left again.
 *
 * Everything here runs synchronously on the caller's turn; a pending JoinGroup or
 * SyncGroup is a callback the group calls when the rebalance gets there. Deadlines
 * (sessions, rebalance timeout, initial delay, pending sync) go through the injected Timer.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@sluice/sdk';
import { Reader, decodeConsumerProtocolSubscription, type GroupMetadataValue } from '../protocol/index.js';
import type { GroupConfig } from './config.js';
import { GroupError } from './errors.js';
import { Member, joinError, syncError, type GroupProtocol, type JoinResult, type SyncResult } from './member.js';
import { GroupOffsets } from './offsets.js';
import type { CommittedOffset } from './storage-records.js';
import type { Timer } from './timer.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

const VALID_PREVIOUS: Readonly<Record<GroupState, readonly GroupState[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

/** Kafka's limit on how long a new member may wait in its first join before it is dropped. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;
export const CONSUMER_PROTOCOL_TYPE = 'consumer';
const CONSUMER_SUBSCRIPTION_MAX_VERSION = 3;

export interface GroupEnv {
  readonly timer: Timer;
  readonly config: GroupConfig;
  readonly log: Logger;
  /** Writes the group's metadata record durably; resolves with 0 or the error code to answer. */
  persist(group: ClassicGroup, value: GroupMetadataValue): Promise<number>;
}

export interface JoinRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED (KIP-394). */
  readonly requireKnownMemberId: boolean;
  /** JoinGroup v9+: a static leader rejoining a stable group is told to skip the assignment (KIP-814). */
  readonly supportsSkipAssignment: boolean;
  readonly reason: string | null;
}

export interface SyncRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Uint8Array }>;
}

export interface MemberIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface MemberSummary {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly metadata: Uint8Array;
  readonly assignment: Uint8Array;
}

export class ClassicGroup extends GroupOffsets {
  readonly type: 'classic' = 'classic';
  private stateValue: GroupState;
  /** When the group last changed state (KIP-211: an Empty group's offsets expire from here). */
  stateTimestampMs: number | null;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id → the member id currently holding it. */
  readonly staticMembers = new Map<string, string>();
  /** Members told MEMBER_ID_REQUIRED, expected back with that id; value cancels their expiry. */
  private readonly pendingMembers = new Map<string, () => void>();
  /** Members that got their JoinGroup response but have not sent SyncGroup yet. */
  private readonly pendingSyncMembers = new Set<string>();
  private cancelPendingSync: (() => void) | null = null;
  private cancelJoin: (() => void) | null = null;
  /** The initial delay of a new group's first rebalance is running (group.initial.rebalance.delay.ms). */
  private initialDelay = false;
  private newMemberAdded = false;
  /** Topics the members subscribe to, when they use the consumer protocol and it parsed; null: unknown. */
  private subscribedTopics: ReadonlySet<string> | null = null;
  constructor(
    readonly groupId: string,
    private readonly env: GroupEnv,
    loaded?: GroupMetadataValue,
  ) {
    super();
    this.stateValue = 'Empty';
    this.stateTimestampMs = env.timer.now();
    if (loaded !== undefined) this.restore(loaded);
  }

  get state(): GroupState {
    return this.stateValue;
  }

  private transitionTo(next: GroupState): void {
    if (!VALID_PREVIOUS[next].includes(this.stateValue)) {
      throw new Error(`group ${this.groupId}: ${this.stateValue} cannot become ${next}`);
    }
    this.stateValue = next;
    this.stateTimestampMs = this.env.timer.now();
  }

  /** A group read back from `__consumer_offsets`: Stable with its members, or Empty. */
  private restore(v: GroupMetadataValue): void {
    this.protocolType = v.protocolType === '' ? null : v.protocolType;
    this.generationId = v.generation;
    this.protocolName = v.protocol;
    this.leaderId = v.leader;
    this.stateTimestampMs = v.currentStateTimestamp === undefined || v.currentStateTimestamp < 0 ? null : v.currentStateTimestamp;
    for (const m of v.members) {
      const protocols = this.protocolName === null ? [] : [{ name: this.protocolName, metadata: m.subscription }];
      const member = new Member(m.memberId, m.groupInstanceId ?? null, m.clientId, m.clientHost,
        m.rebalanceTimeout ?? m.sessionTimeout, m.sessionTimeout, this.protocolType ?? '', protocols);
      member.assignment = m.assignment;
      this.members.set(member.memberId, member);
      if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size > 0) {
      this.stateValue = 'Stable';
      this.subscribedTopics = this.computeSubscribedTopics();
      // Members get a full session from the load to show up again.
      for (const m of this.members.values()) this.scheduleExpiry(m, m.sessionTimeoutMs);
    }
  }

  // ---- JoinGroup ----

  join(req: JoinRequest, respond: (r: JoinResult) => void): void {
    if (this.stateValue === 'Dead') {
      respond(joinError(req.memberId, GroupError.COORDINATOR_NOT_AVAILABLE));
    } else if (!this.acceptsJoiningMember(req.memberId)) {
      respond(joinError('', GroupError.GROUP_MAX_SIZE_REACHED));
    } else if (req.memberId === '') {
      this.joinNewMember(req, respond);
    } else {
      this.joinCurrentMember(req, respond);
    }
    this.tryCompleteJoin();
  }

  private acceptsJoiningMember(memberId: string): boolean {
    const max = this.env.config.maxSize;
    switch (this.stateValue) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return this.members.get(memberId)?.awaitingJoin != null || this.numAwaitingJoin() < max;
      default:
        return this.members.has(memberId) || this.members.size < max;
    }
  }

  private joinNewMember(req: JoinRequest, respond: (r: JoinResult) => void): void {
    if (!this.supportsProtocols(req.protocolType, req.protocols)) {
      respond(joinError('', GroupError.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const memberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldMemberId = this.staticMembers.get(req.groupInstanceId);
      if (oldMemberId !== undefined) this.replaceStaticMember(oldMemberId, memberId, req, respond);
      else this.addMemberAndRebalance(memberId, req, respond);
    } else if (req.requireKnownMemberId) {
      // KIP-394: the member id is handed out first, so a client that loses this response
      // leaves no member behind, only a pending id that expires with its session.
      this.pendingMembers.set(memberId, this.env.timer.schedule(req.sessionTimeoutMs, () => this.expirePendingMember(memberId)));
      respond(joinError(memberId, GroupError.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(memberId, req, respond);
    }
  }

  private joinCurrentMember(req: JoinRequest, respond: (r: JoinResult) => void): void {
    const { memberId } = req;
    if (this.pendingMembers.has(memberId)) {
      this.addMemberAndRebalance(memberId, req, respond);
      return;
    }
    if (this.isStaticMemberFenced(req.groupInstanceId, memberId)) {
      respond(joinError(memberId, GroupError.FENCED_INSTANCE_ID));
      return;
    }
    const member = this.members.get(memberId);
    if (member === undefined || (req.groupInstanceId !== null && !this.staticMembers.has(req.groupInstanceId))) {
      respond(joinError(memberId, GroupError.UNKNOWN_MEMBER_ID));
      return;
    }
    if (!this.supportsProtocols(req.protocolType, req.protocols)) {
      respond(joinError(memberId, GroupError.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    switch (this.stateValue) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(member, req, respond);
        return;
      case 'CompletingRebalance':
        // The member lost the join response: the same protocols get it again, others rebalance.
        if (member.matches(req.protocols)) respond(this.currentJoinResult(member, this.leaderId === memberId));
        else this.updateMemberAndRebalance(member, req, respond);
        return;
      case 'Stable':
        // The leader rejoins to make the group rebalance (the consumer does so on metadata changes).
        if (this.leaderId === memberId || !member.matches(req.protocols)) this.updateMemberAndRebalance(member, req, respond);
        else respond(this.currentJoinResult(member, false));
        return;
      default:
        respond(joinError(memberId, GroupError.UNKNOWN_MEMBER_ID));
    }
  }

  private currentJoinResult(member: Member, withMembers: boolean): JoinResult {
    return {
      errorCode: GroupError.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: withMembers ? this.currentMemberMetadata() : [],
    };
  }

  private currentMemberMetadata(): JoinResult['members'] {
    const protocol = this.protocolName ?? '';
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(protocol) }));
  }

  private addMemberAndRebalance(memberId: string, req: JoinRequest, respond: (r: JoinResult) => void): void {
    const member = new Member(memberId, req.groupInstanceId, req.clientId, req.clientHost, req.rebalanceTimeoutMs,
      req.sessionTimeoutMs, req.protocolType, req.protocols);
    member.isNew = true;
    // A member joining during a new group's initial delay extends it (up to the rebalance timeout).
    if (this.stateValue === 'PreparingRebalance' && this.generationId === 0) this.newMemberAdded = true;
    if (this.members.size === 0) this.protocolType = req.protocolType;
    this.members.set(memberId, member);
    if (this.leaderId === null) this.leaderId = memberId;
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    this.pendingMembers.get(memberId)?.();
    this.pendingMembers.delete(memberId);
    member.awaitingJoin = respond;
    this.scheduleExpiry(member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(`${memberId} joined`);
  }

  private updateMemberAndRebalance(member: Member, req: JoinRequest, respond: (r: JoinResult) => void): void {
    this.updateMember(member, req, respond);
    this.maybePrepareRebalance(`${member.memberId} rejoined`);
  }

  private updateMember(member: Member, req: JoinRequest, respond: (r: JoinResult) => void): void {
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    // A second JoinGroup while one waits (a client that reconnected) supersedes it; the old one
    // is answered so that its connection does not hold its later responses back forever.
    member.awaitingJoin?.(joinError(member.memberId, GroupError.REBALANCE_IN_PROGRESS));
    member.awaitingJoin = respond;
  }

  /** KIP-345: a static member came back with a new member id; it takes over the old one's place. */
  private replaceStaticMember(oldMemberId: string, newMemberId: string, req: JoinRequest, respond: (r: JoinResult) => void): void {
    const member = this.members.get(oldMemberId)!;
    const previousLeader = this.leaderId;
    const before = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    this.renameMember(member, oldMemberId, newMemberId);
    this.scheduleExpiry(member, member.sessionTimeoutMs);
    this.updateMember(member, req, respond);
    switch (this.stateValue) {
      case 'Stable': {
        if (this.protocolName !== this.selectProtocol()) {
          this.maybePrepareRebalance(`static member ${req.groupInstanceId} rejoined with other protocols`);
          return;
        }
        // Same protocols: no rebalance, the group's record just learns the new member id.
        const generation = this.generationId;
        void this.env.persist(this, this.metadataValue(null)).then((error) => {
          if (member.awaitingJoin !== respond) return;
          member.awaitingJoin = null;
          if (error !== GroupError.NONE) {
            if (this.members.get(newMemberId) === member) {
              this.renameMember(member, newMemberId, oldMemberId);
              Object.assign(member, before);
              this.scheduleExpiry(member, member.sessionTimeoutMs);
            }
            respond({ ...this.currentJoinResult(member, false), errorCode: error, memberId: '' });
            return;
          }
          const isLeader = this.leaderId === newMemberId;
          if (req.supportsSkipAssignment) {
            respond({ ...this.currentJoinResult(member, isLeader), generationId: generation, skipAssignment: isLeader });
          } else {
            // Answering with the previous leader id keeps a rejoining leader from computing an
            // assignment that a stable group would never hand out.
            respond({ ...this.currentJoinResult(member, false), generationId: generation, leader: previousLeader ?? '' });
          }
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may be assigning to the old member id: start over.
        this.prepareRebalance(`static member ${req.groupInstanceId} rejoined during CompletingRebalance`);
        return;
      default:
        return;
    }
  }

  private renameMember(member: Member, from: string, to: string): void {
    member.awaitingJoin?.(joinError(from, GroupError.FENCED_INSTANCE_ID));
    member.awaitingJoin = null;
    member.awaitingSync?.(syncError(GroupError.FENCED_INSTANCE_ID));
    member.awaitingSync = null;
    this.members.delete(from);
    member.memberId = to;
    this.members.set(to, member);
    if (this.leaderId === from) this.leaderId = to;
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, to);
    if (this.pendingSyncMembers.delete(from)) this.pendingSyncMembers.add(to);
  }

  private supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.stateValue === 'Empty' || this.members.size === 0) return protocolType !== '' && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /** Protocols every member supports. */
  private candidateProtocols(): Set<string> {
    let out: Set<string> | undefined;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      out = out === undefined ? names : new Set([...out].filter((n) => names.has(n)));
    }
    return out ?? new Set();
  }

  /** The candidate protocol most members prefer; ties go to the one named first by the most preferred. */
  private selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const vote = m.vote(candidates);
      if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  private isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  private numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin !== null) n++;
    return n;
  }

  private hasAllMembersJoined(): boolean {
    return this.numAwaitingJoin() === this.members.size && this.pendingMembers.size === 0;
  }

  private maybePrepareRebalance(reason: string): void {
    if (this.stateValue === 'Stable' || this.stateValue === 'CompletingRebalance' || this.stateValue === 'Empty') this.prepareRebalance(reason);
  }

  private prepareRebalance(reason: string): void {
    if (this.stateValue === 'CompletingRebalance') this.resetAndPropagateAssignmentError(GroupError.REBALANCE_IN_PROGRESS);
    this.clearPendingSync();
    const first = this.stateValue === 'Empty';
    this.transitionTo('PreparingRebalance');
    this.env.log.info('group rebalancing', { group: this.groupId, generation: this.generationId, reason });
    if (first) {
      const delay = Math.min(this.env.config.initialRebalanceDelayMs, this.rebalanceTimeoutMs());
      this.startInitialDelay(delay, Math.max(this.rebalanceTimeoutMs() - delay, 0));
    } else {
      this.startJoinTimeout();
      // Everyone may be in already (a lone leader rejoining, the last member leaving).
      this.tryCompleteJoin();
    }
  }

  private rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  private startJoinTimeout(): void {
    this.cancelJoin?.();
    this.initialDelay = false;
    this.cancelJoin = this.env.timer.schedule(this.rebalanceTimeoutMs(), () => {
      this.cancelJoin = null;
      this.completeJoin();
    });
  }

  private startInitialDelay(delayMs: number, remainingMs: number): void {
    this.cancelJoin?.();
    this.initialDelay = true;
    this.newMemberAdded = false;
    this.cancelJoin = this.env.timer.schedule(delayMs, () => {
      this.cancelJoin = null;
      if (this.newMemberAdded && remainingMs > 0) {
        const next = Math.min(this.env.config.initialRebalanceDelayMs, remainingMs);
        this.startInitialDelay(next, Math.max(remainingMs - next, 0));
      } else {
        this.initialDelay = false;
        this.completeJoin();
      }
    });
  }

  private tryCompleteJoin(): void {
    if (this.stateValue === 'PreparingRebalance' && !this.initialDelay && this.hasAllMembersJoined()) this.completeJoin();
  }

  private completeJoin(): void {
    if (this.stateValue !== 'PreparingRebalance') return;
    this.cancelJoin?.();
    this.cancelJoin = null;
    this.initialDelay = false;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place.
    for (const m of [...this.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) this.removeMember(m);
    }
    if (!this.electJoinedLeader() && this.members.size > 0) {
      // Only static members that have not rejoined are left: wait for them (or their sessions).
      this.startJoinTimeout();
      return;
    }
    this.initNextGeneration();
    if (this.members.size === 0) {
      this.env.log.info('group is empty', { group: this.groupId, generation: this.generationId });
      void this.env.persist(this, this.metadataValue(null));
      return;
    }
    this.env.log.info('group stabilized', { group: this.groupId, generation: this.generationId, members: this.members.size, protocol: this.protocolName });
    for (const m of this.members.values()) {
      const respond = m.awaitingJoin;
      m.awaitingJoin = null;
      respond?.(this.currentJoinResult(m, this.leaderId === m.memberId));
      m.isNew = false;
      this.scheduleExpiry(m, m.sessionTimeoutMs);
      this.pendingSyncMembers.add(m.memberId);
    }
    this.schedulePendingSync();
  }

  /** Keeps the leader if it rejoined, else makes any rejoined member the leader. */
  private electJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.members.get(this.leaderId)?.awaitingJoin != null) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.subscribedTopics = null;
      this.transitionTo('Empty');
    }
    this.clearPendingSync();
  }

  /** Members that do not send SyncGroup within the rebalance timeout are removed. */
  private schedulePendingSync(): void {
    this.cancelPendingSync?.();
    const generation = this.generationId;
    this.cancelPendingSync = this.env.timer.schedule(this.rebalanceTimeoutMs(), () => {
      this.cancelPendingSync = null;
      if (this.generationId !== generation || (this.stateValue !== 'CompletingRebalance' && this.stateValue !== 'Stable')) return;
      const late = [...this.pendingSyncMembers];
      this.pendingSyncMembers.clear();
      for (const id of late) {
        const m = this.members.get(id);
        if (m !== undefined) this.removeMemberAndUpdateGroup(m, 'no SyncGroup within the rebalance timeout');
      }
    });
  }

  private clearPendingSync(): void {
    this.pendingSyncMembers.clear();
    this.cancelPendingSync?.();
    this.cancelPendingSync = null;
  }

  private removePendingSync(memberId: string): void {
    if (this.pendingSyncMembers.delete(memberId) && this.pendingSyncMembers.size === 0) this.clearPendingSync();
  }

  // ---- SyncGroup ----

  sync(req: SyncRequest, respond: (r: SyncResult) => void): void {
    if (this.stateValue === 'Dead') return respond(syncError(GroupError.COORDINATOR_NOT_AVAILABLE));
    if (this.isStaticMemberFenced(req.groupInstanceId, req.memberId)) return respond(syncError(GroupError.FENCED_INSTANCE_ID));
    const member = this.members.get(req.memberId);
    if (member === undefined) return respond(syncError(GroupError.UNKNOWN_MEMBER_ID));
    if (req.generationId !== this.generationId) return respond(syncError(GroupError.ILLEGAL_GENERATION));
    if ((req.protocolType !== null && req.protocolType !== this.protocolType) || (req.protocolName !== null && req.protocolName !== this.protocolName)) {
      return respond(syncError(GroupError.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (this.stateValue) {
      case 'PreparingRebalance':
        return respond(syncError(GroupError.REBALANCE_IN_PROGRESS));
      case 'Stable':
        this.removePendingSync(member.memberId);
        this.scheduleExpiry(member, member.sessionTimeoutMs);
        return respond(this.syncResult(member.assignment));
      case 'CompletingRebalance':
        break;
      default:
        return respond(syncError(GroupError.UNKNOWN_MEMBER_ID));
    }
    member.awaitingSync?.(syncError(GroupError.REBALANCE_IN_PROGRESS));
    member.awaitingSync = respond;
    this.scheduleExpiry(member, member.sessionTimeoutMs);
    this.removePendingSync(member.memberId);
    if (member.memberId !== this.leaderId) return;
    const assignments = new Map<string, Uint8Array>();
    for (const a of req.assignments) if (this.members.has(a.memberId)) assignments.set(a.memberId, a.assignment);
    const generation = this.generationId;
    void this.env.persist(this, this.metadataValue(assignments)).then((error) => {
      if (this.stateValue !== 'CompletingRebalance' || this.generationId !== generation) return;
      if (error !== GroupError.NONE) {
        this.resetAndPropagateAssignmentError(error);
        this.maybePrepareRebalance(`storing the assignment failed with error ${error}`);
        return;
      }
      for (const m of this.members.values()) {
        m.assignment = assignments.get(m.memberId) ?? new Uint8Array(0);
        const waiting = m.awaitingSync;
        m.awaitingSync = null;
        if (waiting !== null) {
          waiting(this.syncResult(m.assignment));
          this.scheduleExpiry(m, m.sessionTimeoutMs);
        }
      }
      this.transitionTo('Stable');
    });
  }

  private syncResult(assignment: Uint8Array): SyncResult {
    return { errorCode: GroupError.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment };
  }

  private resetAndPropagateAssignmentError(errorCode: number): void {
    for (const m of this.members.values()) {
      m.assignment = new Uint8Array(0);
      const waiting = m.awaitingSync;
      m.awaitingSync = null;
      waiting?.(syncError(errorCode));
    }
  }

  // ---- Heartbeat ----

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.stateValue === 'Dead') return GroupError.COORDINATOR_NOT_AVAILABLE;
    if (this.isStaticMemberFenced(groupInstanceId, memberId)) return GroupError.FENCED_INSTANCE_ID;
    const member = this.members.get(memberId);
    if (member === undefined) return GroupError.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return GroupError.ILLEGAL_GENERATION;
    switch (this.stateValue) {
      case 'PreparingRebalance':
        this.scheduleExpiry(member, member.sessionTimeoutMs);
        return GroupError.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleExpiry(member, member.sessionTimeoutMs);
        return GroupError.NONE;
      default:
        return GroupError.UNKNOWN_MEMBER_ID;
    }
  }

  // ---- LeaveGroup ----

  /** Per-member error codes; a member given by group.instance.id alone is looked up by it. */
  leave(leaving: readonly MemberIdentity[], reason: string): number[] {
    return leaving.map(({ memberId, groupInstanceId }) => {
      if (memberId === '') {
        const current = groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
        if (current === undefined) return GroupError.UNKNOWN_MEMBER_ID;
        this.removeMemberAndUpdateGroup(this.members.get(current)!, reason);
        return GroupError.NONE;
      }
      if (this.pendingMembers.has(memberId)) {
        this.expirePendingMember(memberId);
        return GroupError.NONE;
      }
      if (this.isStaticMemberFenced(groupInstanceId, memberId)) return GroupError.FENCED_INSTANCE_ID;
      const member = this.members.get(memberId);
      if (member === undefined) return GroupError.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(member, reason);
      return GroupError.NONE;
    });
  }

  private expirePendingMember(memberId: string): void {
    this.pendingMembers.get(memberId)?.();
    this.pendingMembers.delete(memberId);
    this.tryCompleteJoin();
  }

  private removeMember(member: Member): void {
    member.cancelExpiry?.();
    member.cancelExpiry = null;
    member.awaitingSync?.(syncError(GroupError.UNKNOWN_MEMBER_ID));
    member.awaitingSync = null;
    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === member.memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    this.removePendingSync(member.memberId);
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  private removeMemberAndUpdateGroup(member: Member, reason: string): void {
    const waiting = member.awaitingJoin;
    member.awaitingJoin = null;
    waiting?.(joinError('', GroupError.UNKNOWN_MEMBER_ID));
    this.removeMember(member);
    this.env.log.info('member left group', { group: this.groupId, member: member.memberId, reason });
    if (this.stateValue === 'Stable' || this.stateValue === 'CompletingRebalance') this.prepareRebalance(`${member.memberId} left: ${reason}`);
    else if (this.stateValue === 'PreparingRebalance') this.tryCompleteJoin();
  }

  /**
   * (Re)arms a member's expiry. A member waiting in a JoinGroup or SyncGroup cannot
   * heartbeat, so it is kept alive then, except a new member stuck in its first join.
   */
  private scheduleExpiry(member: Member, timeoutMs: number): void {
    member.cancelExpiry?.();
    member.cancelExpiry = this.env.timer.schedule(timeoutMs, () => {
      member.cancelExpiry = null;
      if (this.members.get(member.memberId) !== member) return;
      if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) {
        this.scheduleExpiry(member, member.sessionTimeoutMs);
        return;
      }
      this.removeMemberAndUpdateGroup(member, member.isNew ? 'new member did not complete its join in time' : 'session timed out');
    });
  }

  // ---- offsets ----

  /**
   * Whether an OffsetCommit from this member may commit now: 0, or the error for every
   * partition. A commit with no member and a negative generation is a "simple" commit,
   * allowed only while the group has no members.
   */
  validateCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.stateValue === 'Dead') return GroupError.COORDINATOR_NOT_AVAILABLE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      if (this.isStaticMemberFenced(groupInstanceId, memberId)) return GroupError.FENCED_INSTANCE_ID;
      const member = this.members.get(memberId);
      if (member === undefined) return GroupError.UNKNOWN_MEMBER_ID;
      if (generationId !== this.generationId) return GroupError.ILLEGAL_GENERATION;
      // The member has its JoinGroup response but not its assignment yet.
      if (this.stateValue === 'CompletingRebalance') return GroupError.REBALANCE_IN_PROGRESS;
      this.scheduleExpiry(member, member.sessionTimeoutMs);
      return GroupError.NONE;
    }
    return this.stateValue === 'Empty' ? GroupError.NONE : GroupError.UNKNOWN_MEMBER_ID;
  }

  /** Kafka's rules for which committed offsets `offsets.retention.minutes` has expired. */
  expiredOffsets(nowMs: number): Array<{ topic: string; partition: number }> {
    const retentionMs = this.env.config.offsetsRetentionMs;
    let base: ((o: CommittedOffset) => number) | undefined;
    let keep: ReadonlySet<string> = new Set();
    if (this.protocolType !== null && this.stateValue === 'Empty') {
      const since = this.stateTimestampMs;
      base = (o) => since ?? o.commitTimestampMs;
    } else if (this.protocolType === CONSUMER_PROTOCOL_TYPE && this.subscribedTopics !== null && this.stateValue === 'Stable') {
      base = (o) => o.commitTimestampMs;
      keep = this.subscribedTopics;
    } else if (this.protocolType === null) {
      base = (o) => o.commitTimestampMs;
    }
    if (base === undefined) return [];
    return this.expiredSince(nowMs, retentionMs, base, keep);
  }

  /** Whether the members' subscriptions name `topic` (true when they cannot be read). */
  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  isConsumerGroup(): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  private computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const bytes = m.metadata(this.protocolName);
      try {
        const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        const version = r.int16();
        if (version < 0) return null;
        // Later versions only append fields, so the newest we know reads what we need.
        for (const t of decodeConsumerProtocolSubscription(r, Math.min(version, CONSUMER_SUBSCRIPTION_MAX_VERSION)).topics) topics.add(t);
      } catch {
        return null;
      }
    }
    return topics;
  }

  // ---- lifecycle, describe ----

  /** Dead for good: pending requests are answered, timers cancelled. */
  markDead(): void {
    this.stop(GroupError.COORDINATOR_NOT_AVAILABLE);
    this.transitionTo('Dead');
  }

  /** Cancels every deadline and answers every pending JoinGroup and SyncGroup with `errorCode`. */
  stop(errorCode: number): void {
    this.cancelJoin?.();
    this.cancelJoin = null;
    this.clearPendingSync();
    for (const cancel of this.pendingMembers.values()) cancel();
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      m.cancelExpiry?.();
      m.cancelExpiry = null;
      const join = m.awaitingJoin;
      const sync = m.awaitingSync;
      m.awaitingJoin = null;
      m.awaitingSync = null;
      join?.(joinError(m.memberId, errorCode));
      sync?.(syncError(errorCode));
    }
  }

  /** DescribeGroups: metadata and assignments only for a Stable group, as Kafka. */
  summaries(): MemberSummary[] {
    const stable = this.stateValue === 'Stable';
    const empty = new Uint8Array(0);
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
      metadata: stable ? m.metadata(this.protocolName ?? '') : empty,
      assignment: stable ? m.assignment : empty,
    }));
  }

  /** The group's record in `__consumer_offsets`; `assignments` replaces the members' current ones. */
  metadataValue(assignments: ReadonlyMap<string, Uint8Array> | null): GroupMetadataValue {
    return {
      protocolType: this.protocolType ?? '',
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: this.stateTimestampMs ?? -1,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: m.metadata(this.protocolName ?? ''),
        assignment: assignments === null ? m.assignment : (assignments.get(m.memberId) ?? new Uint8Array(0)),
      })),
    };
  }
}
