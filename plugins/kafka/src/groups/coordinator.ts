/**
 * The group coordinator: finds a group's state (loaded from `__consumer_offsets`), checks
 * what Kafka checks before a group sees a request, writes commits and group metadata
 * durably, and expires offsets by `offsets.retention.minutes`.
 *
 * Placement: a group belongs to one partition of `__consumer_offsets`, and this node
 * coordinates the groups of the partitions it leads, as Kafka does. When it becomes leader
 * of one, it waits for the high watermark to reach the log end (records acknowledged under
 * the previous leader), replays the partition and serves its groups; meanwhile their
 * requests get COORDINATOR_LOAD_IN_PROGRESS. When it stops leading, the partition's groups
 * are dropped, what waits on them is answered NOT_COORDINATOR, and so are the requests for
 * partitions it does not lead. On a single node every partition is led, and loaded before
 * the listeners open (its high watermark is at its log end at start).
 */
import type { Logger } from '@sluice/sdk';
import { ProtocolError } from '../protocol/index.js';
import type { GroupConfig } from './config.js';
import {
  ConsumerGroup, LEAVE_GROUP_STATIC_EPOCH, applyRecord, compileSubscriptionRegex, emptySnapshot, heartbeatError,
  type ConsumerGroupEnv, type ConsumerGroupSnapshot, type ConsumerHeartbeat, type ConsumerHeartbeatResult, type TopicCatalog,
} from './consumer-group.js';
import { isConsumerGroupRecord } from './consumer-records.js';
import { GroupError } from './errors.js';
import { ClassicGroup, type GroupEnv, type GroupState, type JoinRequest, type MemberIdentity, type MemberSummary, type SyncRequest } from './group.js';
import type { JoinResult, SyncResult } from './member.js';
import type { GroupOffsets, GroupType } from './offsets.js';
import { OFFSETS_TOPIC, partitionForGroup, type GroupLog } from './offsets-store.js';
import { LedPartitions } from './partition-leadership.js';
import type { TransactionalProducer } from '../records/batch.js';
import { decodeRecord, groupMetadataRecord, offsetCommitRecord, type CommittedOffset, type StorageRecord } from './storage-records.js';
import type { GroupMetadataValue } from '../protocol/index.js';
import type { Timer } from './timer.js';

export interface CommitPartition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  /** OffsetCommit v1 only; -1 means now. */
  readonly commitTimestampMs: number;
}

export interface CommitRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** The generation of a classic group, the member epoch of a consumer group. */
  readonly generationId: number;
  /** OffsetCommit's version: consumer group members need v9+, and v9+ learns GROUP_ID_NOT_FOUND. */
  readonly apiVersion: number;
  /** OffsetCommit v2-4 retention_time_ms; -1 for the broker's offsets.retention.minutes. */
  readonly retentionTimeMs: number;
  readonly partitions: readonly CommitPartition[];
}

export interface FetchedOffset {
  readonly partition: number;
  /** UNSTABLE_OFFSET_COMMIT when a stable offset was asked for and a commit is still in flight. */
  readonly errorCode: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
}

export interface GroupDescription {
  readonly errorCode: number;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: readonly MemberSummary[];
}

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
  readonly type: GroupType;
}

/** OffsetFetch v9+: who asks, checked against a consumer group's member epochs. */
export interface FetchingMember {
  readonly memberId: string;
  readonly memberEpoch: number;
}

type AnyGroup = ClassicGroup | ConsumerGroup;

/** An offset committed inside a transaction (TxnOffsetCommit), waiting for its marker. */
interface TxnOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly value: CommittedOffset;
}

/** Which API asks: Kafka lets the offset and describe APIs name the empty group id. */
type GroupIdUse = 'membership' | 'offsets';

/**
 * Kafka's mapping of a failed group metadata write onto a JoinGroup / SyncGroup / heartbeat
 * answer: what the log maps to INVALID_COMMIT_OFFSET_SIZE for a commit is a server error here.
 */
