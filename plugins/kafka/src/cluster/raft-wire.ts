/**
 * The Raft RPCs on the wire, as KRaft sends them: Vote v1, BeginQuorumEpoch v1, EndQuorumEpoch v1,
 * DescribeQuorum v2 (with the voters' endpoints in Nodes), Fetch v17 of `__cluster_metadata` partition 0 (by its fixed topic id,
 * the fetcher in ReplicaState, the batches as stored in `records`, the snapshot to fetch in
 * the `snapshot_id` tag, the named leader's address in the NodeEndpoints tag), and
 * FetchSnapshot v1 (a chunk of a snapshot in `unaligned_records`).
 * Each message names the metadata partition; one naming anything else is INVALID_REQUEST.
 *
 * Pre-vote (KIP-996) is a field of Vote v2, and the message definitions our codecs are
 * generated from stop at v1. Until they are regenerated from Kafka 4's, a pre-vote is marked
 * by PRE_VOTE_DIRECTORY_ID in v1's candidate_directory_id, a field Sluice has no other use
 * for (it does not track log directory ids).
 */
import type { ClusterRpcRequest, RaftFetchResponse, RaftFetchSnapshotResponse } from '@sluice/sdk';
import {
  ApiKey, uuidEquals, ZERO_UUID, type Decoded, type DescribeQuorumResponse, type FetchRequest, type FetchResponse,
} from '../protocol/index.js';
import type { RpcWire } from './rpc-wire.js';
import { firstError, invalidRequest } from './wire-errors.js';

export const METADATA_TOPIC = '__cluster_metadata';
/** KRaft's fixed id of the metadata topic (Uuid.METADATA_TOPIC_ID: 0, 1). */
export const METADATA_TOPIC_ID: Uint8Array = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** Marks a Vote v1 request as a pre-vote (see above). */
export const PRE_VOTE_DIRECTORY_ID: Uint8Array = Uint8Array.from([0x50, 0x52, 0x45, 0x56, 0x4f, 0x54, 0x45, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const NO_RECORDS = new Uint8Array(0);

/** The one partition a Raft message is about, which must be the metadata partition. */
function metadataPartition<P extends { partitionIndex: number }>(topics: ReadonlyArray<{ topicName: string; partitions: readonly P[] }>): P {
  const p = topics.length === 1 && topics[0]!.topicName === METADATA_TOPIC && topics[0]!.partitions.length === 1
    ? topics[0]!.partitions[0]!
    : undefined;
  if (p === undefined || p.partitionIndex !== 0) {
    throw invalidRequest(`a Raft request must name ${METADATA_TOPIC} partition 0 only`);
  }
  return p;
}

/** The answered partition, or undefined when the response carries only a top-level error. */
function answeredPartition<P>(topics: ReadonlyArray<{ partitions: readonly P[] }>): P | undefined {
  return topics[0]?.partitions[0];
}

const vote: RpcWire<'raft.vote', typeof ApiKey.Vote> = {
  apiKey: ApiKey.Vote,
  version: 1,
  requestToWire: (r) => ({
    clusterId: r.clusterId,
    voterId: r.voterId,
    topics: [{
      topicName: METADATA_TOPIC,
      partitions: [{
        partitionIndex: 0, candidateEpoch: r.candidateEpoch, candidateId: r.candidateId,
        candidateDirectoryId: r.preVote ? PRE_VOTE_DIRECTORY_ID : ZERO_UUID, voterDirectoryId: ZERO_UUID,
        lastOffsetEpoch: r.lastOffsetEpoch, lastOffset: r.lastOffset,
      }],
    }],
  }),
  responseFromWire: (res) => {
    const p = answeredPartition(res.topics);
    return {
      errorCode: firstError(res.errorCode, p?.errorCode),
      leaderId: p?.leaderId ?? -1, leaderEpoch: p?.leaderEpoch ?? -1, voteGranted: p?.voteGranted ?? false,
    };
  },
  requestFromWire: (req) => {
    const p = metadataPartition(req.topics);
    return {
      clusterId: req.clusterId ?? '', candidateId: p.candidateId, voterId: req.voterId, candidateEpoch: p.candidateEpoch,
      lastOffsetEpoch: p.lastOffsetEpoch, lastOffset: p.lastOffset, preVote: uuidEquals(p.candidateDirectoryId, PRE_VOTE_DIRECTORY_ID),
    };
  },
  responseToWire: (res) => ({
    errorCode: 0,
    topics: [{
      topicName: METADATA_TOPIC,
      partitions: [{ partitionIndex: 0, errorCode: res.errorCode, leaderId: res.leaderId, leaderEpoch: res.leaderEpoch, voteGranted: res.voteGranted }],
    }],
  }),
  errorToWire: (errorCode) => ({ errorCode, topics: [] }),
};

const beginQuorumEpoch: RpcWire<'raft.begin-quorum-epoch', typeof ApiKey.BeginQuorumEpoch> = {
  apiKey: ApiKey.BeginQuorumEpoch,
  version: 1,
  requestToWire: (r) => ({
    clusterId: r.clusterId,
    voterId: r.voterId,
    topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0, voterDirectoryId: ZERO_UUID, leaderId: r.leaderId, leaderEpoch: r.leaderEpoch }] }],
    leaderEndpoints: [],
  }),
  responseFromWire: (res) => ({ errorCode: firstError(res.errorCode, answeredPartition(res.topics)?.errorCode) }),
  requestFromWire: (req) => {
    const p = metadataPartition(req.topics);
    return { clusterId: req.clusterId ?? '', leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, voterId: req.voterId };
  },
  // The voter's view of the leader is not part of the RPC's answer: the sender is the leader.
  responseToWire: (res, req) => ({
    errorCode: 0,
    topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0, errorCode: res.errorCode, leaderId: req.leaderId, leaderEpoch: req.leaderEpoch }] }],
    nodeEndpoints: [],
  }),
  errorToWire: (errorCode) => ({ errorCode, topics: [], nodeEndpoints: [] }),
};

