/**
 * Runs one `RaftNode` on real time and a real network. The core is pure: it reacts to
 * `handle`, `poll` and `propose` and tells when it next needs `poll` (`nextWakeupMs`). The
 * driver keeps one unref'd timer armed for that moment, re-armed after every step, and
 * turns the core's messages into cluster RPCs and back:
 *
 * - outbound requests (vote, begin-quorum-epoch, end-quorum-epoch, fetch) become `ClusterTransport.call`s to
 *   the peer's address: its endpoint in the voter set the log records (KIP-853), else its
 *   `controller.quorum.voters` address (voter-addresses.ts); the answer becomes the core's
 *   response message and goes to `node.handle`. A failed call is dropped: the core resends
 *   on its own timers, which is also why at most one call per RPC and peer is in flight;
 * - inbound requests (`handle`) become the core's request message. The core answers a
 *   request synchronously inside `handle` through the channel, so the driver captures the
 *   reply addressed to the sender and returns it as the RPC's response. When the core
 *   sends none (a fetch carrying a newer epoch) the response carries UNKNOWN_LEADER_EPOCH,
 *   which the caller drops. Fetches may come from observers (raft-observer.ts). Votes and
 *   begin-quorum-epoch naming another node as the voter are refused (INVALID_VOTER_KEY, as
 *   KRaft answers; a request that names none, voterId -1, is taken as meant for this node);
 *   the sender need not be in this node's voter set, which may lag the sender's (KIP-853:
 *   a node added a moment ago may have to vote before it fetched its own addition).
 *
 * Field mapping (sdk/src/cluster.ts follows Kafka's messages):
 *   vote-request {from, to, epoch, lastEpoch, endOffset, preVote}
 *     <-> VoteRequest {candidateId, voterId, candidateEpoch, lastOffsetEpoch, lastOffset, preVote}
 *   vote-response {epoch, leaderId, granted} <-> VoteResponse {leaderEpoch, leaderId (-1 = none), voteGranted}
 *   begin-quorum-epoch {from, epoch} <-> BeginQuorumEpochRequest {leaderId, leaderEpoch}
 *   end-quorum-epoch {from, epoch, preferredSuccessors} <-> EndQuorumEpochRequest {leaderId, leaderEpoch, preferredSuccessors}
 *   fetch-request {from, epoch, fetchOffset, lastFetchedEpoch} <-> RaftFetchRequest {replicaId, epoch, ...}
 *   fetch-response {error, epoch, leaderId, highWatermark, entries, divergingEpoch}
 *     <-> RaftFetchResponse {errorCode (0, 74, 6), leaderEpoch, leaderId, highWatermark,
 *         records (one batch per entry), divergingEpoch {epoch, endOffset}, snapshotId {endOffset, epoch},
 *         leaderEndpoint (the named leader's address when another node leads; the caller keeps it
 *         for a leader it has no address for)}
 *   fetch-snapshot-request {from, epoch, snapshotId, position} <-> RaftFetchSnapshotRequest {replicaId, epoch, ...}
 *   fetch-snapshot-response {error, epoch, leaderId, size, position, bytes}
 *     <-> RaftFetchSnapshotResponse {errorCode (0, 74, 6, 98), leaderEpoch, leaderId, size, position, bytes}
 * The response echo fields of the core's messages (requestEpoch, fetchOffset, ...) are
 * taken from the request the caller sent.
 */
import type {
  BeginQuorumEpochRequest, BeginQuorumEpochResponse, ClusterTransport, EndQuorumEpochRequest, EndQuorumEpochResponse, Logger, PeerAddress, RaftFetchRequest,
  RaftFetchResponse, RaftFetchSnapshotRequest, RaftFetchSnapshotResponse, VoteRequest as WireVoteRequest,
  VoteResponse as WireVoteResponse,
} from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { batchesOfEntries, entriesOfBatches } from '../raft/file-raft-log.js';
import type { FetchError, FetchRequest, FetchSnapshotError, FetchSnapshotRequest, RaftMessage, VoteRequest } from '../raft/messages.js';
import type { RaftConfig } from '../raft/raft-config.js';
import type { RaftLog } from '../raft/raft-log.js';
import { RaftNode, type ProposeResult, type RaftListener, type VoterChangeResult } from '../raft/raft-node.js';
import type { QuorumStateStore } from '../raft/quorum-state-store.js';
import { systemRandom, type Random } from '../raft/random.js';
import { decodeSnapshotVoters } from '../raft/snapshot-format.js';
import type { Voter } from '../raft/voter-set.js';
import { DEFAULT_CONTROLLER_LISTENER, peerOfVoter, voterSetOfPeers } from './voter-addresses.js';
import type { NodeId } from '../raft/types.js';