function metadataWriteError(code: number): number {
  return code === GroupError.INVALID_COMMIT_OFFSET_SIZE ? GroupError.UNKNOWN_SERVER_ERROR : code;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, AnyGroup>();
  /** Offsets partition -> producer id -> its transactional offsets there, oldest first. */
  private readonly txnOffsets = new Map<number, Map<number, TxnOffset[]>>();
  private readonly led: LedPartitions;
  private readonly env: GroupEnv;
  private readonly consumerEnv: ConsumerGroupEnv;
  private cancelRetention: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly store: GroupLog,
    readonly config: GroupConfig,
    private readonly timer: Timer,
    private readonly log: Logger,
    topics: TopicCatalog,
  ) {
    this.env = {
      timer, config, log,
      persist: (group, value) => this.store.append(this.partitionFor(group.groupId), [groupMetadataRecord(group.groupId, value)]).then(metadataWriteError),
    };
    this.consumerEnv = {
      timer, config, log, topics,
      persist: (group, records) => this.store.append(this.partitionFor(group.groupId), records).then(metadataWriteError),
    };
    this.led = new LedPartitions(store.leadership, {
      load: (partition) => this.replayPartition(partition),
      unload: (partition) => this.unloadPartition(partition),
    }, log, OFFSETS_TOPIC);
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.store.partitions);
  }

  /**
   * Starts coordinating: follows the leadership of the offsets partitions, loads those this
   * node leads now (at once when their high watermark is at their log end, as on a single
   * node at start, so no client sees them loading), and starts the retention checks.
   */
  loadAll(): void {
    this.led.start();
    this.scheduleRetention();
  }

  /** Leadership lost: the partition's groups go, and what waits on them is answered NOT_COORDINATOR. */
  private unloadPartition(partition: number): void {
    this.txnOffsets.delete(partition);
    for (const [groupId, group] of this.groups) {
      if (this.partitionFor(groupId) !== partition) continue;
      group.stop(GroupError.NOT_COORDINATOR);
      this.groups.delete(groupId);
    }
  }

  private replayPartition(partition: number): void {
    const metadata = new Map<string, GroupMetadataValue | null>();
    const offsets = new Map<string, Map<string, CommittedOffset | null>>();
    const consumerGroups = new Map<string, ConsumerGroupSnapshot>();
    // A group id is one type at a time: the type whose metadata record came last.
    const types = new Map<string, GroupType>();
    let skipped = 0;
    const openTxns = new Map<number, TxnOffset[]>();
    for (const r of this.store.replay(partition)) {
      if ('marker' in r) {
        // A committed transaction's offsets take effect where its marker is, as Kafka applies them.
        const done = openTxns.get(r.producerId) ?? [];
        openTxns.delete(r.producerId);
        if (r.marker === 'abort') continue;
        for (const t of done) {
          let byGroup = offsets.get(t.groupId);
          if (byGroup === undefined) offsets.set(t.groupId, (byGroup = new Map()));
          byGroup.set(`${t.partition}:${t.topic}`, t.value);
        }
        continue;
      }
      let rec;
      try {
        rec = decodeRecord(r.key, r.value);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        skipped++;
        continue;
      }
      if (rec.kind === 'group') {
        metadata.set(rec.group, rec.value);
        if (rec.value !== null) types.set(rec.group, 'classic');
      } else if (isConsumerGroupRecord(rec)) {
        let snapshot = consumerGroups.get(rec.group);
        if (snapshot === undefined) consumerGroups.set(rec.group, (snapshot = emptySnapshot()));
        applyRecord(snapshot, rec);
        if (rec.kind === 'cg-metadata' && rec.value !== null) types.set(rec.group, 'consumer');
      } else if (rec.kind === 'offset' && 'txnProducerId' in r) {
        if (rec.value === null) continue;
        const list = openTxns.get(r.txnProducerId) ?? [];
        list.push({ groupId: rec.group, topic: rec.topic, partition: rec.partition, value: rec.value });
        openTxns.set(r.txnProducerId, list);
      } else if (rec.kind === 'offset') {
        let byGroup = offsets.get(rec.group);
        if (byGroup === undefined) offsets.set(rec.group, (byGroup = new Map()));
        byGroup.set(`${rec.partition}:${rec.topic}`, rec.value);
      } else {
        skipped++;
      }
    }
    const groupIds = new Set([...metadata.keys(), ...offsets.keys(), ...consumerGroups.keys(),
      ...[...openTxns.values()].flatMap((l) => l.map((t) => t.groupId))]);
    for (const groupId of groupIds) {
      const snapshot = consumerGroups.get(groupId);
      // undefined: no metadata record; null: its tombstone.
      const value = types.get(groupId) === 'consumer' ? undefined : metadata.get(groupId);
      const group: AnyGroup = types.get(groupId) === 'consumer' && snapshot !== undefined && snapshot.epoch !== null
        ? ConsumerGroup.restore(groupId, this.consumerEnv, snapshot)
        : new ClassicGroup(groupId, this.env, value ?? undefined);
      for (const [key, committed] of offsets.get(groupId) ?? []) {
        if (committed === null) continue;
        const colon = key.indexOf(':');
        group.setOffset(key.slice(colon + 1), Number(key.slice(0, colon)), committed);
      }
      for (const list of openTxns.values()) {
        for (const t of list) if (t.groupId === groupId) group.pendingCommits.set(`${t.topic}:${t.partition}`, (group.pendingCommits.get(`${t.topic}:${t.partition}`) ?? 0) + 1);
      }
      if (group.type === 'classic' && (value === undefined || value === null) && !group.hasOffsets()) continue;
      this.groups.set(groupId, group);
    }
    if (openTxns.size > 0) this.txnOffsets.set(partition, openTxns);
    if (skipped > 0) this.log.warn('offsets topic records skipped on load (not classic or consumer group records)', { partition, skipped });
    if (groupIds.size > 0) this.log.info('groups loaded', { partition, groups: groupIds.size });
  }

  stop(): void {
    this.stopped = true;
    this.led.stop();
    this.cancelRetention?.();
    this.cancelRetention = null;
    for (const g of this.groups.values()) g.stop(GroupError.NOT_COORDINATOR);
  }

  /** 0 when the group may be served here, else the error Kafka answers first. */
  groupStatus(groupId: string | null, use: GroupIdUse): number {
    if (groupId === null || (groupId === '' && use === 'membership')) return GroupError.INVALID_GROUP_ID;
    if (this.stopped) return GroupError.COORDINATOR_NOT_AVAILABLE;
    const entry = this.led.get(this.partitionFor(groupId));
    if (entry === undefined) return GroupError.NOT_COORDINATOR;
    if (entry.state === 'loading') return GroupError.COORDINATOR_LOAD_IN_PROGRESS;
    return GroupError.NONE;
  }

  // ---- membership ----

  joinGroup(groupId: string, req: JoinRequest): JoinResult | Promise<JoinResult> {
    const status = this.groupStatus(groupId, 'membership');
    const fail = (code: number): JoinResult => ({
      errorCode: code, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: req.memberId, members: [],
    });
    if (status !== GroupError.NONE) return fail(status);
    if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return fail(GroupError.INVALID_SESSION_TIMEOUT);
    }
    let group = this.groups.get(groupId);
    if (group?.type === 'consumer') {
      // A consumer group with members keeps its protocol; an empty one becomes classic again.
      if (group.state !== 'Empty' || group.pendingCommits.size > 0) return fail(GroupError.INCONSISTENT_GROUP_PROTOCOL);
      group = this.replaceGroup(group, new ClassicGroup(groupId, this.env));
    }
    if (group === undefined) {
      // A member id for a group that does not exist is a member that was removed.
      if (req.memberId !== '') return fail(GroupError.UNKNOWN_MEMBER_ID);
      group = this.createGroup(groupId);
    }
    const g = group;
    let immediate: JoinResult | undefined;
    let resolve: ((r: JoinResult) => void) | undefined;
    g.join(req, (r) => {
      if (resolve === undefined) immediate = r;
      else resolve(r);
    });
    if (immediate !== undefined) return immediate;
    return new Promise((ok) => {
      resolve = ok;
    });
  }

  syncGroup(groupId: string, req: SyncRequest): SyncResult | Promise<SyncResult> {
    const fail = (code: number): SyncResult => ({ errorCode: code, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
    const status = this.groupStatus(groupId, 'membership');
    if (status !== GroupError.NONE) return fail(status);
    const group = this.classicGroup(groupId);
    if (group === undefined) return fail(GroupError.UNKNOWN_MEMBER_ID);
    let immediate: SyncResult | undefined;
    let resolve: ((r: SyncResult) => void) | undefined;
    group.sync(req, (r) => {
      if (resolve === undefined) immediate = r;
      else resolve(r);
    });
    if (immediate !== undefined) return immediate;
    return new Promise((ok) => {
      resolve = ok;
    });
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const status = this.groupStatus(groupId, 'membership');
    if (status !== GroupError.NONE) return status;
    const group = this.classicGroup(groupId);
    if (group === undefined) return GroupError.UNKNOWN_MEMBER_ID;
    return group.heartbeat(memberId, groupInstanceId, generationId);
  }

  leaveGroup(groupId: string, members: readonly MemberIdentity[], reason: string): { errorCode: number; memberErrors: number[] } {
    const status = this.groupStatus(groupId, 'membership');
    if (status !== GroupError.NONE) return { errorCode: status, memberErrors: members.map(() => status) };
    const group = this.classicGroup(groupId);
    if (group === undefined) return { errorCode: GroupError.NONE, memberErrors: members.map(() => GroupError.UNKNOWN_MEMBER_ID) };
    if (group.state === 'Dead') return { errorCode: GroupError.COORDINATOR_NOT_AVAILABLE, memberErrors: members.map(() => GroupError.COORDINATOR_NOT_AVAILABLE) };
    return { errorCode: GroupError.NONE, memberErrors: group.leave(members, reason) };
  }

  private createGroup(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId, this.env);
    this.groups.set(groupId, group);
    return group;
  }

  /** The classic group of this id; a consumer group's members are unknown to the classic APIs. */
  private classicGroup(groupId: string): ClassicGroup | undefined {
    const group = this.groups.get(groupId);
    return group?.type === 'classic' ? group : undefined;
  }

  /**
   * An empty group changes type (Kafka converts empty groups both ways): its offsets carry
   * over, and the old type's records are tombstoned ahead of anything the new one writes.
   */
  private replaceGroup<G extends AnyGroup>(old: AnyGroup, next: G): G {
    for (const [topic, byPartition] of old.offsets) for (const [partition, o] of byPartition) next.setOffset(topic, partition, o);
    const tombstones = old.type === 'consumer' ? old.tombstones() : [groupMetadataRecord(old.groupId, null)];
    old.markDead();
    this.groups.set(next.groupId, next);
    this.log.info('empty group changes type', { group: next.groupId, from: old.type, to: next.type });
    void this.store.append(this.partitionFor(next.groupId), tombstones).then((error) => {
      if (error !== GroupError.NONE) this.log.warn('tombstoning a replaced group failed', { group: next.groupId, error });
    });
    return next;
  }

  // ---- consumer groups (KIP-848) ----

  /** ConsumerGroupHeartbeat: Kafka's request checks, then the group's join, heartbeat or leave. */
  consumerGroupHeartbeat(groupId: string, req: ConsumerHeartbeat, apiVersion: number): ConsumerHeartbeatResult | Promise<ConsumerHeartbeatResult> {
    const invalid = this.invalidHeartbeat(groupId, req, apiVersion);
    if (invalid !== null) return heartbeatError(GroupError.INVALID_REQUEST, invalid);
    const status = this.groupStatus(groupId, 'membership');
    if (status !== GroupError.NONE) return heartbeatError(status);
    if (req.serverAssignor !== null && !this.config.consumerAssignors.includes(req.serverAssignor)) {
      return heartbeatError(GroupError.UNSUPPORTED_ASSIGNOR, `Assignor ${req.serverAssignor} is not supported. Supported assignors: ${this.config.consumerAssignors.join(', ')}.`);
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== '') {
      try {
        compileSubscriptionRegex(req.subscribedTopicRegex);
      } catch (err) {
        return heartbeatError(GroupError.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${req.subscribedTopicRegex} is not a valid regular expression: ${String(err)}`);
      }
    }
    let group = this.groups.get(groupId);
    if (group?.type === 'classic') {
      if (req.memberEpoch !== 0 || group.state !== 'Empty' || group.pendingCommits.size > 0) {
        return heartbeatError(GroupError.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
      }
      group = this.replaceGroup(group, new ConsumerGroup(groupId, this.consumerEnv));
    }
    if (group === undefined) {
      if (req.memberEpoch !== 0) return heartbeatError(GroupError.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
      group = new ConsumerGroup(groupId, this.consumerEnv);
      this.groups.set(groupId, group);
    }
    return group.heartbeat(req);
  }

  /** Kafka's INVALID_REQUEST checks of a ConsumerGroupHeartbeat, with its messages; null when it is well formed. */
  private invalidHeartbeat(groupId: string, req: ConsumerHeartbeat, apiVersion: number): string | null {
    if (groupId === '') return "GroupId can't be empty.";
    if (req.instanceId === '') return "InstanceId can't be empty.";
    if (req.rackId === '') return "RackId can't be empty.";
    // v1 (KIP-1082): the client makes its member id.
    if (req.memberId === '' && (apiVersion >= 1 || req.memberEpoch !== 0)) return "MemberId can't be empty.";
    if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) return 'RebalanceTimeoutMs must be provided in first request.';
      if (req.ownedPartitions === null || req.ownedPartitions.size > 0) return 'TopicPartitions must be empty when (re-)joining.';
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) return 'SubscribedTopicNames or SubscribedTopicRegex must be set in first request.';
    } else if (req.memberEpoch === LEAVE_GROUP_STATIC_EPOCH) {
      if (req.instanceId === null) return "InstanceId can't be null.";
    } else if (req.memberEpoch < LEAVE_GROUP_STATIC_EPOCH) {
      return `MemberEpoch ${req.memberEpoch} is invalid.`;
    }
    return null;
  }

  /** ConsumerGroupDescribe: the consumer group, or why not. */
  describeConsumerGroup(groupId: string): { errorCode: number; errorMessage: string | null; group: ConsumerGroup | null } {
    const status = this.groupStatus(groupId, 'membership');
    if (status !== GroupError.NONE) return { errorCode: status, errorMessage: null, group: null };
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return { errorCode: GroupError.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} not found.`, group: null };
    if (group.type !== 'consumer') return { errorCode: GroupError.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} is not a consumer group.`, group: null };
    return { errorCode: GroupError.NONE, errorMessage: null, group };
  }

  // ---- offsets ----

  /**
   * Error codes per partition, in order. Responds once the commit is durable; the offsets
   * become visible to OffsetFetch only then.
   */
  commitOffsets(groupId: string, req: CommitRequest): number[] | Promise<number[]> {
    const all = (code: number): number[] => req.partitions.map(() => code);
    const status = this.groupStatus(groupId, 'offsets');
    if (status !== GroupError.NONE) return all(status);
    let group = this.groups.get(groupId);
    if (group === undefined) {
      // Only a commit outside group management (no generation) may create the group.
      if (req.generationId >= 0) return all(req.apiVersion >= 9 ? GroupError.GROUP_ID_NOT_FOUND : GroupError.ILLEGAL_GENERATION);
      group = this.createGroup(groupId);
    }
    const denied = group.type === 'consumer'
      ? group.validateCommit(req.memberId, req.generationId, req.apiVersion)
      : group.validateCommit(req.memberId, req.groupInstanceId, req.generationId);
    if (denied !== GroupError.NONE) return all(denied);
    const now = this.timer.now();
    const errors = all(GroupError.NONE);
    const writes: Array<{ index: number; key: string; topic: string; partition: number; value: CommittedOffset }> = [];
    req.partitions.forEach((p, index) => {
      const metadata = p.metadata ?? '';
      if (Buffer.byteLength(metadata, 'utf8') > this.config.offsetMetadataMaxBytes) {
        errors[index] = GroupError.OFFSET_METADATA_TOO_LARGE;
        return;
      }
      const commitTimestampMs = p.commitTimestampMs >= 0 ? p.commitTimestampMs : now;
      writes.push({
        index, key: `${p.topic}:${p.partition}`, topic: p.topic, partition: p.partition,
        value: {
          offset: p.offset, leaderEpoch: p.leaderEpoch, metadata, commitTimestampMs,
          expireTimestampMs: req.retentionTimeMs >= 0 ? commitTimestampMs + req.retentionTimeMs : null,
        },
      });
    });
    if (writes.length === 0) return errors;
    const g = group;
    for (const w of writes) g.pendingCommits.set(w.key, (g.pendingCommits.get(w.key) ?? 0) + 1);
    const records = writes.map((w) => offsetCommitRecord(groupId, w.topic, w.partition, w.value));
    return this.store.append(this.partitionFor(groupId), records).then((error) => {
      for (const w of writes) {
        const left = (g.pendingCommits.get(w.key) ?? 1) - 1;
        if (left > 0) g.pendingCommits.set(w.key, left);
        else g.pendingCommits.delete(w.key);
        // Appends to one partition become durable in order, so the last to land is the newest.
        if (error === GroupError.NONE) g.setOffset(w.topic, w.partition, w.value);
        errors[w.index] = error;
      }
      return errors;
    });
  }

  /**
   * TxnOffsetCommit: writes the offsets as part of the producer's transaction; they stay
   * pending (OffsetFetch with require_stable gets UNSTABLE_OFFSET_COMMIT) until the
   * transaction coordinator reports its marker (completeTransaction).
   */
  commitTransactionalOffsets(groupId: string, producer: TransactionalProducer, partitions: readonly CommitPartition[]): number[] | Promise<number[]> {
    const all = (code: number): number[] => partitions.map(() => code);
    const status = this.groupStatus(groupId, 'offsets');
    if (status !== GroupError.NONE) return all(status);
    const group = this.groups.get(groupId) ?? this.createGroup(groupId);
    const now = this.timer.now();
    const errors = all(GroupError.NONE);
    const writes: Array<{ index: number; t: TxnOffset }> = [];
    partitions.forEach((p, index) => {
      const metadata = p.metadata ?? '';
      if (Buffer.byteLength(metadata, 'utf8') > this.config.offsetMetadataMaxBytes) {
        errors[index] = GroupError.OFFSET_METADATA_TOO_LARGE;
        return;
      }
      writes.push({
        index,
        t: { groupId, topic: p.topic, partition: p.partition, value: { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata, commitTimestampMs: now, expireTimestampMs: null } },
      });
    });
    if (writes.length === 0) return errors;
    const offsetsPartition = this.partitionFor(groupId);
    const leadership = this.led.get(offsetsPartition);
    const records = writes.map(({ t }) => offsetCommitRecord(groupId, t.topic, t.partition, t.value));
    return this.store.append(offsetsPartition, records, producer).then((error) => {
      for (const w of writes) errors[w.index] = error;
      if (error !== GroupError.NONE) return errors;
      // Leadership moved while the write was in flight: the next load replays it from the log.
      if (this.led.get(offsetsPartition) !== leadership) return errors;
      let byProducer = this.txnOffsets.get(offsetsPartition);
      if (byProducer === undefined) this.txnOffsets.set(offsetsPartition, (byProducer = new Map()));
      const list = byProducer.get(producer.producerId) ?? [];
      for (const { t } of writes) {
        list.push(t);
        const key = `${t.topic}:${t.partition}`;
        group.pendingCommits.set(key, (group.pendingCommits.get(key) ?? 0) + 1);
      }
      byProducer.set(producer.producerId, list);
      return errors;
    });
  }

  /** A COMMIT or ABORT marker of `producerId` is durable in `offsetsPartition`: its offsets there apply or go. */
  completeTransaction(offsetsPartition: number, producerId: number, commit: boolean): void {
    // Not loaded here: the marker is in the log, and a load replays it.
    if (this.led.get(offsetsPartition)?.state !== 'loaded') return;
    const list = this.txnOffsets.get(offsetsPartition)?.get(producerId);
    if (list === undefined) return;
    this.txnOffsets.get(offsetsPartition)!.delete(producerId);
    for (const t of list) {
      const group = this.groups.get(t.groupId) ?? (commit ? this.createGroup(t.groupId) : undefined);
      if (group === undefined) continue;
      const key = `${t.topic}:${t.partition}`;
      const left = (group.pendingCommits.get(key) ?? 1) - 1;
      if (left > 0) group.pendingCommits.set(key, left);
      else group.pendingCommits.delete(key);
      if (commit) group.setOffset(t.topic, t.partition, t.value);
    }
  }

  /** `topics` null: every partition the group has an offset for. `member`: OffsetFetch v9+, checked for consumer groups. */
  fetchOffsets(
    groupId: string,
    topics: ReadonlyArray<{ readonly name: string; readonly partitions: readonly number[] }> | null,
    requireStable: boolean,
    member: FetchingMember | null = null,
  ): { errorCode: number; topics: Array<{ name: string; partitions: FetchedOffset[] }> } {
    const status = this.groupStatus(groupId, 'offsets');
    if (status !== GroupError.NONE) return { errorCode: status, topics: [] };
    const group = this.groups.get(groupId);
    if (group?.type === 'consumer' && member !== null) {
      const denied = group.validateFetch(member.memberId, member.memberEpoch);
      if (denied !== GroupError.NONE) return { errorCode: denied, topics: [] };
    }
    const found = (topic: string, partition: number): FetchedOffset => {
      if (requireStable && group?.pendingCommits.has(`${topic}:${partition}`)) {
        return { partition, errorCode: GroupError.UNSTABLE_OFFSET_COMMIT, offset: -1, leaderEpoch: -1, metadata: '' };
      }
      const o = group?.offset(topic, partition);
      return o === undefined
        ? { partition, errorCode: GroupError.NONE, offset: -1, leaderEpoch: -1, metadata: '' }
        : { partition, errorCode: GroupError.NONE, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata };
    };
    if (topics !== null) {
      return { errorCode: GroupError.NONE, topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => found(t.name, p)) })) };
    }
    if (group === undefined) return { errorCode: GroupError.NONE, topics: [] };
    return {
      errorCode: GroupError.NONE,
      topics: [...group.offsets].map(([name, byPartition]) => ({ name, partitions: [...byPartition.keys()].sort((a, b) => a - b).map((p) => found(name, p)) })),
    };
  }

  // ---- admin ----

  describeGroup(groupId: string): GroupDescription {
    const status = this.groupStatus(groupId, 'offsets');
    // Kafka's DescribeGroups up to v5 reports a consumer group as Dead, without an error.
    const group = status === GroupError.NONE ? this.classicGroup(groupId) : undefined;
    if (group === undefined) return { errorCode: status, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    return {
      errorCode: GroupError.NONE,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: group.state === 'Stable' ? (group.protocolName ?? '') : '',
      members: group.summaries(),
    };
  }

  /** The groups of the partitions loaded here; COORDINATOR_LOAD_IN_PROGRESS (with them) while any partition loads, as Kafka. */
  listGroups(): { errorCode: number; groups: GroupListing[] } {
    if (this.stopped) return { errorCode: GroupError.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const loading = this.led.anyLoading();
    const groups = [...this.groups.values()]
      .filter((g) => g.state !== 'Dead')
      .map((g) => ({ groupId: g.groupId, protocolType: g.type === 'consumer' ? 'consumer' : (g.protocolType ?? ''), state: g.state, type: g.type }));
    return { errorCode: loading ? GroupError.COORDINATOR_LOAD_IN_PROGRESS : GroupError.NONE, groups };
  }

  /** Error per group, in order; an Empty group's offsets and metadata are tombstoned first. */
  deleteGroups(groupIds: readonly string[]): Promise<number[]> {
    return Promise.all(groupIds.map((groupId) => {
      const status = this.groupStatus(groupId, 'offsets');
      if (status !== GroupError.NONE) return status;
      const group = this.groups.get(groupId);
      if (group === undefined || group.state === 'Dead') return GroupError.GROUP_ID_NOT_FOUND;
      if (group.state !== 'Empty') return GroupError.NON_EMPTY_GROUP;
      const records: StorageRecord[] = [];
      for (const [topic, byPartition] of group.offsets) {
        for (const partition of byPartition.keys()) records.push(offsetCommitRecord(groupId, topic, partition, null));
      }
      records.push(...(group.type === 'consumer' ? group.tombstones() : [groupMetadataRecord(groupId, null)]));
      group.markDead();
      this.groups.delete(groupId);
      this.log.info('group deleted', { group: groupId });
      return this.store.append(this.partitionFor(groupId), records);
    }));
  }

  /** OffsetDelete: a group still consuming a topic keeps its offsets (GROUP_SUBSCRIBED_TO_TOPIC). */
  deleteOffsets(groupId: string, partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<{ errorCode: number; errors: number[] }> {
    const status = this.groupStatus(groupId, 'offsets');
    const none = (code: number) => Promise.resolve({ errorCode: code, errors: partitions.map(() => GroupError.NONE) });
    if (status !== GroupError.NONE) return none(status);
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return none(GroupError.GROUP_ID_NOT_FOUND);
    if (group.type === 'classic' && group.state !== 'Empty' && !group.isConsumerGroup()) return none(GroupError.NON_EMPTY_GROUP);
    const errors = partitions.map((p) => (group.state !== 'Empty' && group.isSubscribedTo(p.topic) ? GroupError.GROUP_SUBSCRIBED_TO_TOPIC : GroupError.NONE));
    const eligible = partitions.filter((_, i) => errors[i] === GroupError.NONE);
    return this.removeOffsets(group, eligible).then((error) => ({ errorCode: error, errors }));
  }

  /**
   * Tombstones offsets (those that exist) and, when that leaves an Empty group without
   * offsets, the group itself, as Kafka's cleanup does.
   */
  private removeOffsets(group: AnyGroup, partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<number> {
    const records: StorageRecord[] = [];
    for (const { topic, partition } of partitions) {
      if (group.offset(topic, partition) === undefined) continue;
      group.setOffset(topic, partition, null);
      records.push(offsetCommitRecord(group.groupId, topic, partition, null));
    }
    if (group.state === 'Empty' && !group.hasOffsets()) {
      records.push(...(group.type === 'consumer' ? group.tombstones() : [groupMetadataRecord(group.groupId, null)]));
      group.markDead();
      this.groups.delete(group.groupId);
      this.log.info('group removed: empty with no offsets', { group: group.groupId });
    }
    if (records.length === 0) return Promise.resolve(GroupError.NONE);
    return this.store.append(this.partitionFor(group.groupId), records);
  }

  /** Every group's committed offsets (durable ones: commits in flight are not visible yet), for metrics. */
  forEachCommittedOffset(visit: (groupId: string, topic: string, partition: number, offset: number) => void): void {
    for (const group of this.groups.values()) {
      for (const [topic, byPartition] of group.offsets) {
        for (const [partition, committed] of byPartition) visit(group.groupId, topic, partition, committed.offset);
      }
    }
  }

  /** One pass of offsets.retention.minutes over every group. */
  expireOffsets(): Promise<void> {
    const now = this.timer.now();
    const pending: Array<Promise<number>> = [];
    for (const group of [...this.groups.values()]) pending.push(this.removeOffsets(group, group.expiredOffsets(now)));
    return Promise.all(pending).then(() => undefined);
  }

  private scheduleRetention(): void {
    if (this.stopped) return;
    this.cancelRetention = this.timer.schedule(this.config.offsetsRetentionCheckIntervalMs, () => {
      void Promise.resolve()
        .then(() => this.expireOffsets())
        .catch((err: unknown) => this.log.error('offset expiry failed', { error: String(err) }))
        .finally(() => this.scheduleRetention());
    });
  }
}
