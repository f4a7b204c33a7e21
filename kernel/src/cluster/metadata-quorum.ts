/**
 * The metadata log `__cluster_metadata-0` run by Raft (KRaft's quorum): the active
 * controller (the Raft leader) commits metadata records as entries, and every node applies
 * committed entries, in offset order, to its `MetadataImage`. Nothing changes the image
 * except a committed entry, so the image is a pure function of the committed log.
 *
 * - The active controller is the leader once its own leader-change entry is applied: from
 *   then on its image holds everything committed before its epoch, so decisions made on it
 *   are not made on stale state. `onLeadershipChange(true, epoch)` fires at that point;
 *   `(false, epoch)` when the node stops leading.
 * - `commit(records)` appends one entry (the records, framed: metadata-entry.ts) and
 *   resolves once it is committed and applied here; it rejects with NOT_CONTROLLER when this
 *   node is not the active controller or loses leadership first (the entry may then still
 *   commit under the next leader, as in Kafka: callers retry idempotently or check the image).
 * - At start the image is loaded from the log's latest snapshot (empty without one). A sole
 *   voter then replays its local log after the snapshot into the image in the constructor:
 *   it commits only what it flushed, and whatever survived on disk is committed by its next
 *   leader entry anyway. Raft then reports those entries again; they are skipped. Several
 *   voters fill the image from the snapshot on as commits arrive.
 * - Snapshots (KRaft's): once `maxRecordBytes` of entries were committed since the last
 *   snapshot, or `intervalMs` passed since it and something was committed (checked after
 *   each step of the core), the image is written as a snapshot at the applied offset and
 *   the log prefix below it is deleted: followers and observers behind it fetch the
 *   snapshot (FetchSnapshot). A snapshot fetched from the leader replaces the image; committed
 *   listeners then get the records of the new image, preceded by a RemoveTopicRecord for
 *   each topic it no longer has, so they can follow without replaying a log they never saw.
 * - A node without the controller role (`process.roles=broker`) observes: it replicates the
 *   log by fetching from the leader (raft-observer.ts), applies what is committed, and is
 *   never the active controller.
 * - The voter set changes at run time (KIP-853, `raft.add-voter` / `raft.remove-voter` on the
 *   leader, one voter at a time): a controller runs the Raft core whether or not it votes
 *   now, so one that is not (or no longer) a voter observes through the core and may be
 *   added later, then campaign and become the active controller. The answer waits for the
 *   change to commit (or the request's timeout). A single-node quorum (the sole voter whose
 *   log is replayed at open) is not grown this way: its open would replay entries a
 *   larger quorum never committed.
 */
import {
  KafkaError, type AddVoterRequest, type RemoveVoterRequest, type VoterChangeResponse, type ClusterRpcRequest, type ClusterRpcResponse, type ClusterTransport, type DescribeQuorumResponse,
  type Logger, type PeerAddress, type ReplicaProgress,
} from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { MetadataImage } from '../metadata/metadata-image.js';
import { decodeMetadataEntry, encodeMetadataEntry } from '../metadata/metadata-entry.js';
import { encodeMetadataSnapshot, imageOfSnapshot, imageRecords } from '../metadata/metadata-snapshot.js';
import type { MetadataRecord } from '../metadata/records.js';
import type { RaftConfig } from '../raft/raft-config.js';
import type { RaftLog } from '../raft/raft-log.js';
import type { QuorumStateStore } from '../raft/quorum-state-store.js';
import type { Random } from '../raft/random.js';
import type { VoterChangeError, VoterChangeResult } from '../raft/raft-node.js';
import type { LogEntry, OffsetAndEpoch } from '../raft/types.js';
import { DIRECTORY_ID_BYTES, type VoterSet } from '../raft/voter-set.js';
import { RaftDriver, raftClock, type RaftRpcName } from './raft-driver.js';
import { RaftObserver } from './raft-observer.js';