/**
 * Raft's time: monotonic, so a wall-clock step neither fires nor starves timeouts, and
 * anchored at the wall clock so its readings still read as epoch milliseconds (DescribeQuorum).
 * Not the kernel's injected clock: tests that hold that one still need elections to run.
 */
export const raftClock: Clock = { nowMs: () => Math.floor(performance.timeOrigin + performance.now()) };

/**
 * Bytes of entries in one fetch response (Kafka's Raft fetch uses 8 MiB). The core bounds a
 * response by entries; metadata entries can be large, so bytes are bounded here too: the
 * follower appends the prefix it gets and fetches the rest.
 */
const FETCH_RESPONSE_BYTES_MAX = 8 * 1024 * 1024;

/** Longest sleep between polls, so a wall-clock jump cannot leave the node asleep for long. */
const WAKEUP_DELAY_MAX_MS = 1000;

const NONE = 0;
const NOT_LEADER_OR_FOLLOWER = 6;
const FENCED_LEADER_EPOCH = 74;
const UNKNOWN_LEADER_EPOCH = 75;
const BROKER_NOT_AVAILABLE = 8;
const INVALID_VOTER_KEY = 125;
const INCONSISTENT_CLUSTER_ID = 104;
const SNAPSHOT_NOT_FOUND = 98;

const FETCH_ERROR_CODES: Readonly<Record<FetchError, number>> = {
  none: NONE, 'fenced-epoch': FENCED_LEADER_EPOCH, 'not-leader': NOT_LEADER_OR_FOLLOWER,
};
const FETCH_SNAPSHOT_ERROR_CODES: Readonly<Record<FetchSnapshotError, number>> = {
  ...FETCH_ERROR_CODES, 'snapshot-not-found': SNAPSHOT_NOT_FOUND,
};

/** The raft.* RPCs a driver answers, with their wire request and response. */
export interface RaftRpcs {
  'raft.vote': { request: WireVoteRequest; response: WireVoteResponse };
  'raft.begin-quorum-epoch': { request: BeginQuorumEpochRequest; response: BeginQuorumEpochResponse };
  'raft.end-quorum-epoch': { request: EndQuorumEpochRequest; response: EndQuorumEpochResponse };
  'raft.fetch': { request: RaftFetchRequest; response: RaftFetchResponse };
  'raft.fetch-snapshot': { request: RaftFetchSnapshotRequest; response: RaftFetchSnapshotResponse };
}
export type RaftRpcName = keyof RaftRpcs;

export interface RaftDriverOptions {
  readonly nodeId: NodeId;
  /** Every voter, this node included, with the address its cluster RPCs go to. */
  readonly voters: readonly PeerAddress[];
  /** The listener whose endpoint a voter is reached at; default CONTROLLER. */
  readonly listenerName?: string;
  readonly clusterId: string;
  readonly log: RaftLog;
  readonly store: QuorumStateStore;
  readonly listener: RaftListener;
  readonly config: RaftConfig;
  /** Read on every send: the plugin providing the transport starts after the kernel. */
  readonly transport: () => ClusterTransport | undefined;
  /** `controller.quorum.request.timeout.ms`. */
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** Default `raftClock`. */
  readonly clock?: Clock;
  readonly random?: Random;
  /** After every step (poll, handle, propose, response): the role, epoch or high watermark may have moved. */
  readonly onStep?: () => void;
}

