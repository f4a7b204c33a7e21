/**
 * A consumer group of the next-generation protocol (KIP-848): the coordinator assigns
 * partitions itself, and each member converges to its share one heartbeat at a time,
 * without a group-wide barrier.
 *
 * Three epochs drive it:
 *   - the group epoch moves whenever membership, a subscription, the chosen assignor or the
 *     subscribed topics' partition counts change;
 *   - the target assignment (what each member should own) is recomputed by the assignor for
 *     that epoch, and carries it as the assignment epoch;
 *   - each member's epoch reaches the assignment epoch once the member has given up what is
 *     no longer its own.
 *
 * Reconciliation, per member, on its heartbeat:
 *   - partitions it owns that its target no longer has are revoked first: the member keeps its
 *     epoch and is told only what it keeps (state UNREVOKED_PARTITIONS) until a heartbeat lists
 *     owned partitions without them; past its rebalance timeout it is removed;
 *   - then it takes the new epoch and the partitions of its target that nobody else owns or is
 *     still revoking; the rest come on later heartbeats, once released (UNRELEASED_PARTITIONS);
 *   - with everything in hand it is STABLE.
 * So a partition never has two owners, and members that keep their partitions never stop.
 *
 * Everything runs synchronously on the caller's turn and produces the records that describe
 * the change (consumer-records.ts); a heartbeat is answered once they are durable.
 */
import { randomBytes } from 'node:crypto';
import type { Logger, TopicDescription } from '@sluice/sdk';
import type { ConsumerGroupCurrentMemberAssignmentValue, ConsumerGroupMemberMetadataValue, ConsumerGroupPartitionMetadataValue } from '../protocol/index.js';
import { uuidFromString, uuidToString } from '../protocol/index.js';
import {
  ASSIGNORS, EMPTY_ASSIGNMENT, assignmentFrom, intersect, isEmptyAssignment, isSubset, minus, sameAssignment, sortedEntries, union, type Assignment,
} from './assignors.js';
import type { GroupConfig } from './config.js';
import {
  cgCurrentAssignmentRecord, cgMemberRecord, cgMetadataRecord, cgPartitionMetadataRecord, cgTargetMemberRecord, cgTargetMetadataRecord,
  type ConsumerGroupRecord, type TopicPartitionsRecord,
} from './consumer-records.js';
import { GroupError } from './errors.js';
import { GroupOffsets } from './offsets.js';
import type { CommittedOffset, StorageRecord } from './storage-records.js';
import type { Timer } from './timer.js';

/** Kafka's MemberState byte values, as CurrentMemberAssignment records store them. */
export const MemberState = { STABLE: 0, UNREVOKED_PARTITIONS: 1, UNRELEASED_PARTITIONS: 2 } as const;
export type MemberStateValue = (typeof MemberState)[keyof typeof MemberState];

export const LEAVE_GROUP_EPOCH = -1;
/** A static member going away for a while: it keeps its partitions until its session ends. */
export const LEAVE_GROUP_STATIC_EPOCH = -2;

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

/** Where topic ids and partition counts come from (the kernel). */
export interface TopicCatalog {
  listTopics(): readonly TopicDescription[];
  describeTopic(name: string): TopicDescription | undefined;
}

export interface ConsumerGroupEnv {
  readonly timer: Timer;
  readonly config: GroupConfig;
  readonly log: Logger;
  readonly topics: TopicCatalog;
  /** Appends the records durably; resolves with 0 or the error code to answer. */
  persist(group: ConsumerGroup, records: readonly StorageRecord[]): Promise<number>;
}

/** A ConsumerGroupHeartbeat as the group sees it; null fields did not change since the last one. */
export interface ConsumerHeartbeat {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[] | null;
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly ownedPartitions: Assignment | null;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface ConsumerHeartbeatResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  /** Only when the member must learn it (it changed, or the request was a full one). */
  readonly assignment: Assignment | null;
}

export function heartbeatError(errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
}

/** Full-match semantics, as Kafka's Pattern.matches; throws on a pattern JavaScript cannot compile. */
export function compileSubscriptionRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