const NOT_CONTROLLER = 41;
const NOT_LEADER_OR_FOLLOWER = 6;
const REQUEST_TIMED_OUT = 7;
const INVALID_REQUEST = 42;
const INCONSISTENT_VOTER_SET = 94;
const INCONSISTENT_CLUSTER_ID = 104;
const DUPLICATE_VOTER = 126;
const VOTER_NOT_FOUND = 127;
const VOTER_CHANGE_ERROR_CODES: Readonly<Record<VoterChangeError, number>> = {
  'not-leader': NOT_LEADER_OR_FOLLOWER, 'request-timed-out': REQUEST_TIMED_OUT, 'duplicate-voter': DUPLICATE_VOTER,
  'voter-not-found': VOTER_NOT_FOUND, 'invalid-request': INVALID_REQUEST,
};
/** Entries replayed per read when a sole voter rebuilds its image at open. */
const REPLAY_ENTRIES_MAX = 500;

export type MetadataQuorumRpc = RaftRpcName | 'raft.describe-quorum' | 'raft.add-voter' | 'raft.remove-voter';

/** When to snapshot the image (`metadata.log.max.record.bytes.between.snapshots`, `metadata.log.max.snapshot.interval.ms`). */
export interface MetadataSnapshotSettings {
  readonly maxRecordBytes: number;
  /** 0: no time trigger. */
  readonly intervalMs: number;
}

/** Kafka's defaults: 20 MiB of records, one hour. */
export const DEFAULT_METADATA_SNAPSHOT_SETTINGS: MetadataSnapshotSettings = { maxRecordBytes: 20 * 1024 * 1024, intervalMs: 3_600_000 };

export interface MetadataQuorumOptions {
  readonly nodeId: number;
  /** `controller.quorum.voters`, the bootstrap voter set; empty: this node is the only voter. */
  readonly voters: readonly PeerAddress[];
  /**
   * Whether `process.roles` has controller: it runs the Raft core, voting or observing as the
   * voter set says. Default: whether it is among `voters` (or they are empty).
   */
  readonly controller?: boolean;
  /** The controller listener (first of `controller.listener.names`): the endpoint name of bootstrap voters. */
  readonly listenerName?: string;
  readonly clusterId: string;
  readonly log: RaftLog;
  readonly store: QuorumStateStore;
  readonly config: RaftConfig;
  readonly transport: () => ClusterTransport | undefined;
  readonly requestTimeoutMs: number;
  /** Raft's timers and DescribeQuorum's timestamps; default `raftClock`. */
  readonly clock?: Clock;
  readonly logger: Logger;
  readonly random?: Random;
  /** Default DEFAULT_METADATA_SNAPSHOT_SETTINGS. */
  readonly snapshots?: MetadataSnapshotSettings;
}

interface PendingVoterChange {
  readonly offset: number;
  readonly epoch: number;
  readonly deadlineMs: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (response: VoterChangeResponse) => void;
}

interface PendingCommit {
  readonly epoch: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export type CommittedListener = (records: readonly MetadataRecord[], offset: number) => void;
export type LeadershipListener = (active: boolean, epoch: number) => void;

export class MetadataQuorum {
  readonly image = new MetadataImage();
  /** A voter runs the Raft core; any other node observes. Exactly one is set. */
  private readonly driver: RaftDriver | undefined;
  private readonly observer: RaftObserver | undefined;
  private readonly soleVoter: boolean;
  /** Next offset to apply to the image. */
  private applied = 0;
  private readonly pending = new Map<number, PendingCommit>();
  private readonly pendingVoterChanges: PendingVoterChange[] = [];
  private activeEpoch: number | null = null;
  private readonly committedListeners: CommittedListener[] = [];
  private readonly leadershipListeners: LeadershipListener[] = [];
  /** Listener calls wait until the core's step is over, so a listener may commit at once. */
  private readonly notifications: Array<() => void> = [];
  private notifying = false;
  private caughtUpTarget: number | null = null;
  private caughtUp = false;
  private caughtUpWaiters: Array<() => void> = [];
  private closed = false;
  private readonly clock: Clock;
  private readonly snapshotSettings: MetadataSnapshotSettings;
  /** Entry bytes applied since the last snapshot, and when that was taken (or this node started). */
  private bytesSinceSnapshot = 0;
  private lastSnapshotMs: number;
  /** Epoch of the entry before `applied`: a snapshot taken at `applied` carries it. */
  private appliedEpoch = 0;

