/**
 * A node outside the voter set replicating the metadata log (KRaft's observer: a
 * `process.roles=broker` node). It fetches from the leader as a voter's follower does, with
 * the same divergence handling, but it never votes and never starts an election. It still
 * flushes before a fetch that follows an append, as a voter does: a leader that was told to
 * add it as a voter (an operator's mistake it cannot see) would count its fetch offset as
 * durable; most fetches append nothing, so this rarely costs an fsync.
 *
 * It finds the leader by asking voters in turn: a voter that does not lead answers with the
 * leader it follows (NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH with leaderId and epoch,
 * and the leader's endpoint, which it keeps: a leader added after its
 * `controller.quorum.voters` was written is in no list it has yet).
 * Entries below the leader's high watermark (capped at its own log end) are committed and
 * reported once each, in order, from the latest snapshot on after every start, as voters
 * report them. A fetch answered with a snapshot id (this log is behind the leader's log
 * start) is followed by FetchSnapshot requests, chunk by chunk, to the same leader; the
 * whole snapshot is installed (the log restarts empty at its end) and reported upward.
 *
 * The voters it asks are those of the voter set its log records (KIP-853: the last voters
 * entry, committed or not, else the snapshot's set, else `controller.quorum.voters`), at
 * the endpoints recorded there, so it follows voters added and removed at run time.
 */
import type { ClusterTransport, Logger, PeerAddress, RaftFetchResponse } from '@sluice/sdk';
import { entriesOfBatches } from '../raft/file-raft-log.js';
import { decodeSnapshotVoters } from '../raft/snapshot-format.js';
import { loadVoterSetHistory, type VoterSetHistory } from '../raft/voter-set-history.js';
import { decodeVotersRecord, type VoterSet } from '../raft/voter-set.js';
import { DEFAULT_CONTROLLER_LISTENER, peerOfVoter, voterSetOfPeers } from './voter-addresses.js';
import type { RaftLog } from '../raft/raft-log.js';
import type { RaftListener } from '../raft/raft-node.js';
import type { Epoch, NodeId } from '../raft/types.js';

const NONE = 0;
const NOT_LEADER_OR_FOLLOWER = 6;
const FENCED_LEADER_EPOCH = 74;

export interface RaftObserverOptions {
  readonly nodeId: NodeId;
  /** `controller.quorum.voters`, none of them this node: the voter set until the log records one. */
  readonly voters: readonly PeerAddress[];
  /** The listener whose endpoint a voter is reached at; default CONTROLLER. */
  readonly listenerName?: string;
  readonly clusterId: string;
  readonly log: RaftLog;
  readonly listener: RaftListener;
  readonly transport: () => ClusterTransport | undefined;
  readonly requestTimeoutMs: number;
  /** Pause after an empty fetch, a failed one or one that named no leader. */
  readonly fetchBackoffMs: number;
  readonly logger: Logger;
  /** After every fetch handled: the leader, epoch or high watermark may have moved. */
  readonly onStep?: () => void;
}

export class RaftObserver {
  private epochValue: Epoch = 0;
  private leader: NodeId | null = null;
  private hw = 0;
  private applied = 0;
  private leaderHw = -1;
  /** Voter asked next while no leader is known. */
  private nextVoter = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly history: VoterSetHistory;
  private readonly listenerName: string;
  private warnedVoter = false;
  /** Leaders' addresses as fetch answers gave them; one per node that led, the newest answer wins. */
  private readonly leaderEndpoints = new Map<NodeId, PeerAddress>();

  constructor(private readonly opts: RaftObserverOptions) {
    if (opts.voters.some((v) => v.nodeId === opts.nodeId)) throw new Error(`node ${opts.nodeId} is a voter, not an observer`);
    if (opts.voters.length === 0) throw new Error('an observer needs voters to fetch from');
    this.hw = Math.max(opts.log.startOffset(), opts.log.latestSnapshot()?.offset ?? 0);
    this.applied = this.hw;
    this.listenerName = opts.listenerName ?? DEFAULT_CONTROLLER_LISTENER;
    this.history = loadVoterSetHistory(opts.log, voterSetOfPeers(opts.voters, this.listenerName), decodeSnapshotVoters);
  }