export class RaftDriver {
  readonly node: RaftNode;
  private readonly clock: Clock;
  /** `controller.quorum.voters`: where a voter is reached when the voter set records no endpoint for it. */
  private readonly peers = new Map<NodeId, PeerAddress>();
  /**
   * Leaders' addresses as fetch answers gave them (KIP-853's NodeEndpoints): a node whose
   * `controller.quorum.voters` predates the leader's addition cannot read its endpoint from
   * a log it has yet to fetch. One per node that led; the newest answer wins.
   */
  private readonly leaderEndpoints = new Map<NodeId, PeerAddress>();
  private readonly listenerName: string;
  /** `${rpc}:${peer}` of the calls awaiting an answer. */
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  /** Set while an inbound request is in the core: the sender its reply goes to. */
  private replyTo: NodeId | null = null;
  private reply: RaftMessage | undefined;
  /** While the core resigns: the EndQuorumEpoch calls it sends, which `resign` waits for. */
  private handoverCalls: Array<Promise<unknown>> | undefined;
  /** The leader's own high watermark from its last fetch response; -1 before any. */
  private leaderHighWatermarkValue = -1;

  constructor(private readonly opts: RaftDriverOptions) {
    this.clock = opts.clock ?? raftClock;
    for (const v of opts.voters) if (v.nodeId !== opts.nodeId) this.peers.set(v.nodeId, v);
    this.listenerName = opts.listenerName ?? DEFAULT_CONTROLLER_LISTENER;
    this.node = new RaftNode({
      id: opts.nodeId, voters: voterSetOfPeers(opts.voters, this.listenerName), snapshotVoters: decodeSnapshotVoters,
      log: opts.log, store: opts.store,
      clock: this.clock, random: opts.random ?? systemRandom, config: opts.config, listener: opts.listener,
      channel: { send: (message) => this.send(message) },
    });
  }

  /** The leader's high watermark as of the last successful fetch from it; -1 before one. */
  leaderHighWatermark(): number {
    return this.leaderHighWatermarkValue;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.step(() => this.node.poll());
  }

  /** Stops the timer; responses still in flight are dropped when they arrive. */
  stop(): void {
    this.stopped = true;
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * On the leader of a stopping node: hands leadership over (EndQuorumEpoch to the other
   * voters). Resolves once each of them answered or its call failed or timed out
   * (`requestTimeoutMs`), so the caller can keep the transport open until then.
   */
  async resign(): Promise<void> {
    if (this.stopped) return;
    const calls: Array<Promise<unknown>> = [];
    this.handoverCalls = calls;
    try {
      this.step(() => this.node.resign());
    } finally {
      this.handoverCalls = undefined;
    }
    await Promise.allSettled(calls);
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.stopped) return { accepted: false, leaderId: null };
    return this.step(() => this.node.propose(data));
  }

  async handle<K extends RaftRpcName>(rpc: K, request: RaftRpcs[K]['request']): Promise<RaftRpcs[K]['response']> {
    return this.handleNow(rpc, request) as RaftRpcs[K]['response'];
  }