export class ConsumerMember {
  instanceId: string | null = null;
  rackId: string | null = null;
  clientId = '';
  clientHost = '';
  subscribedTopicNames: readonly string[] = [];
  subscribedTopicRegex: string | null = null;
  regex: RegExp | null = null;
  rebalanceTimeoutMs = -1;
  serverAssignor: string | null = null;
  memberEpoch = 0;
  previousMemberEpoch = 0;
  state: MemberStateValue = MemberState.STABLE;
  assigned: Assignment = EMPTY_ASSIGNMENT;
  pendingRevocation: Assignment = EMPTY_ASSIGNMENT;
  cancelSession: (() => void) | null = null;
  cancelRevocation: (() => void) | null = null;

  constructor(readonly memberId: string) {}

  metadataValue(): ConsumerGroupMemberMetadataValue {
    return {
      instanceId: this.instanceId, rackId: this.rackId, clientId: this.clientId, clientHost: this.clientHost,
      subscribedTopicNames: [...this.subscribedTopicNames], subscribedTopicRegex: this.subscribedTopicRegex,
      rebalanceTimeoutMs: this.rebalanceTimeoutMs, serverAssignor: this.serverAssignor, classicMemberMetadata: null,
    };
  }

  assignmentValue(): ConsumerGroupCurrentMemberAssignmentValue {
    return {
      memberEpoch: this.memberEpoch, previousMemberEpoch: this.previousMemberEpoch, state: this.state,
      assignedPartitions: toRecordPartitions(this.assigned), partitionsPendingRevocation: toRecordPartitions(this.pendingRevocation),
    };
  }
}

export function toRecordPartitions(a: Assignment): TopicPartitionsRecord[] {
  return sortedEntries(a).map(([t, partitions]) => ({ topicId: uuidFromString(t), partitions }));
}

export function fromRecordPartitions(tps: ReadonlyArray<{ readonly topicId: Uint8Array; readonly partitions: readonly number[] }>): Assignment {
  return assignmentFrom(tps.map((tp) => [uuidToString(tp.topicId), tp.partitions] as const));
}

interface FoundMember {
  readonly member: ConsumerMember;
  readonly isNew: boolean;
  /** A static member that took over the place of its previous incarnation. */
  readonly replaced: boolean;
}

interface SubscribedTopic {
  readonly topicId: string;
  readonly partitions: number;
}

/** What the records of one group add up to while `__consumer_offsets` is replayed. */
export interface ConsumerGroupSnapshot {
  epoch: number | null;
  partitionMetadata: ConsumerGroupPartitionMetadataValue | null;
  assignmentEpoch: number;
  readonly members: Map<string, ConsumerGroupMemberMetadataValue>;
  readonly targets: Map<string, Assignment>;
  readonly current: Map<string, ConsumerGroupCurrentMemberAssignmentValue>;
}

export function emptySnapshot(): ConsumerGroupSnapshot {
  return { epoch: null, partitionMetadata: null, assignmentEpoch: 0, members: new Map(), targets: new Map(), current: new Map() };
}

/** Applies one replayed record; a tombstone removes what its key names. */
export function applyRecord(s: ConsumerGroupSnapshot, r: ConsumerGroupRecord): void {
  switch (r.kind) {
    case 'cg-metadata':
      s.epoch = r.value?.epoch ?? null;
      return;
    case 'cg-partition-metadata':
      s.partitionMetadata = r.value;
      return;
    case 'cg-member':
      if (r.value === null) s.members.delete(r.memberId);
      else s.members.set(r.memberId, r.value);
      return;
    case 'cg-target-metadata':
      s.assignmentEpoch = r.value?.assignmentEpoch ?? 0;
      return;
    case 'cg-target-member':
      if (r.value === null) s.targets.delete(r.memberId);
      else s.targets.set(r.memberId, fromRecordPartitions(r.value.topicPartitions));
      return;
    case 'cg-current-assignment':
      if (r.value === null) s.current.delete(r.memberId);
      else s.current.set(r.memberId, r.value);
      return;
  }
}

const INTERNAL_TOPIC_PREFIX = '__';