/**
 * v1 names the successors with directory ids (PreferredCandidates), v0 by id alone
 * (PreferredSuccessors); Sluice tracks no directory ids and sends zeros, as for votes.
 */
const endQuorumEpoch: RpcWire<'raft.end-quorum-epoch', typeof ApiKey.EndQuorumEpoch> = {
  apiKey: ApiKey.EndQuorumEpoch,
  version: 1,
  requestToWire: (r) => ({
    clusterId: r.clusterId,
    topics: [{
      topicName: METADATA_TOPIC,
      partitions: [{
        partitionIndex: 0, leaderId: r.leaderId, leaderEpoch: r.leaderEpoch,
        preferredCandidates: r.preferredSuccessors.map((id) => ({ candidateId: id, candidateDirectoryId: ZERO_UUID })),
      }],
    }],
    leaderEndpoints: [],
  }),
  responseFromWire: (res) => ({ errorCode: firstError(res.errorCode, answeredPartition(res.topics)?.errorCode) }),
  requestFromWire: (req, version) => {
    const p = metadataPartition(req.topics);
    const successors = version >= 1 ? (p.preferredCandidates ?? []).map((c) => c.candidateId) : (p.preferredSuccessors ?? []);
    return { clusterId: req.clusterId ?? '', leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, preferredSuccessors: successors };
  },
  // As for BeginQuorumEpoch, the voter's view of the leader is not part of the answer.
  responseToWire: (res, req) => ({
    errorCode: 0,
    topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0, errorCode: res.errorCode, leaderId: req.leaderId, leaderEpoch: req.leaderEpoch }] }],
    nodeEndpoints: [],
  }),
  errorToWire: (errorCode) => ({ errorCode, topics: [], nodeEndpoints: [] }),
};

type ReplicaState = DescribeQuorumResponse['topics'][number]['partitions'][number]['currentVoters'][number];