  private handleNow(rpc: RaftRpcName, request: RaftRpcs[RaftRpcName]['request']): RaftRpcs[RaftRpcName]['response'] {
    const self = this.opts.nodeId;
    switch (rpc) {
      case 'raft.vote': {
        const req = request as WireVoteRequest;
        const refused = this.refusal(req.clusterId, req.voterId);
        if (refused !== NONE) return { errorCode: refused, leaderId: -1, leaderEpoch: this.node.epoch(), voteGranted: false };
        const reply = this.ask(req.candidateId, {
          type: 'vote-request', from: req.candidateId, to: self, preVote: req.preVote, epoch: req.candidateEpoch,
          lastEpoch: req.lastOffsetEpoch, endOffset: req.lastOffset,
        });
        if (reply?.type !== 'vote-response') return { errorCode: UNKNOWN_LEADER_EPOCH, leaderId: -1, leaderEpoch: this.node.epoch(), voteGranted: false };
        return { errorCode: NONE, leaderId: reply.leaderId ?? -1, leaderEpoch: reply.epoch, voteGranted: reply.granted };
      }
      case 'raft.begin-quorum-epoch': {
        const req = request as BeginQuorumEpochRequest;
        const refused = this.refusal(req.clusterId, req.voterId);
        if (refused !== NONE) return { errorCode: refused };
        this.ask(req.leaderId, { type: 'begin-quorum-epoch', from: req.leaderId, to: self, epoch: req.leaderEpoch });
        return { errorCode: NONE };
      }
      case 'raft.end-quorum-epoch': {
        const req = request as EndQuorumEpochRequest;
        // Sent to each voter by its leader's id alone: the message names no voter.
        const refused = this.refusal(req.clusterId, null);
        if (refused !== NONE) return { errorCode: refused };
        this.ask(req.leaderId, {
          type: 'end-quorum-epoch', from: req.leaderId, to: self, epoch: req.leaderEpoch, preferredSuccessors: req.preferredSuccessors,
        });
        return { errorCode: NONE };
      }
      case 'raft.fetch': {
        const req = request as RaftFetchRequest;
        const noAnswer = (errorCode: number): RaftFetchResponse => ({
          errorCode, leaderId: -1, leaderEpoch: this.node.epoch(), highWatermark: -1, divergingEpoch: null, records: new Uint8Array(0),
        });
        // Observers fetch too, so the sender need not be a voter.
        const refused = this.refusal(req.clusterId, null);
        if (refused !== NONE) return noAnswer(refused);
        const reply = this.ask(req.replicaId, {
          type: 'fetch-request', from: req.replicaId, to: self, epoch: req.epoch, fetchOffset: req.fetchOffset,
          lastFetchedEpoch: req.lastFetchedEpoch,
        });
        if (reply?.type !== 'fetch-response') return noAnswer(UNKNOWN_LEADER_EPOCH);
        const leaderEndpoint = reply.leaderId === null || reply.leaderId === self ? undefined : this.addressOf(reply.leaderId);
        return {
          errorCode: FETCH_ERROR_CODES[reply.error], leaderId: reply.leaderId ?? -1, leaderEpoch: reply.epoch,
          ...(leaderEndpoint === undefined ? {} : { leaderEndpoint: { host: leaderEndpoint.host, port: leaderEndpoint.port } }),
          highWatermark: reply.highWatermark,
          divergingEpoch: reply.divergingEpoch === null ? null : { epoch: reply.divergingEpoch.epoch, endOffset: reply.divergingEpoch.offset },
          records: batchesOfEntries(reply.entries, this.clock.nowMs(), FETCH_RESPONSE_BYTES_MAX),
          snapshotId: reply.snapshotId === null ? null : { endOffset: reply.snapshotId.offset, epoch: reply.snapshotId.epoch },
        };
      }
      case 'raft.fetch-snapshot': {
        const req = request as RaftFetchSnapshotRequest;
        const noAnswer = (errorCode: number): RaftFetchSnapshotResponse => ({
          errorCode, leaderId: -1, leaderEpoch: this.node.epoch(), snapshotId: req.snapshotId, size: 0, position: req.position,
          bytes: new Uint8Array(0),
        });
        const refused = this.refusal(req.clusterId, null);
        if (refused !== NONE) return noAnswer(refused);
        const reply = this.ask(req.replicaId, {
          type: 'fetch-snapshot-request', from: req.replicaId, to: self, epoch: req.epoch,
          snapshotId: { offset: req.snapshotId.endOffset, epoch: req.snapshotId.epoch }, position: req.position,
        });
        if (reply?.type !== 'fetch-snapshot-response') return noAnswer(UNKNOWN_LEADER_EPOCH);
        return {
          errorCode: FETCH_SNAPSHOT_ERROR_CODES[reply.error], leaderId: reply.leaderId ?? -1, leaderEpoch: reply.epoch,
          snapshotId: req.snapshotId, size: reply.size, position: reply.position, bytes: reply.bytes,
        };
      }
    }
  }