  /** The voter set its log records (the last voters entry, committed or not). */
  voters(): VoterSet {
    return this.history.latest();
  }

  /** What a snapshot ending at `offset` carries (RaftNode.snapshotVoterSet). */
  snapshotVoterSet(offset: number): VoterSet | null {
    return this.history.dynamicSetBefore(offset);
  }

  epoch(): Epoch {
    return this.epochValue;
  }

  leaderId(): NodeId | null {
    return this.leader;
  }

  highWatermark(): number {
    return this.hw;
  }

  /** The leader's high watermark as of the last successful fetch; -1 before one. */
  leaderHighWatermark(): number {
    return this.leaderHw;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.fetchOnce().then((delay) => this.schedule(delay));
    }, delayMs);
    this.timer.unref();
  }

  /** One fetch; returns how long to wait before the next. */
  private async fetchOnce(): Promise<number> {
    const transport = this.opts.transport();
    if (transport === undefined) return this.opts.fetchBackoffMs;
    const peer = (this.leader !== null ? this.addressOf(this.leader) : undefined) ?? this.nextVoterAddress();
    if (peer === undefined) return this.opts.fetchBackoffMs;
    if (this.opts.log.flushedOffset() < this.opts.log.endOffset()) this.opts.log.flush();
    const fetchOffset = this.opts.log.endOffset();
    const lastFetchedEpoch = this.opts.log.lastEpoch();
    let response: RaftFetchResponse;
    try {
      response = await transport.call(peer, 'raft.fetch', {
        clusterId: this.opts.clusterId, replicaId: this.opts.nodeId, epoch: this.epochValue, fetchOffset, lastFetchedEpoch,
      }, this.opts.requestTimeoutMs);
    } catch (err) {
      this.opts.logger.debug('metadata fetch failed', { peer: peer.nodeId, error: (err as Error).message });
      this.leader = null;
      return this.opts.fetchBackoffMs;
    }
    if (!this.running) return 0;
    try {
      const snapshotId = response.snapshotId ?? null;
      if (response.errorCode === NONE && response.leaderEpoch === this.epochValue && snapshotId !== null) {
        this.leader = peer.nodeId;
        return await this.fetchSnapshot(transport, peer, { offset: snapshotId.endOffset, epoch: snapshotId.epoch });
      }
      return this.handle(peer.nodeId, fetchOffset, lastFetchedEpoch, response);
    } finally {
      this.opts.onStep?.();
    }
  }

  /** Where voter `id` is reached: its endpoint in the voter set, else its configured address, else the one a fetch answer gave for it as the leader. */
  addressOf(id: NodeId): PeerAddress | undefined {
    const voter = this.history.find(id);
    return (voter === undefined ? undefined : peerOfVoter(voter, this.listenerName))
      ?? this.opts.voters.find((v) => v.nodeId === id) ?? this.leaderEndpoints.get(id);
  }

  private nextVoterAddress(): PeerAddress | undefined {
    const ids = this.history.latest().ids().filter((id) => id !== this.opts.nodeId);
    if (ids.length === 0) return undefined;
    return this.addressOf(ids[this.nextVoter++ % ids.length]!);
  }

  /** Fetches snapshot `id` from the leader and installs it; returns how long to wait before the next fetch. */
  private async fetchSnapshot(transport: ClusterTransport, peer: PeerAddress, id: { offset: number; epoch: Epoch }): Promise<number> {
    const chunks: Uint8Array[] = [];
    let position = 0;
    for (;;) {
      let resp;
      try {
        resp = await transport.call(peer, 'raft.fetch-snapshot', {
          clusterId: this.opts.clusterId, replicaId: this.opts.nodeId, epoch: this.epochValue,
          snapshotId: { endOffset: id.offset, epoch: id.epoch }, position,
        }, this.opts.requestTimeoutMs);
      } catch (err) {
        this.opts.logger.debug('metadata snapshot fetch failed', { peer: peer.nodeId, error: (err as Error).message });
        return this.opts.fetchBackoffMs;
      }
      if (!this.running) return 0;
      // The leader changed or moved to a newer snapshot: start over with a fetch.
      if (resp.errorCode !== NONE || resp.position !== position || (resp.bytes.length === 0 && position < resp.size)) {
        return this.opts.fetchBackoffMs;
      }
      chunks.push(resp.bytes);
      position += resp.bytes.length;
      if (position >= resp.size) break;
    }
    if (id.offset < this.hw) throw new Error(`observer ${this.opts.nodeId} told to install snapshot ${id.offset} below its high watermark ${this.hw}`);
    const bytes = Buffer.concat(chunks);
    this.opts.log.installSnapshot(id, bytes);
    this.history.reset(decodeSnapshotVoters(bytes));
    this.hw = id.offset;
    this.applied = id.offset;
    this.opts.listener.onSnapshot(id, bytes);
    return 0;
  }

  private handle(from: NodeId, fetchOffset: number, lastFetchedEpoch: Epoch, resp: RaftFetchResponse): number {
    const leaderId = resp.leaderId < 0 ? null : resp.leaderId;
    if (leaderId !== null && resp.leaderEndpoint !== undefined) {
      this.leaderEndpoints.set(leaderId, { nodeId: leaderId, host: resp.leaderEndpoint.host, port: resp.leaderEndpoint.port });
    }
    if (resp.leaderEpoch > this.epochValue) {
      this.epochValue = resp.leaderEpoch;
      this.leader = leaderId;
    }
    if (resp.errorCode === NOT_LEADER_OR_FOLLOWER || resp.errorCode === FENCED_LEADER_EPOCH) {
      if (resp.leaderEpoch >= this.epochValue) this.leader = leaderId;
      return this.leader === null || this.leader === from ? this.opts.fetchBackoffMs : 0;
    }
    // Any other error (a voter behind the epoch asked, which answers nothing): ask around.
    if (resp.errorCode !== NONE || resp.leaderEpoch !== this.epochValue) {
      this.leader = null;
      return this.opts.fetchBackoffMs;
    }
    // The log moved while the fetch was out: ask again from where it is now.
    if (fetchOffset !== this.opts.log.endOffset() || lastFetchedEpoch !== this.opts.log.lastEpoch()) return 0;
    this.leader = from;
    if (resp.divergingEpoch !== null) {
      const local = this.opts.log.endOffsetForEpoch(resp.divergingEpoch.epoch);
      const target = Math.min(resp.divergingEpoch.endOffset, local.offset);
      if (target < this.hw) throw new Error(`observer ${this.opts.nodeId} told to truncate to ${target} below its high watermark ${this.hw}`);
      this.opts.log.truncateTo(target);
      this.history.truncateTo(target);
      return 0;
    }
    const entries = entriesOfBatches(resp.records);
    for (const entry of entries) {
      this.opts.log.append(entry);
      if (entry.kind === 'voters') this.history.add(entry.offset, decodeVotersRecord(entry.data));
    }
    if (!this.warnedVoter && this.history.latest().has(this.opts.nodeId)) {
      // Without the controller role it runs no core: it cannot vote, and the quorum counts one voter that never will.
      this.warnedVoter = true;
      this.opts.logger.error('this node was added to the metadata voters but has no controller role: it keeps observing; remove it from the voters', { nodeId: this.opts.nodeId });
    }
    this.leaderHw = resp.highWatermark;
    const hw = Math.min(resp.highWatermark, this.opts.log.endOffset());
    if (hw > this.hw) {
      this.hw = hw;
      const committed = this.opts.log.read(this.applied, hw - this.applied);
      this.applied = hw;
      this.opts.listener.onCommit(committed, hw);
    }
    return entries.length > 0 ? 0 : this.opts.fetchBackoffMs;
  }
}