const describeQuorum: RpcWire<'raft.describe-quorum', typeof ApiKey.DescribeQuorum> = {
  apiKey: ApiKey.DescribeQuorum,
  version: 2,
  requestToWire: () => ({ topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }] }),
  responseFromWire: (res) => {
    const p = answeredPartition(res.topics);
    const progress = (s: Decoded<ReplicaState>) => ({
      replicaId: s.replicaId, logEndOffset: s.logEndOffset, lastFetchTimestampMs: s.lastFetchTimestamp, lastCaughtUpTimestampMs: s.lastCaughtUpTimestamp,
    });
    return {
      errorCode: firstError(res.errorCode, p?.errorCode),
      leaderId: p?.leaderId ?? -1, leaderEpoch: p?.leaderEpoch ?? -1, highWatermark: p?.highWatermark ?? -1,
      voters: (p?.currentVoters ?? []).map(progress), observers: (p?.observers ?? []).map(progress),
      nodes: (res.nodes ?? []).map((n) => ({ nodeId: n.nodeId, listeners: n.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })) })),
    };
  },
  requestFromWire: (req) => {
    metadataPartition(req.topics);
    return {};
  },
  responseToWire: (res) => {
    const state = (s: (typeof res.voters)[number]): ReplicaState => ({
      replicaId: s.replicaId, replicaDirectoryId: ZERO_UUID, logEndOffset: s.logEndOffset,
      lastFetchTimestamp: s.lastFetchTimestampMs, lastCaughtUpTimestamp: s.lastCaughtUpTimestampMs,
    });
    return {
      errorCode: 0, errorMessage: null,
      topics: [{
        topicName: METADATA_TOPIC,
        partitions: [{
          partitionIndex: 0, errorCode: res.errorCode, errorMessage: null, leaderId: res.leaderId, leaderEpoch: res.leaderEpoch,
          highWatermark: res.highWatermark, currentVoters: res.voters.map(state), observers: res.observers.map(state),
        }],
      }],
      nodes: (res.nodes ?? []).map((n) => ({ nodeId: n.nodeId, listeners: n.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })) })),
    };
  },
  errorToWire: (errorCode) => ({ errorCode, errorMessage: null, topics: [], nodes: [] }),
};

/** Whether a Fetch request is a Raft fetch of the metadata partition (by name before v13, by id after). */
export function isRaftFetch(req: Decoded<FetchRequest>, version: number): boolean {
  const t = req.topics[0];
  if (t === undefined || req.topics.length !== 1) return false;
  return version >= 13 ? uuidEquals(t.topicId, METADATA_TOPIC_ID) : t.topic === METADATA_TOPIC;
}

/** The fetcher's replica id: the ReplicaState tag from v15, the replica_id field before; -1 for a consumer. */
export function fetchReplicaId(req: Decoded<FetchRequest>, version: number): number {
  return version >= 15 ? req.replicaState.replicaId : req.replicaId;
}

/** The fetcher's broker epoch (ReplicaState, v15+), -1 before. */
export function fetchReplicaEpoch(req: Decoded<FetchRequest>, version: number): number {
  return version >= 15 ? req.replicaState.replicaEpoch : -1;
}

type FetchPartitionData = FetchResponse['responses'][number]['partitions'][number];

const raftFetch: RpcWire<'raft.fetch', typeof ApiKey.Fetch> = {
  apiKey: ApiKey.Fetch,
  version: 17,
  requestToWire: (r) => ({
    clusterId: r.clusterId,
    replicaState: { replicaId: r.replicaId, replicaEpoch: -1 },
    // The leader answers at once: Raft's fetch timing belongs to the Raft core, not the wire.
    maxWaitMs: 0, minBytes: 0, maxBytes: 0x7fffffff, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{
      topic: METADATA_TOPIC, topicId: METADATA_TOPIC_ID,
      partitions: [{
        partition: 0, currentLeaderEpoch: r.epoch, fetchOffset: r.fetchOffset, lastFetchedEpoch: r.lastFetchedEpoch,
        logStartOffset: -1, partitionMaxBytes: 0x7fffffff, replicaDirectoryId: ZERO_UUID,
      }],
    }],
    forgottenTopicsData: [], rackId: '',
  }),
  responseFromWire: (res): RaftFetchResponse => {
    const p = res.responses[0]?.partitions[0];
    const diverging = p?.divergingEpoch;
    const leaderId = p?.currentLeader.leaderId ?? -1;
    const leader = leaderId < 0 ? undefined : res.nodeEndpoints?.find((e) => e.nodeId === leaderId);
    return {
      errorCode: firstError(res.errorCode, p?.errorCode),
      leaderId: p?.currentLeader.leaderId ?? -1, leaderEpoch: p?.currentLeader.leaderEpoch ?? -1,
      highWatermark: p?.highWatermark ?? -1,
      divergingEpoch: diverging === undefined || (diverging.epoch === -1 && diverging.endOffset === -1)
        ? null : { epoch: diverging.epoch, endOffset: diverging.endOffset },
      records: p?.records ?? NO_RECORDS,
      ...(p?.snapshotId === undefined || p.snapshotId.endOffset < 0 ? {} : { snapshotId: { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch } }),
      ...(leader === undefined ? {} : { leaderEndpoint: { host: leader.host, port: leader.port } }),
    };
  },
  requestFromWire: (req, version): ClusterRpcRequest<'raft.fetch'> => {
    const t = req.topics[0];
    const p = t?.partitions[0];
    if (p === undefined || req.topics.length !== 1 || t!.partitions.length !== 1 || p.partition !== 0) {
      throw invalidRequest(`a Raft fetch must name ${METADATA_TOPIC} partition 0 only`);
    }
    return {
      clusterId: req.clusterId ?? '', replicaId: fetchReplicaId(req, version), epoch: p.currentLeaderEpoch,
      fetchOffset: p.fetchOffset, lastFetchedEpoch: p.lastFetchedEpoch,
    };
  },
  responseToWire: (res) => {
    const partition: FetchPartitionData = {
      partitionIndex: 0, errorCode: res.errorCode, highWatermark: res.highWatermark, lastStableOffset: res.highWatermark, logStartOffset: -1,
      divergingEpoch: res.divergingEpoch === null ? { epoch: -1, endOffset: -1 } : { epoch: res.divergingEpoch.epoch, endOffset: res.divergingEpoch.endOffset },
      currentLeader: { leaderId: res.leaderId, leaderEpoch: res.leaderEpoch },
      abortedTransactions: null, preferredReadReplica: -1, records: res.records,
      snapshotId: res.snapshotId == null ? { endOffset: -1, epoch: -1 } : { endOffset: res.snapshotId.endOffset, epoch: res.snapshotId.epoch },
    };
    return {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{ topic: METADATA_TOPIC, topicId: METADATA_TOPIC_ID, partitions: [partition] }],
      nodeEndpoints: res.leaderEndpoint === undefined ? [] : [{ nodeId: res.leaderId, host: res.leaderEndpoint.host, port: res.leaderEndpoint.port, rack: null }],
    };
  },
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] }),
};