  /** Why a request is refused before the core sees it, or NONE; `voter`: the voter a vote or begin-quorum-epoch is for. */
  private refusal(clusterId: string, voter: NodeId | null): number {
    if (this.stopped) return BROKER_NOT_AVAILABLE;
    if (clusterId !== this.opts.clusterId) return INCONSISTENT_CLUSTER_ID;
    if (voter !== null && voter >= 0 && voter !== this.opts.nodeId) return INVALID_VOTER_KEY;
    return NONE;
  }

  /**
   * Where node `id` is reached: its endpoint in the newest voter set holding it, else its
   * configured address, else the one a fetch answer gave for it as the leader.
   */
  addressOf(id: NodeId): PeerAddress | undefined {
    const voter = this.node.knownVoter(id);
    return (voter === undefined ? undefined : peerOfVoter(voter, this.listenerName)) ?? this.peers.get(id) ?? this.leaderEndpoints.get(id);
  }

  addVoter(voter: Voter): VoterChangeResult {
    if (this.stopped) return { accepted: false, error: 'not-leader', message: 'the metadata quorum is stopping', leaderId: null };
    return this.step(() => this.node.addVoter(voter));
  }

  removeVoter(id: NodeId, directoryId: Uint8Array): VoterChangeResult {
    if (this.stopped) return { accepted: false, error: 'not-leader', message: 'the metadata quorum is stopping', leaderId: null };
    return this.step(() => this.node.removeVoter(id, directoryId));
  }

  /** Hands a request to the core and returns the reply it sent to `from`, if any. */
  private ask(from: NodeId, message: RaftMessage): RaftMessage | undefined {
    this.replyTo = from;
    this.reply = undefined;
    try {
      this.step(() => this.node.handle(message));
      return this.reply;
    } finally {
      this.replyTo = null;
      this.reply = undefined;
    }
  }

  private step<T>(work: () => T): T {
    try {
      return work();
    } finally {
      this.opts.onStep?.();
      this.rearm();
    }
  }