  constructor(private readonly opts: MetadataQuorumOptions) {
    this.clock = opts.clock ?? raftClock;
    this.snapshotSettings = opts.snapshots ?? DEFAULT_METADATA_SNAPSHOT_SETTINGS;
    this.lastSnapshotMs = this.clock.nowMs();
    const voters = opts.voters.length === 0 ? [{ nodeId: opts.nodeId, host: '', port: 0 }] : opts.voters;
    const listener = {
      onCommit: (entries: readonly LogEntry[]): void => this.onCommit(entries),
      onSnapshot: (id: OffsetAndEpoch, bytes: Uint8Array): void => this.onSnapshot(id, bytes),
    };
    this.soleVoter = voters.length === 1 && voters[0]!.nodeId === opts.nodeId;
    this.loadLatestSnapshot();
    if (this.soleVoter) this.replayLocalLog();
    if (opts.controller ?? voters.some((v) => v.nodeId === opts.nodeId)) {
      this.driver = new RaftDriver({
        nodeId: opts.nodeId, voters, clusterId: opts.clusterId, log: opts.log, store: opts.store, config: opts.config,
        ...(opts.listenerName !== undefined ? { listenerName: opts.listenerName } : {}),
        transport: opts.transport, requestTimeoutMs: opts.requestTimeoutMs, logger: opts.logger, clock: this.clock,
        random: opts.random, listener, onStep: () => this.afterStep(),
      });
      if (!this.driver.node.isVoter()) {
        opts.logger.info('metadata quorum: this controller is not a voter; it observes until the active controller adds it (AddRaftVoter, e.g. `sluice metadata quorum add-controller`)', {
          nodeId: opts.nodeId, voters: this.driver.node.voters().ids(),
        });
      }
    } else {
      this.observer = new RaftObserver({
        nodeId: opts.nodeId, voters, clusterId: opts.clusterId, log: opts.log, listener, transport: opts.transport,
        requestTimeoutMs: opts.requestTimeoutMs, fetchBackoffMs: opts.config.fetchBackoffMs, logger: opts.logger,
        ...(opts.listenerName !== undefined ? { listenerName: opts.listenerName } : {}),
        onStep: () => this.afterStep(),
      });
    }
  }

  start(): void {
    this.driver?.start();
    this.observer?.start();
  }

  /** Whether this node is in the voter set now (it changes as voters are added and removed). */
  isVoter(): boolean {
    return this.driver?.node.isVoter() ?? false;
  }

  /**
   * Where voter `id` is reached (its endpoint in the voter set the log records, else its
   * `controller.quorum.voters` address): a voter added at run time is in no configuration.
   */
  voterAddress(id: number): PeerAddress | undefined {
    return this.driver !== undefined ? this.driver.addressOf(id) : this.observer!.addressOf(id);
  }

  /** The voters as the log records them, with their addresses (the bootstrap addresses until a voters entry). */
  voters(): VoterSet {
    return this.driver !== undefined ? this.driver.node.voters() : this.observer!.voters();
  }

  onCommitted(listener: CommittedListener): void {
    this.committedListeners.push(listener);
  }

  onLeadershipChange(listener: LeadershipListener): void {
    this.leadershipListeners.push(listener);
  }

  isActiveController(): boolean {
    return this.activeEpoch !== null;
  }

  /** The leader this node knows of (itself included), or null while there is none. */
  activeControllerId(): number | null {
    return this.driver !== undefined ? this.driver.node.leaderId() : this.observer!.leaderId();
  }

  /**
   * The committed offset (exclusive) applied here. A sole voter's replayed entries count:
   * its Raft high watermark restarts at 0 and only passes them with its next leader entry.
   */
  highWatermark(): number {
    return Math.max(this.raftHighWatermark(), this.applied);
  }

  /** The offset after the last entry applied to the image. */
  appliedOffset(): number {
    return this.applied;
  }

  isSoleVoter(): boolean {
    return this.soleVoter;
  }