export class ConsumerGroup extends GroupOffsets {
  readonly type: 'consumer' = 'consumer';
  groupEpoch = 0;
  assignmentEpoch = 0;
  /** The assignor the last target assignment was computed with. */
  assignorName: string;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id → member id of the static member holding it. */
  readonly staticMembers = new Map<string, string>();
  readonly targetAssignment = new Map<string, Assignment>();
  /** Subscribed topics that exist, by name, as of the group epoch. */
  subscriptionMetadata = new Map<string, SubscribedTopic>();
  /** "topicId:partition" → the member that owns it or is still revoking it. */
  private readonly owners = new Map<string, string>();
  private dead = false;

  constructor(
    readonly groupId: string,
    private readonly env: ConsumerGroupEnv,
  ) {
    super();
    this.assignorName = env.config.consumerAssignors[0]!;
  }

  /** A group rebuilt from its records; members get a full session to show up again. */
  static restore(groupId: string, env: ConsumerGroupEnv, s: ConsumerGroupSnapshot): ConsumerGroup {
    const g = new ConsumerGroup(groupId, env);
    g.groupEpoch = s.epoch ?? 0;
    g.assignmentEpoch = s.assignmentEpoch;
    for (const t of s.partitionMetadata?.topics ?? []) g.subscriptionMetadata.set(t.topicName, { topicId: uuidToString(t.topicId), partitions: t.numPartitions });
    for (const [memberId, v] of s.members) {
      const m = new ConsumerMember(memberId);
      m.instanceId = v.instanceId;
      m.rackId = v.rackId;
      m.clientId = v.clientId;
      m.clientHost = v.clientHost;
      m.subscribedTopicNames = v.subscribedTopicNames;
      m.subscribedTopicRegex = v.subscribedTopicRegex;
      try {
        m.regex = v.subscribedTopicRegex === null || v.subscribedTopicRegex === '' ? null : compileSubscriptionRegex(v.subscribedTopicRegex);
      } catch {
        m.regex = null;
      }
      m.rebalanceTimeoutMs = v.rebalanceTimeoutMs;
      m.serverAssignor = v.serverAssignor;
      const c = s.current.get(memberId);
      if (c !== undefined) {
        m.memberEpoch = c.memberEpoch;
        m.previousMemberEpoch = c.previousMemberEpoch;
        m.state = (c.state === MemberState.UNREVOKED_PARTITIONS || c.state === MemberState.UNRELEASED_PARTITIONS ? c.state : MemberState.STABLE);
      }
      g.members.set(memberId, m);
      if (m.instanceId !== null) g.staticMembers.set(m.instanceId, memberId);
      g.setOwnership(m, c === undefined ? EMPTY_ASSIGNMENT : fromRecordPartitions(c.assignedPartitions),
        c === undefined ? EMPTY_ASSIGNMENT : fromRecordPartitions(c.partitionsPendingRevocation));
      const target = s.targets.get(memberId);
      if (target !== undefined) g.targetAssignment.set(memberId, target);
      g.scheduleSession(m);
      if (m.state === MemberState.UNREVOKED_PARTITIONS) g.scheduleRevocation(m);
    }
    g.assignorName = g.preferredAssignor();
    return g;
  }