  private rearm(): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, this.node.nextWakeupMs() - this.clock.nowMs()), WAKEUP_DELAY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.step(() => this.node.poll());
    }, delay);
    this.timer.unref();
  }

  private send(message: RaftMessage): void {
    if (message.type === 'vote-response' || message.type === 'fetch-response' || message.type === 'fetch-snapshot-response') {
      // Replies only ever go out as the answer to the request being handled.
      if (this.replyTo === message.to) this.reply = message;
      return;
    }
    const peer = message.to === this.opts.nodeId ? undefined : this.addressOf(message.to);
    if (peer === undefined || this.stopped) return;
    const transport = this.opts.transport();
    if (transport === undefined) return;
    switch (message.type) {
      case 'vote-request':
        this.call(transport, peer, 'raft.vote', {
          clusterId: this.opts.clusterId, candidateId: message.from, voterId: message.to, candidateEpoch: message.epoch,
          lastOffsetEpoch: message.lastEpoch, lastOffset: message.endOffset, preVote: message.preVote,
        }, (resp) => this.onVoteResponse(message, resp));
        return;
      case 'begin-quorum-epoch':
        this.call(transport, peer, 'raft.begin-quorum-epoch', {
          clusterId: this.opts.clusterId, leaderId: message.from, leaderEpoch: message.epoch, voterId: message.to,
        }, () => undefined);
        return;
      case 'end-quorum-epoch': {
        const call = this.call(transport, peer, 'raft.end-quorum-epoch', {
          clusterId: this.opts.clusterId, leaderId: message.from, leaderEpoch: message.epoch, preferredSuccessors: message.preferredSuccessors,
        }, () => undefined);
        if (call !== undefined) this.handoverCalls?.push(call);
        return;
      }
      case 'fetch-request':
        this.call(transport, peer, 'raft.fetch', {
          clusterId: this.opts.clusterId, replicaId: message.from, epoch: message.epoch, fetchOffset: message.fetchOffset,
          lastFetchedEpoch: message.lastFetchedEpoch,
        }, (resp) => this.onFetchResponse(message, resp));
        return;
      case 'fetch-snapshot-request':
        this.call(transport, peer, 'raft.fetch-snapshot', {
          clusterId: this.opts.clusterId, replicaId: message.from, epoch: message.epoch,
          snapshotId: { endOffset: message.snapshotId.offset, epoch: message.snapshotId.epoch }, position: message.position,
        }, (resp) => this.onFetchSnapshotResponse(message, resp));
        return;
    }
  }

  private call<K extends RaftRpcName>(
    transport: ClusterTransport, peer: PeerAddress, rpc: K, request: RaftRpcs[K]['request'],
    onResponse: (response: RaftRpcs[K]['response']) => void,
  ): Promise<void> | undefined {
    const key = `${rpc}:${peer.nodeId}`;
    if (this.inFlight.has(key)) return undefined;
    this.inFlight.add(key);
    let pending: Promise<RaftRpcs[K]['response']>;
    try {
      pending = transport.call(peer, rpc, request, this.opts.requestTimeoutMs) as Promise<RaftRpcs[K]['response']>;
    } catch (err) {
      pending = Promise.reject(err as Error);
    }
    return pending.then(
      (response) => {
        this.inFlight.delete(key);
        if (!this.stopped) onResponse(response);
      },
      (err: Error) => {
        this.inFlight.delete(key);
        this.opts.logger.debug('raft request failed; the core retries', { rpc, peer: peer.nodeId, error: err.message });
      },
    );
  }

  private onVoteResponse(req: VoteRequest, resp: WireVoteResponse): void {
    if (resp.errorCode !== NONE) return;
    this.step(() => this.node.handle({
      type: 'vote-response', from: req.to, to: req.from, preVote: req.preVote, requestEpoch: req.epoch,
      epoch: resp.leaderEpoch, leaderId: resp.leaderId < 0 ? null : resp.leaderId, granted: resp.voteGranted,
    }));
  }

  private onFetchResponse(req: FetchRequest, resp: RaftFetchResponse): void {
    const error = (Object.keys(FETCH_ERROR_CODES) as FetchError[]).find((e) => FETCH_ERROR_CODES[e] === resp.errorCode);
    if (error === undefined) return;
    let entries;
    try {
      entries = entriesOfBatches(resp.records);
    } catch (err) {
      this.opts.logger.warn('raft fetch response with invalid records dropped', { peer: req.to, error: (err as Error).message });
      return;
    }
    if (error === 'none' && resp.divergingEpoch === null) this.leaderHighWatermarkValue = resp.highWatermark;
    if (resp.leaderEndpoint !== undefined && resp.leaderId >= 0 && resp.leaderId !== this.opts.nodeId) {
      this.leaderEndpoints.set(resp.leaderId, { nodeId: resp.leaderId, host: resp.leaderEndpoint.host, port: resp.leaderEndpoint.port });
    }
    this.step(() => this.node.handle({
      type: 'fetch-response', from: req.to, to: req.from, error, epoch: resp.leaderEpoch,
      leaderId: resp.leaderId < 0 ? null : resp.leaderId, fetchOffset: req.fetchOffset, lastFetchedEpoch: req.lastFetchedEpoch,
      highWatermark: resp.highWatermark, entries,
      divergingEpoch: resp.divergingEpoch === null ? null : { offset: resp.divergingEpoch.endOffset, epoch: resp.divergingEpoch.epoch },
      snapshotId: resp.snapshotId == null ? null : { offset: resp.snapshotId.endOffset, epoch: resp.snapshotId.epoch },
    }));
  }

  private onFetchSnapshotResponse(req: FetchSnapshotRequest, resp: RaftFetchSnapshotResponse): void {
    const error = (Object.keys(FETCH_SNAPSHOT_ERROR_CODES) as FetchSnapshotError[]).find((e) => FETCH_SNAPSHOT_ERROR_CODES[e] === resp.errorCode);
    if (error === undefined) return;
    this.step(() => this.node.handle({
      type: 'fetch-snapshot-response', from: req.to, to: req.from, error, epoch: resp.leaderEpoch,
      leaderId: resp.leaderId < 0 ? null : resp.leaderId, snapshotId: req.snapshotId, size: resp.size,
      position: resp.position, bytes: resp.bytes,
    }));
  }
}