  /**
   * Resolves once this node has applied everything committed as of when it first learned
   * the leader's high watermark; on the leader, once its own leader-change entry is applied.
   */
  whenCaughtUp(): Promise<void> {
    if (this.caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /** Appends the records as one entry; resolves once it is committed and applied here. */
  commit(records: readonly MetadataRecord[]): Promise<void> {
    const epoch = this.activeEpoch;
    if (epoch === null || this.closed) return Promise.reject(this.notController());
    const result = this.driver!.propose(encodeMetadataEntry(records));
    if (!result.accepted) return Promise.reject(this.notController());
    return new Promise((resolve, reject) => this.pending.set(result.offset, { epoch: result.epoch, resolve, reject }));
  }

  describeQuorum(): DescribeQuorumResponse {
    const progress = this.driver?.node.voterProgress() ?? null;
    if (this.driver === undefined || progress === null) {
      return {
        errorCode: NOT_LEADER_OR_FOLLOWER, leaderId: this.activeControllerId() ?? -1, leaderEpoch: this.epoch(), highWatermark: -1,
        voters: [], observers: [],
      };
    }
    const node = this.driver.node;
    const now = this.clock.nowMs();
    const hw = node.highWatermark();
    const replica = (p: { id: number; endOffset: number; lastFetchMs: number | null }): ReplicaProgress => ({
      replicaId: p.id, logEndOffset: p.endOffset, lastFetchTimestampMs: p.lastFetchMs ?? -1,
      lastCaughtUpTimestampMs: p.endOffset >= hw ? (p.lastFetchMs ?? -1) : -1,
    });
    const self: ReplicaProgress = { replicaId: node.id, logEndOffset: this.opts.log.endOffset(), lastFetchTimestampMs: now, lastCaughtUpTimestampMs: now };
    const voters = node.voters();
    return {
      errorCode: 0, leaderId: node.id, leaderEpoch: node.epoch(), highWatermark: hw,
      // A leader that removed itself leads on until that commits, no longer as a voter.
      voters: [...(node.isVoter() ? [self] : []), ...progress.map(replica)],
      observers: [...(node.isVoter() ? [] : [self]), ...(node.observerProgress() ?? []).map(replica)],
      nodes: voters.voters.map((v) => ({ nodeId: v.id, listeners: v.endpoints })),
    };
  }

  /** The raft.* cluster RPCs addressed to this node. */
  async handle<K extends MetadataQuorumRpc>(rpc: K, request: ClusterRpcRequest<K>): Promise<ClusterRpcResponse<K>> {
    if (rpc === 'raft.describe-quorum') return this.describeQuorum() as ClusterRpcResponse<K>;
    if (rpc === 'raft.add-voter' || rpc === 'raft.remove-voter') {
      return this.changeVoters(rpc, request as ClusterRpcRequest<'raft.add-voter' | 'raft.remove-voter'>) as Promise<ClusterRpcResponse<K>>;
    }
    if (this.driver !== undefined) {
      return this.driver.handle(rpc as RaftRpcName, request as ClusterRpcRequest<RaftRpcName>) as Promise<ClusterRpcResponse<K>>;
    }
    // An observer holds no vote and serves no fetch; it names the leader it knows.
    const leaderId = this.activeControllerId() ?? -1;
    const answer = rpc === 'raft.fetch'
      ? { errorCode: NOT_LEADER_OR_FOLLOWER, leaderId, leaderEpoch: this.epoch(), highWatermark: -1, divergingEpoch: null, records: new Uint8Array(0) }
      : rpc === 'raft.fetch-snapshot'
        ? {
            errorCode: NOT_LEADER_OR_FOLLOWER, leaderId, leaderEpoch: this.epoch(),
            snapshotId: (request as ClusterRpcRequest<'raft.fetch-snapshot'>).snapshotId, size: 0, position: 0, bytes: new Uint8Array(0),
          }
      : rpc === 'raft.vote'
        ? { errorCode: INCONSISTENT_VOTER_SET, leaderId, leaderEpoch: this.epoch(), voteGranted: false }
        : { errorCode: INCONSISTENT_VOTER_SET };
    return answer as ClusterRpcResponse<K>;
  }

  /**
   * When the node stops, while its transport still works: an active controller hands the
   * quorum's leadership over (EndQuorumEpoch), so the other voters elect a successor at once
   * instead of after a fetch timeout. Resolves once the voters answered or their calls
   * timed out; the node then stops as any other. A sole voter has nobody to hand over to.
   */
  async resign(): Promise<void> {
    if (this.closed || this.driver === undefined || !this.isLeader() || this.isSoleVoter()) return;
    this.opts.logger.info('metadata quorum: handing leadership over before stopping', { epoch: this.epoch() });
    await this.driver.resign();
  }

  /** Stops Raft; commits still waiting are rejected. The log is closed by its owner. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver?.stop();
    this.observer?.stop();
    this.dropPending();
    for (const change of this.pendingVoterChanges.splice(0)) {
      clearTimeout(change.timer);
      change.resolve(voterChangeError(NOT_LEADER_OR_FOLLOWER, 'the metadata quorum stopped before the voter change committed; it may still commit'));
    }
  }

  /**
   * AddRaftVoter / RemoveRaftVoter on this node: refused here unless it leads (RaftNode
   * checks the rules), answered once the new voter set commits, or REQUEST_TIMED_OUT.
   */
  private async changeVoters(
    rpc: 'raft.add-voter' | 'raft.remove-voter', request: AddVoterRequest | RemoveVoterRequest,
  ): Promise<VoterChangeResponse> {
    if (request.clusterId !== this.opts.clusterId) return voterChangeError(INCONSISTENT_CLUSTER_ID, `cluster id ${request.clusterId} is not ${this.opts.clusterId}`);
    if (this.closed || this.driver === undefined) return voterChangeError(NOT_LEADER_OR_FOLLOWER, `node ${this.opts.nodeId} is not a controller`);
    if (this.soleVoter) {
      return voterChangeError(INVALID_REQUEST, 'this quorum is a single node (controller.quorum.voters empty or naming only this node), which cannot change its voters; start a cluster with controller.quorum.voters listing its voters instead');
    }
    if (request.voterDirectoryId.length !== DIRECTORY_ID_BYTES) {
      return voterChangeError(INVALID_REQUEST, `a directory id has ${DIRECTORY_ID_BYTES} bytes, not ${request.voterDirectoryId.length}`);
    }
    let result: VoterChangeResult;
    let timeoutMs = this.opts.requestTimeoutMs;
    if (rpc === 'raft.add-voter') {
      const add = request as AddVoterRequest;
      if (add.listeners.length === 0) return voterChangeError(INVALID_REQUEST, `node ${add.voterId} needs at least one listener to be reached at`);
      timeoutMs = add.timeoutMs;
      result = this.driver.addVoter({ id: add.voterId, directoryId: new Uint8Array(add.voterDirectoryId), endpoints: add.listeners });
    } else {
      const remove = request as RemoveVoterRequest;
      result = this.driver.removeVoter(remove.voterId, remove.voterDirectoryId);
    }
    if (!result.accepted) {
      const leader = result.error === 'not-leader' && result.leaderId !== null ? `; node ${result.leaderId} leads` : '';
      return voterChangeError(VOTER_CHANGE_ERROR_CODES[result.error], result.message + leader);
    }
    this.opts.logger.info('metadata quorum: voter set change appended', { voters: result.voters.ids(), offset: result.offset, epoch: result.epoch });
    const { offset, epoch } = result;
    return new Promise((resolve) => {
      const change: PendingVoterChange = {
        offset, epoch, deadlineMs: this.clock.nowMs() + timeoutMs, resolve,
        timer: setTimeout(() => this.settleVoterChanges(), Math.max(0, timeoutMs)),
      };
      change.timer.unref();
      this.pendingVoterChanges.push(change);
      this.settleVoterChanges();
    });
  }

  /** Answers the voter changes that committed, lost their leader or ran out of time. */
  private settleVoterChanges(): void {
    const node = this.driver?.node;
    if (node === undefined) return;
    const now = this.clock.nowMs();
    for (let i = this.pendingVoterChanges.length - 1; i >= 0; i--) {
      const change = this.pendingVoterChanges[i]!;
      let response: VoterChangeResponse | null = null;
      if (node.highWatermark() > change.offset) {
        // Committed, unless another leader's entry took the offset.
        const entry = this.opts.log.entryAt(change.offset);
        response = entry === undefined || entry.epoch === change.epoch
          ? { errorCode: 0, errorMessage: null }
          : voterChangeError(NOT_LEADER_OR_FOLLOWER, 'leadership moved and the voter change was truncated; it did not take effect');
      } else if (node.epoch() !== change.epoch || node.role() !== 'leader') {
        response = voterChangeError(NOT_LEADER_OR_FOLLOWER, 'leadership moved before the voter change committed; it may still commit (check DescribeQuorum)');
      } else if (now >= change.deadlineMs) {
        response = voterChangeError(REQUEST_TIMED_OUT, 'the voter change did not commit in time; it may still commit (check DescribeQuorum)');
      }
      if (response === null) continue;
      clearTimeout(change.timer);
      this.pendingVoterChanges.splice(i, 1);
      change.resolve(response);
    }
  }

  /** The newest snapshot in the log: written here, fetched from the leader, or found at start. */
  latestSnapshot(): OffsetAndEpoch | null {
    return this.opts.log.latestSnapshot();
  }

  private loadLatestSnapshot(): void {
    const id = this.opts.log.latestSnapshot();
    if (id === null) return;
    const chunk = this.opts.log.readSnapshot(id, 0, Number.MAX_SAFE_INTEGER);
    if (chunk === undefined) throw new Error(`snapshot ${id.offset}@${id.epoch} listed but not readable`);
    this.image.replaceWith(imageOfSnapshot(chunk.bytes));
    this.applied = id.offset;
    this.appliedEpoch = id.epoch;
    this.opts.logger.info('metadata quorum: image loaded from snapshot', { endOffset: id.offset, epoch: id.epoch, bytes: chunk.size });
  }

  /** A snapshot fetched from the leader: the image becomes its content. */
  private onSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    const next = imageOfSnapshot(bytes);
    const removed: MetadataRecord[] = [...this.image.topicsById.entries()]
      .filter(([key]) => !next.topicsById.has(key)).map(([, t]) => ({ type: 'remove-topic', topicId: t.topicId }));
    this.image.replaceWith(next);
    this.applied = id.offset;
    this.appliedEpoch = id.epoch;
    this.bytesSinceSnapshot = 0;
    this.lastSnapshotMs = this.clock.nowMs();
    // Commits waiting at offsets the snapshot covers were decided without this node seeing them.
    this.dropPending();
    this.opts.logger.info('metadata quorum: installed a snapshot from the leader', { endOffset: id.offset, epoch: id.epoch, bytes: bytes.length });
    const records = [...removed, ...imageRecords(next)];
    const offset = id.offset - 1;
    this.notify(() => { for (const l of this.committedListeners) l(records, offset); });
  }

  /**
   * After a step of the core (never inside one: the core may still read the log prefix this
   * deletes): writes a snapshot at the applied offset when a trigger is due, then drops the
   * log prefix. Only committed state is snapshotted: a sole voter's replayed entries wait
   * for its Raft high watermark to pass them.
   */
  private maybeSnapshot(): void {
    const { maxRecordBytes, intervalMs } = this.snapshotSettings;
    const now = this.clock.nowMs();
    const due = this.bytesSinceSnapshot >= maxRecordBytes || (intervalMs > 0 && now - this.lastSnapshotMs >= intervalMs);
    if (!due || this.bytesSinceSnapshot === 0 || this.closed || this.applied > this.raftHighWatermark()) return;
    const id = { offset: this.applied, epoch: this.appliedEpoch };
    const voters = this.driver !== undefined ? this.driver.node.snapshotVoterSet(id.offset) : this.observer!.snapshotVoterSet(id.offset);
    const bytes = encodeMetadataSnapshot(this.image, id, now, voters);
    this.opts.log.storeSnapshot(id, bytes);
    this.opts.log.deleteBefore(id.offset);
    this.bytesSinceSnapshot = 0;
    this.lastSnapshotMs = now;
    this.opts.logger.info('metadata quorum: wrote a snapshot', { endOffset: id.offset, epoch: id.epoch, bytes: bytes.length, logStartOffset: this.opts.log.startOffset() });
  }

  private replayLocalLog(): void {
    const end = this.opts.log.endOffset();
    while (this.applied < end) {
      const entries = this.opts.log.read(this.applied, REPLAY_ENTRIES_MAX);
      for (const entry of entries) {
        if (entry.kind === 'data') for (const r of decodeMetadataEntry(entry.data)) this.image.apply(r);
        this.bytesSinceSnapshot += entry.data.length;
        this.appliedEpoch = entry.epoch;
      }
      this.applied += entries.length;
    }
  }

  private epoch(): number {
    return this.driver !== undefined ? this.driver.node.epoch() : this.observer!.epoch();
  }

  private isLeader(): boolean {
    return this.driver?.node.role() === 'leader';
  }

  private raftHighWatermark(): number {
    return this.driver !== undefined ? this.driver.node.highWatermark() : this.observer!.highWatermark();
  }

  private onCommit(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry.offset < this.applied) continue;
      this.bytesSinceSnapshot += entry.data.length;
      if (entry.offset !== this.applied) throw new Error(`commit of offset ${entry.offset} while ${this.applied} is next to apply`);
      if (entry.kind === 'data') {
        const records = decodeMetadataEntry(entry.data);
        for (const r of records) this.image.apply(r);
        const offset = entry.offset;
        this.notify(() => { for (const l of this.committedListeners) l(records, offset); });
      } else if (entry.kind === 'leader-change' && this.isLeader() && entry.epoch === this.epoch() && this.activeEpoch === null) {
        const epoch = entry.epoch;
        this.activeEpoch = epoch;
        this.opts.logger.info('metadata quorum: this node is the active controller', { epoch });
        this.notify(() => { for (const l of this.leadershipListeners) l(true, epoch); });
      }
      this.applied = entry.offset + 1;
      this.appliedEpoch = entry.epoch;
      const waiting = this.pending.get(entry.offset);
      if (waiting !== undefined) {
        this.pending.delete(entry.offset);
        // Another leader's entry took the offset: ours was truncated away.
        if (waiting.epoch === entry.epoch) waiting.resolve();
        else waiting.reject(this.notController());
      }
    }
  }