const fetchSnapshot: RpcWire<'raft.fetch-snapshot', typeof ApiKey.FetchSnapshot> = {
  apiKey: ApiKey.FetchSnapshot,
  version: 1,
  requestToWire: (r) => ({
    clusterId: r.clusterId,
    replicaId: r.replicaId,
    // The leader bounds each chunk itself (the Raft core's snapshot chunk size).
    maxBytes: 0x7fffffff,
    topics: [{
      name: METADATA_TOPIC,
      partitions: [{
        partition: 0, currentLeaderEpoch: r.epoch, snapshotId: { endOffset: r.snapshotId.endOffset, epoch: r.snapshotId.epoch },
        position: r.position, replicaDirectoryId: ZERO_UUID,
      }],
    }],
  }),
  responseFromWire: (res, req): RaftFetchSnapshotResponse => {
    const p = res.topics[0]?.partitions[0];
    return {
      errorCode: firstError(res.errorCode, p?.errorCode),
      leaderId: p?.currentLeader?.leaderId ?? -1, leaderEpoch: p?.currentLeader?.leaderEpoch ?? -1,
      snapshotId: p === undefined ? req.snapshotId : { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch },
      size: p?.size ?? 0, position: p?.position ?? -1, bytes: p?.unalignedRecords ?? NO_RECORDS,
    };
  },
  requestFromWire: (req): ClusterRpcRequest<'raft.fetch-snapshot'> => {
    const t = req.topics[0];
    const p = t?.partitions[0];
    if (p === undefined || req.topics.length !== 1 || t!.name !== METADATA_TOPIC || t!.partitions.length !== 1 || p.partition !== 0) {
      throw invalidRequest(`a FetchSnapshot must name ${METADATA_TOPIC} partition 0 only`);
    }
    return {
      clusterId: req.clusterId ?? '', replicaId: req.replicaId, epoch: p.currentLeaderEpoch,
      snapshotId: { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch }, position: p.position,
    };
  },
  responseToWire: (res) => ({
    throttleTimeMs: 0, errorCode: 0,
    topics: [{
      name: METADATA_TOPIC,
      partitions: [{
        index: 0, errorCode: res.errorCode, snapshotId: { endOffset: res.snapshotId.endOffset, epoch: res.snapshotId.epoch },
        currentLeader: { leaderId: res.leaderId, leaderEpoch: res.leaderEpoch }, size: res.size, position: res.position,
        unalignedRecords: res.bytes,
      }],
    }],
    nodeEndpoints: [],
  }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, topics: [], nodeEndpoints: [] }),
};

export const raftWires = {
  'raft.vote': vote,
  'raft.begin-quorum-epoch': beginQuorumEpoch,
  'raft.end-quorum-epoch': endQuorumEpoch,
  'raft.describe-quorum': describeQuorum,
  'raft.fetch': raftFetch,
  'raft.fetch-snapshot': fetchSnapshot,
} as const;