  get state(): ConsumerGroupState {
    if (this.dead) return 'Dead';
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== MemberState.STABLE) return 'Reconciling';
    }
    return 'Stable';
  }

  // ---- heartbeat ----

  /**
   * One ConsumerGroupHeartbeat (join, heartbeat or leave). `prefix` records (a replaced
   * classic group's tombstone) are written ahead of the group's own.
   */
  heartbeat(req: ConsumerHeartbeat, prefix: readonly StorageRecord[] = []): ConsumerHeartbeatResult | Promise<ConsumerHeartbeatResult> {
    if (this.dead) return heartbeatError(GroupError.COORDINATOR_NOT_AVAILABLE);
    if (req.memberEpoch === LEAVE_GROUP_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_EPOCH) return this.leave(req);
    const records: StorageRecord[] = [...prefix];
    const found = this.memberFor(req, records);
    if (typeof found === 'number') return heartbeatError(found);
    const { member, isNew, replaced } = found;
    const before = { assigned: member.assigned, epoch: member.memberEpoch, pending: member.pendingRevocation, state: member.state };
    // A static member taking over its old place changes nothing the assignor sees.
    let bump = isNew && !replaced;
    // 1. The member's own metadata; a different subscription or assignor moves the group epoch.
    const metadataBefore = JSON.stringify(member.metadataValue());
    if (req.subscribedTopicNames !== null && !sameNames(req.subscribedTopicNames, member.subscribedTopicNames)) {
      member.subscribedTopicNames = [...req.subscribedTopicNames];
      bump = true;
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== (member.subscribedTopicRegex ?? '')) {
      member.subscribedTopicRegex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex;
      member.regex = member.subscribedTopicRegex === null ? null : compileSubscriptionRegex(member.subscribedTopicRegex);
      bump = true;
    }
    if (req.serverAssignor !== null && req.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = req.serverAssignor;
      bump = true;
    }
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    if (isNew || JSON.stringify(member.metadataValue()) !== metadataBefore) records.push(cgMemberRecord(this.groupId, member.memberId, member.metadataValue()));
    // 2. The subscribed topics as they are now (created, deleted, grown).
    if (this.refreshSubscriptionMetadata(records)) bump = true;
    if (bump) this.bumpGroupEpoch(records);
    if (this.groupEpoch > this.assignmentEpoch) this.computeTargetAssignment(records);
    // 3. Converge the member towards its target.
    this.reconcile(member, req.ownedPartitions);
    if (isNew || member.memberEpoch !== before.epoch || member.state !== before.state
      || !sameAssignment(member.assigned, before.assigned) || !sameAssignment(member.pendingRevocation, before.pending)) {
      records.push(cgCurrentAssignmentRecord(this.groupId, member.memberId, member.assignmentValue()));
    }
    this.scheduleSession(member);
    const full = req.memberEpoch === 0 || (req.rebalanceTimeoutMs !== -1 && req.subscribedTopicNames !== null && req.ownedPartitions !== null);
    const result: ConsumerHeartbeatResult = {
      errorCode: GroupError.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.env.config.consumerHeartbeatIntervalMs,
      assignment: full || !sameAssignment(member.assigned, before.assigned) ? member.assigned : null,
    };
    return this.write(records, result);
  }

  private write(records: readonly StorageRecord[], result: ConsumerHeartbeatResult): ConsumerHeartbeatResult | Promise<ConsumerHeartbeatResult> {
    if (records.length === 0) return result;
    return this.env.persist(this, records).then((error) => (error === GroupError.NONE ? result : heartbeatError(error)));
  }

  /** The member a heartbeat is from, created or taken over when it joins; else the error code. */
  private memberFor(req: ConsumerHeartbeat, records: StorageRecord[]): FoundMember | number {
    const joining = req.memberEpoch === 0;
    if (req.instanceId !== null) {
      const heldBy = this.staticMembers.get(req.instanceId);
      const holder = heldBy === undefined ? undefined : this.members.get(heldBy);
      if (holder === undefined) {
        if (!joining) return GroupError.UNKNOWN_MEMBER_ID;
      } else if (holder.memberId === req.memberId) {
        return this.checkKnownMember(holder, req);
      } else if (!joining) {
        return GroupError.FENCED_INSTANCE_ID;
      } else if (holder.memberEpoch !== LEAVE_GROUP_STATIC_EPOCH) {
        return GroupError.UNRELEASED_INSTANCE_ID;
      } else {
        return { member: this.replaceStaticMember(holder, req, records), isNew: true, replaced: true };
      }
    }
    const existing = req.memberId === '' ? undefined : this.members.get(req.memberId);
    if (existing !== undefined) return this.checkKnownMember(existing, req);
    if (!joining) return GroupError.UNKNOWN_MEMBER_ID;
    if (this.members.size >= this.env.config.consumerMaxSize) return GroupError.GROUP_MAX_SIZE_REACHED;
    const member = new ConsumerMember(req.memberId === '' ? uuidToString(randomBytes(16)) : req.memberId);
    member.instanceId = req.instanceId;
    this.members.set(member.memberId, member);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
    this.env.log.info('consumer group member joined', { group: this.groupId, member: member.memberId, instance: member.instanceId });
    return { member, isNew: true, replaced: false };
  }

  private checkKnownMember(member: ConsumerMember, req: ConsumerHeartbeat): FoundMember | number {
    if (req.memberEpoch === 0) {
      // A member that was fenced rejoins under its id: it has dropped everything it owned.
      this.setOwnership(member, EMPTY_ASSIGNMENT, EMPTY_ASSIGNMENT);
      member.memberEpoch = 0;
      member.previousMemberEpoch = 0;
      member.state = MemberState.STABLE;
      this.cancelRevocation(member);
      return { member, isNew: false, replaced: false };
    }
    if (req.memberEpoch > member.memberEpoch) return GroupError.FENCED_MEMBER_EPOCH;
    if (req.memberEpoch < member.memberEpoch) {
      // The response that bumped its epoch may have been lost: the previous epoch, with
      // nothing beyond what it now has, is still that member.
      if (req.memberEpoch !== member.previousMemberEpoch || req.ownedPartitions === null || !isSubset(req.ownedPartitions, member.assigned)) {
        return GroupError.FENCED_MEMBER_EPOCH;
      }
    }
    return { member, isNew: false, replaced: false };
  }

  /** KIP-848 static membership: a static member back after a -2 leave takes over its old place and partitions. */
  private replaceStaticMember(old: ConsumerMember, req: ConsumerHeartbeat, records: StorageRecord[]): ConsumerMember {
    const member = new ConsumerMember(req.memberId === '' ? uuidToString(randomBytes(16)) : req.memberId);
    Object.assign(member, {
      instanceId: old.instanceId, rackId: old.rackId, subscribedTopicNames: old.subscribedTopicNames, subscribedTopicRegex: old.subscribedTopicRegex,
      regex: old.regex, rebalanceTimeoutMs: old.rebalanceTimeoutMs, serverAssignor: old.serverAssignor,
    });
    const owned = old.assigned;
    const revoking = old.pendingRevocation;
    const target = this.targetAssignment.get(old.memberId);
    this.dropMember(old, records);
    this.members.set(member.memberId, member);
    this.staticMembers.set(member.instanceId!, member.memberId);
    this.setOwnership(member, owned, revoking);
    if (target !== undefined) {
      this.targetAssignment.set(member.memberId, target);
      records.push(cgTargetMemberRecord(this.groupId, member.memberId, toRecordPartitions(target)));
    }
    this.env.log.info('static member replaced', { group: this.groupId, instance: member.instanceId, old: old.memberId, member: member.memberId });
    return member;
  }

  private leave(req: ConsumerHeartbeat): ConsumerHeartbeatResult | Promise<ConsumerHeartbeatResult> {
    let member = this.members.get(req.memberId);
    if (req.instanceId !== null) {
      const heldBy = this.staticMembers.get(req.instanceId);
      if (heldBy === undefined) return heartbeatError(GroupError.UNKNOWN_MEMBER_ID);
      if (heldBy !== req.memberId) return heartbeatError(GroupError.FENCED_INSTANCE_ID);
      member = this.members.get(heldBy);
    }
    if (member === undefined) return heartbeatError(GroupError.UNKNOWN_MEMBER_ID);
    const result = { ...heartbeatError(GroupError.NONE), memberId: member.memberId, memberEpoch: req.memberEpoch };
    if (req.memberEpoch === LEAVE_GROUP_STATIC_EPOCH) {
      // It keeps its partitions (nobody else gets them) until it is back or its session ends.
      member.memberEpoch = LEAVE_GROUP_STATIC_EPOCH;
      this.scheduleSession(member);
      this.env.log.info('static member left temporarily', { group: this.groupId, member: member.memberId, instance: member.instanceId });
      return this.write([cgCurrentAssignmentRecord(this.groupId, member.memberId, member.assignmentValue())], result);
    }
    return this.write(this.removeMember(member, 'left the group'), result);
  }

  // ---- membership changes ----

  /** Removes a member and rebalances the rest; returns the records to write. */
  removeMember(member: ConsumerMember, reason: string): StorageRecord[] {
    const records: StorageRecord[] = [];
    this.dropMember(member, records);
    this.env.log.info('consumer group member removed', { group: this.groupId, member: member.memberId, reason });
    this.refreshSubscriptionMetadata(records);
    this.bumpGroupEpoch(records);
    this.computeTargetAssignment(records);
    return records;
  }

  /** Forgets a member and tombstones its records, without touching the group epoch. */
  private dropMember(member: ConsumerMember, records: StorageRecord[]): void {
    member.cancelSession?.();
    member.cancelSession = null;
    this.cancelRevocation(member);
    this.setOwnership(member, EMPTY_ASSIGNMENT, EMPTY_ASSIGNMENT);
    this.members.delete(member.memberId);
    this.targetAssignment.delete(member.memberId);
    if (member.instanceId !== null && this.staticMembers.get(member.instanceId) === member.memberId) this.staticMembers.delete(member.instanceId);
    records.push(
      cgCurrentAssignmentRecord(this.groupId, member.memberId, null),
      cgTargetMemberRecord(this.groupId, member.memberId, null),
      cgMemberRecord(this.groupId, member.memberId, null),
    );
  }

  /** Removal the group decides itself (session, revocation timeout): written without anyone waiting. */
  private expire(member: ConsumerMember, reason: string): void {
    if (this.members.get(member.memberId) !== member) return;
    const records = this.removeMember(member, reason);
    void this.env.persist(this, records).then((error) => {
      if (error !== GroupError.NONE) this.env.log.warn('writing a consumer group change failed', { group: this.groupId, error });
    });
  }

  private scheduleSession(member: ConsumerMember): void {
    member.cancelSession?.();
    member.cancelSession = this.env.timer.schedule(this.env.config.consumerSessionTimeoutMs, () => {
      member.cancelSession = null;
      this.expire(member, 'session timed out');
    });
  }

  private scheduleRevocation(member: ConsumerMember): void {
    this.cancelRevocation(member);
    const pending = member.pendingRevocation;
    member.cancelRevocation = this.env.timer.schedule(Math.max(member.rebalanceTimeoutMs, 0), () => {
      member.cancelRevocation = null;
      if (member.state === MemberState.UNREVOKED_PARTITIONS && member.pendingRevocation === pending) {
        this.expire(member, 'did not revoke its partitions within the rebalance timeout');
      }
    });
  }

  private cancelRevocation(member: ConsumerMember): void {
    member.cancelRevocation?.();
    member.cancelRevocation = null;
  }

  private bumpGroupEpoch(records: StorageRecord[]): void {
    this.groupEpoch++;
    records.push(cgMetadataRecord(this.groupId, this.groupEpoch));
  }

  // ---- subscriptions and the target assignment ----

  private subscribes(member: ConsumerMember, topic: string): boolean {
    return member.subscribedTopicNames.includes(topic) || (member.regex !== null && !topic.startsWith(INTERNAL_TOPIC_PREFIX) && member.regex.test(topic));
  }

  /** Topics some member subscribes to, by name, whether or not they exist. */
  subscribedTopicNames(): Set<string> {
    const names = new Set<string>();
    for (const m of this.members.values()) for (const t of m.subscribedTopicNames) names.add(t);
    for (const t of this.subscriptionMetadata.keys()) names.add(t);
    return names;
  }

  /** Rereads the subscribed topics from the catalog; true (and a record) when they changed. */
  private refreshSubscriptionMetadata(records: StorageRecord[]): boolean {
    const next = new Map<string, SubscribedTopic>();
    const add = (t: TopicDescription | undefined) => {
      if (t !== undefined) next.set(t.name, { topicId: uuidToString(t.topicId), partitions: t.partitions });
    };
    const members = [...this.members.values()];
    for (const m of members) for (const name of m.subscribedTopicNames) add(this.env.topics.describeTopic(name));
    if (members.some((m) => m.regex !== null)) {
      for (const t of this.env.topics.listTopics()) if (members.some((m) => m.regex !== null && this.subscribes(m, t.name))) add(t);
    }
    const same = next.size === this.subscriptionMetadata.size && [...next].every(([name, t]) => {
      const had = this.subscriptionMetadata.get(name);
      return had !== undefined && had.topicId === t.topicId && had.partitions === t.partitions;
    });
    if (same) return false;
    this.subscriptionMetadata = new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    records.push(cgPartitionMetadataRecord(this.groupId, {
      topics: [...this.subscriptionMetadata].map(([topicName, t]) => ({ topicId: uuidFromString(t.topicId), topicName, numPartitions: t.partitions, partitionMetadata: [] })),
    }));
    return true;
  }

  /** The server assignor most members ask for (ties: the first in group.consumer.assignors); else the default. */
  private preferredAssignor(): string {
    const configured = this.env.config.consumerAssignors;
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      if (m.serverAssignor !== null && configured.includes(m.serverAssignor)) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    }
    let best = configured[0]!;
    let bestVotes = 0;
    for (const name of configured) {
      const n = votes.get(name) ?? 0;
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  private computeTargetAssignment(records: StorageRecord[]): void {
    this.assignorName = this.preferredAssignor();
    const topics = new Map([...this.subscriptionMetadata].map(([name, t]) => [t.topicId, { name, partitions: t.partitions }]));
    const members = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      topics: new Set([...this.subscriptionMetadata].filter(([name]) => this.subscribes(m, name)).map(([, t]) => t.topicId)),
      previous: this.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT,
    }));
    const result = ASSIGNORS.get(this.assignorName)!.assign({ members, topics });
    for (const m of members) {
      const next = result.get(m.memberId) ?? EMPTY_ASSIGNMENT;
      const had = this.targetAssignment.get(m.memberId);
      if (had !== undefined && sameAssignment(had, next)) continue;
      this.targetAssignment.set(m.memberId, next);
      records.push(cgTargetMemberRecord(this.groupId, m.memberId, toRecordPartitions(next)));
    }
    this.assignmentEpoch = this.groupEpoch;
    records.push(cgTargetMetadataRecord(this.groupId, this.assignmentEpoch));
    this.env.log.info('consumer group target assignment computed', {
      group: this.groupId, epoch: this.assignmentEpoch, assignor: this.assignorName, members: members.length,
    });
  }

  // ---- reconciliation ----

  private reconcile(member: ConsumerMember, owned: Assignment | null): void {
    if (member.memberEpoch === LEAVE_GROUP_STATIC_EPOCH) return;
    switch (member.state) {
      case MemberState.UNREVOKED_PARTITIONS:
        // Nothing moves until the member shows it has let go of every revoked partition.
        if (owned === null || !isEmptyAssignment(intersect(owned, member.pendingRevocation))) return;
        this.computeNext(member);
        return;
      case MemberState.UNRELEASED_PARTITIONS:
        this.computeNext(member);
        return;
      default:
        if (member.memberEpoch !== this.assignmentEpoch) this.computeNext(member);
    }
  }

  private computeNext(member: ConsumerMember): void {
    const target = this.targetAssignment.get(member.memberId) ?? EMPTY_ASSIGNMENT;
    const kept = intersect(member.assigned, target);
    const revoke = minus(member.assigned, target);
    if (!isEmptyAssignment(revoke)) {
      this.setOwnership(member, kept, revoke);
      member.state = MemberState.UNREVOKED_PARTITIONS;
      this.scheduleRevocation(member);
      return;
    }
    const wanted = minus(target, member.assigned);
    const free = assignmentFrom([...wanted].map(([t, ps]) => [t, [...ps].filter((p) => {
      const owner = this.owners.get(`${t}:${p}`);
      return owner === undefined || owner === member.memberId;
    })] as const));
    this.setOwnership(member, union(kept, free), EMPTY_ASSIGNMENT);
    this.cancelRevocation(member);
    if (member.memberEpoch !== this.assignmentEpoch) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = this.assignmentEpoch;
    }
    member.state = sameAssignment(member.assigned, target) ? MemberState.STABLE : MemberState.UNRELEASED_PARTITIONS;
  }

  /** Sets what a member owns and revokes, keeping the partition → owner index in step. */
  private setOwnership(member: ConsumerMember, assigned: Assignment, pendingRevocation: Assignment): void {
    for (const a of [member.assigned, member.pendingRevocation]) {
      for (const [t, ps] of a) for (const p of ps) if (this.owners.get(`${t}:${p}`) === member.memberId) this.owners.delete(`${t}:${p}`);
    }
    member.assigned = assigned;
    member.pendingRevocation = pendingRevocation;
    for (const a of [assigned, pendingRevocation]) for (const [t, ps] of a) for (const p of ps) this.owners.set(`${t}:${p}`, member.memberId);
  }

  // ---- offsets ----

  /**
   * OffsetCommit from a member of this group: 0, or the error for every partition. Commits
   * without a member epoch are accepted only while the group has no members.
   */
  validateCommit(memberId: string, memberEpoch: number, apiVersion: number): number {
    if (this.dead) return GroupError.COORDINATOR_NOT_AVAILABLE;
    if (memberEpoch < 0 && this.members.size === 0) return GroupError.NONE;
    const member = this.members.get(memberId);
    if (member === undefined) return GroupError.UNKNOWN_MEMBER_ID;
    // Member epochs only exist from OffsetCommit v9 on.
    if (apiVersion < 9) return GroupError.UNSUPPORTED_VERSION;
    return this.checkEpoch(member, memberEpoch);
  }

  /** OffsetFetch v9+: epoch -1 is an admin read; a member must be at its current epoch. */
  validateFetch(memberId: string, memberEpoch: number): number {
    if (memberEpoch === -1) return GroupError.NONE;
    const member = this.members.get(memberId);
    if (member === undefined) return GroupError.UNKNOWN_MEMBER_ID;
    return this.checkEpoch(member, memberEpoch);
  }

  private checkEpoch(member: ConsumerMember, memberEpoch: number): number {
    if (memberEpoch > member.memberEpoch) return GroupError.FENCED_MEMBER_EPOCH;
    if (memberEpoch < member.memberEpoch) return GroupError.STALE_MEMBER_EPOCH;
    return GroupError.NONE;
  }

  /** Kafka's rule for consumer groups: by commit time, except topics the group subscribes to. */
  expiredOffsets(nowMs: number): Array<{ topic: string; partition: number }> {
    return this.expiredSince(nowMs, this.env.config.offsetsRetentionMs, (o: CommittedOffset) => o.commitTimestampMs, this.subscribedTopicNames());
  }

  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopicNames().has(topic);
  }

  // ---- lifecycle, describe ----

  markDead(): void {
    this.stop(GroupError.COORDINATOR_NOT_AVAILABLE);
    this.dead = true;
  }

  stop(_errorCode: number): void {
    for (const m of this.members.values()) {
      m.cancelSession?.();
      m.cancelSession = null;
      this.cancelRevocation(m);
    }
  }

  /** Every record of the group as a tombstone, members first, the group epoch last (Kafka's order). */
  tombstones(): StorageRecord[] {
    const records: StorageRecord[] = [];
    for (const id of this.members.keys()) {
      records.push(cgCurrentAssignmentRecord(this.groupId, id, null), cgTargetMemberRecord(this.groupId, id, null), cgMemberRecord(this.groupId, id, null));
    }
    records.push(cgTargetMetadataRecord(this.groupId, null), cgPartitionMetadataRecord(this.groupId, null), cgMetadataRecord(this.groupId, null));
    return records;
  }

  /** Topic name of a topic id: the subscribed topics first, then the catalog. */
  topicName(topicId: string): string {
    for (const [name, t] of this.subscriptionMetadata) if (t.topicId === topicId) return name;
    return this.env.topics.listTopics().find((t) => uuidToString(t.topicId) === topicId)?.name ?? '';
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(b);
  return a.every((x) => s.has(x));
}