  private afterStep(): void {
    if (this.pendingVoterChanges.length > 0) this.settleVoterChanges();
    if (this.activeEpoch !== null && (!this.isLeader() || this.epoch() !== this.activeEpoch)) {
      const epoch = this.activeEpoch;
      this.activeEpoch = null;
      this.opts.logger.info('metadata quorum: no longer the active controller', { epoch, newEpoch: this.epoch() });
      this.dropPending();
      this.notify(() => { for (const l of this.leadershipListeners) l(false, epoch); });
    }
    if (!this.caughtUp) {
      const leaderHw = this.driver !== undefined ? this.driver.leaderHighWatermark() : this.observer!.leaderHighWatermark();
      if (this.caughtUpTarget === null && !this.isLeader() && this.activeControllerId() !== null && leaderHw > 0) {
        this.caughtUpTarget = leaderHw;
      }
      if (this.activeEpoch !== null || (this.caughtUpTarget !== null && this.applied >= this.caughtUpTarget)) {
        this.caughtUp = true;
        for (const w of this.caughtUpWaiters.splice(0)) w();
      }
    }
    this.maybeSnapshot();
    this.drainNotifications();
  }

  private notify(call: () => void): void {
    this.notifications.push(call);
  }

  private drainNotifications(): void {
    if (this.notifying) return;
    this.notifying = true;
    try {
      for (let call = this.notifications.shift(); call !== undefined; call = this.notifications.shift()) call();
    } finally {
      this.notifying = false;
    }
  }

  private dropPending(): void {
    const err = this.notController();
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private notController(): KafkaError {
    const leader = this.activeControllerId();
    return new KafkaError(NOT_CONTROLLER, 'NOT_CONTROLLER',
      `node ${this.opts.nodeId} is not the active controller${leader === null ? '; no leader is known' : `; node ${leader} leads`}`);
  }
}

function voterChangeError(errorCode: number, errorMessage: string): VoterChangeResponse {
  return { errorCode, errorMessage };
}
