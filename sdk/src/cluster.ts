/**
 * The cluster RPCs between Sluice nodes, wire-neutral. The kernel owns the Raft quorum,
 * the controller and replication but knows no wire protocol; a plugin provides the
 * `cluster.transport` (the Kafka plugin maps every RPC onto Kafka's own API: Vote,
 * BeginQuorumEpoch, Fetch, BrokerRegistration, ...) and hands requests it receives to
 * `Kernel.cluster`. Field names follow the Kafka messages they travel in, so the mapping
 * is field for field. Error codes are Kafka error codes.
 * @experimental
 */
import type { ListenerAddress } from './index.js';

/** Where a peer node answers cluster RPCs. @experimental */
export interface PeerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** A Raft vote or pre-vote (KIP-595, KIP-996), Kafka's Vote API. @experimental */
export interface VoteRequest {
  readonly clusterId: string;
  readonly candidateId: number;
  readonly voterId: number;
  readonly candidateEpoch: number;
  readonly lastOffsetEpoch: number;
  readonly lastOffset: number;
  readonly preVote: boolean;
}

/** @experimental */
export interface VoteResponse {
  readonly errorCode: number;
  /** -1 when the voter knows no live leader. */
  readonly leaderId: number;
  /** The voter's epoch. */
  readonly leaderEpoch: number;
  readonly voteGranted: boolean;
}

/** A new leader announcing itself, Kafka's BeginQuorumEpoch API. @experimental */
export interface BeginQuorumEpochRequest {
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly voterId: number;
}

/** @experimental */
export interface BeginQuorumEpochResponse {
  readonly errorCode: number;
}

/**
 * A leader stepping down gracefully, Kafka's EndQuorumEpoch API: the voters it names in
 * `preferredSuccessors` (most log first) elect a successor without waiting for a timeout.
 * @experimental
 */
export interface EndQuorumEpochRequest {
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly preferredSuccessors: readonly number[];
}

/** @experimental */
export interface EndQuorumEpochResponse {
  readonly errorCode: number;
}

/** A voter or observer fetching the metadata log: Fetch of `__cluster_metadata-0` with a replica id. @experimental */
export interface RaftFetchRequest {
  readonly clusterId: string;
  readonly replicaId: number;
  /** The fetcher's epoch (Fetch's current_leader_epoch). */
  readonly epoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
}

/** @experimental */
export interface RaftFetchResponse {
  /** 0, FENCED_LEADER_EPOCH (74) or NOT_LEADER_OR_FOLLOWER (6). */
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  /** Set when the fetcher's log diverges: truncate to at most `endOffset` of `epoch`. */
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
  /** RecordBatch v2 bytes, as stored. */
  readonly records: Uint8Array;
  /**
   * Set when the fetch offset is below the leader's log start (or diverges there): fetch
   * this snapshot with `raft.fetch-snapshot`, then fetch the log from its end. Absent: none.
   */
  readonly snapshotId?: { readonly endOffset: number; readonly epoch: number } | null;
  /**
   * Where the leader named by `leaderId` is reached (its controller listener), set by a node
   * that does not lead when it knows: the fetcher may have no address for a voter added at
   * run time (KIP-853's NodeEndpoints). Absent: unknown, or this node leads.
   */
  readonly leaderEndpoint?: { readonly host: string; readonly port: number };
}

/** A chunk of a metadata snapshot, Kafka's FetchSnapshot (KIP-630). @experimental */
export interface RaftFetchSnapshotRequest {
  readonly clusterId: string;
  readonly replicaId: number;
  /** The fetcher's epoch (current_leader_epoch). */
  readonly epoch: number;
  readonly snapshotId: { readonly endOffset: number; readonly epoch: number };
  /** Byte position in the snapshot of the chunk asked for. */
  readonly position: number;
}

/** @experimental */
export interface RaftFetchSnapshotResponse {
  /** 0, FENCED_LEADER_EPOCH (74), NOT_LEADER_OR_FOLLOWER (6) or SNAPSHOT_NOT_FOUND (98). */
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly snapshotId: { readonly endOffset: number; readonly epoch: number };
  /** The snapshot's whole size in bytes. */
  readonly size: number;
  /** Where `bytes` starts in the snapshot. */
  readonly position: number;
  readonly bytes: Uint8Array;
}

/** Kafka's DescribeQuorum. @experimental */
export interface DescribeQuorumResponse {
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly voters: readonly ReplicaProgress[];
  readonly observers: readonly ReplicaProgress[];
  /** The voters' endpoints as the voter set records them (DescribeQuorum v2's Nodes); absent when unknown. */
  readonly nodes?: ReadonlyArray<{ readonly nodeId: number; readonly listeners: readonly VoterEndpoint[] }>;
}

/** A listener of a voter, as the voter set records it (KIP-853's VotersRecord endpoints). @experimental */
export interface VoterEndpoint {
  /** Upper-case listener name, one of the voter's `controller.listener.names`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * AddRaftVoter (80), sent to the active controller: add a node that already replicates the
 * metadata log as an observer (and is caught up) to the voter set (KIP-853). @experimental
 */
export interface AddVoterRequest {
  readonly clusterId: string;
  /** How long the leader may take, the change's commit included, before REQUEST_TIMED_OUT. */
  readonly timeoutMs: number;
  readonly voterId: number;
  /** The new voter's metadata log directory id (meta.properties `directory.id`, 16 bytes). */
  readonly voterDirectoryId: Uint8Array;
  /** Where the other voters reach it: its controller listeners. */
  readonly listeners: readonly VoterEndpoint[];
}

/** RemoveRaftVoter (81), sent to the active controller. @experimental */
export interface RemoveVoterRequest {
  readonly clusterId: string;
  readonly voterId: number;
  /** All zero: whichever directory the voter has. */
  readonly voterDirectoryId: Uint8Array;
}

/**
 * The answer to either change, once the new voter set is committed (or refused): 0, or
 * NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT (another change pending, the leader's epoch not
 * committed yet, the new voter not caught up, or no commit within the timeout),
 * DUPLICATE_VOTER, VOTER_NOT_FOUND, INVALID_REQUEST, with a message saying which.
 * @experimental
 */
export interface VoterChangeResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** @experimental */
export interface ReplicaProgress {
  readonly replicaId: number;
  readonly logEndOffset: number;
  /** -1 when unknown. */
  readonly lastFetchTimestampMs: number;
  readonly lastCaughtUpTimestampMs: number;
}

/** Kafka's BrokerRegistration: a broker joins (or rejoins after a restart). @experimental */
export interface BrokerRegistrationRequest {
  readonly brokerId: number;
  readonly clusterId: string;
  /** 16 random bytes per process start: tells a restart from a duplicate registration. */
  readonly incarnationId: Uint8Array;
  readonly listeners: readonly ListenerAddress[];
  readonly rack: string | null;
  /** -1 on the first registration. */
  readonly previousBrokerEpoch: number;
}

/** @experimental */
export interface BrokerRegistrationResponse {
  readonly errorCode: number;
  readonly brokerEpoch: number;
}

/** Kafka's BrokerHeartbeat. @experimental */
export interface BrokerHeartbeatRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The broker's committed metadata offset: the controller unfences it once caught up. */
  readonly currentMetadataOffset: number;
  readonly wantFence: boolean;
  /** Controlled shutdown: move my leaderships away, then tell me to stop. */
  readonly wantShutDown: boolean;
}

/** @experimental */
export interface BrokerHeartbeatResponse {
  readonly errorCode: number;
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  readonly shouldShutDown: boolean;
}

/** Kafka's AlterPartition: a partition leader asks the controller to change the ISR. @experimental */
export interface AlterPartitionRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly topics: ReadonlyArray<{
    readonly topicId: Uint8Array;
    readonly partitions: ReadonlyArray<{
      readonly partitionIndex: number;
      readonly leaderEpoch: number;
      readonly newIsr: readonly number[];
      /**
       * The broker epoch of each `newIsr` member (same order) as the leader last saw it in
       * that replica's fetches, -1 when unknown. The controller refuses to add a replica whose
       * registration is newer: its fetch state may come from before a restart that lost data
       * (KIP-903).
       */
      readonly newIsrBrokerEpochs?: readonly number[];
      readonly partitionEpoch: number;
    }>;
  }>;
}

/** @experimental */
export interface AlterPartitionResponse {
  readonly errorCode: number;
  readonly topics: ReadonlyArray<{
    readonly topicId: Uint8Array;
    readonly partitions: ReadonlyArray<{
      readonly partitionIndex: number;
      readonly errorCode: number;
      readonly leaderId: number;
      readonly leaderEpoch: number;
      readonly isr: readonly number[];
      readonly partitionEpoch: number;
    }>;
  }>;
}

/** Kafka's AllocateProducerIds: a block of producer ids for one broker. @experimental */
export interface AllocateProducerIdsRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

/** @experimental */
export interface AllocateProducerIdsResponse {
  readonly errorCode: number;
  readonly producerIdStart: number;
  readonly producerIdLen: number;
}

/** A follower fetching partitions it replicates: Fetch with a replica id. @experimental */
export interface ReplicaFetchRequest {
  readonly replicaId: number;
  readonly brokerEpoch: number;
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly partitions: ReadonlyArray<{
    readonly topic: string;
    readonly topicId: Uint8Array;
    readonly partition: number;
    readonly currentLeaderEpoch: number;
    readonly fetchOffset: number;
    readonly lastFetchedEpoch: number;
    readonly logStartOffset: number;
    readonly partitionMaxBytes: number;
  }>;
}

/** @experimental */
export interface ReplicaFetchResponse {
  readonly errorCode: number;
  readonly partitions: ReadonlyArray<{
    readonly topic: string;
    readonly partition: number;
    readonly errorCode: number;
    readonly highWatermark: number;
    readonly logStartOffset: number;
    readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
    readonly records: Uint8Array;
  }>;
}

/** Admin requests a broker forwards to the active controller (CreateTopics etc. in Kafka). @experimental */
export interface CreateTopicsForward {
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly numPartitions: number;
    /** -1: the broker default (`default.replication.factor`). */
    readonly replicationFactor: number;
    /** Explicit replica lists per partition; empty when the controller places replicas. */
    readonly assignments: ReadonlyArray<{ readonly partitionIndex: number; readonly brokerIds: readonly number[] }>;
    readonly configs: Readonly<Record<string, string>>;
  }>;
  readonly validateOnly: boolean;
}

/** @experimental */
export interface TopicResults {
  readonly results: ReadonlyArray<{ readonly name: string; readonly errorCode: number; readonly errorMessage: string | null }>;
}

/** @experimental */
export interface DeleteTopicsForward {
  readonly names: readonly string[];
}

/** @experimental */
export interface CreatePartitionsForward {
  readonly topics: ReadonlyArray<{ readonly name: string; readonly count: number }>;
  readonly validateOnly: boolean;
}

/** Topic config changes; a null value removes the override. @experimental */
export interface AlterConfigsForward {
  readonly resources: ReadonlyArray<{ readonly name: string; readonly changes: Readonly<Record<string, string | null>> }>;
  readonly validateOnly: boolean;
}

/** Kafka's ElectLeaders. @experimental */
export interface ElectLeadersRequest {
  /** 0 preferred, 1 unclean. */
  readonly electionType: number;
  /** null: every partition. */
  readonly topicPartitions: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }> | null;
}

/** @experimental */
export interface ElectLeadersResponse {
  readonly errorCode: number;
  readonly results: ReadonlyArray<{
    readonly topic: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly errorCode: number; readonly errorMessage: string | null }>;
  }>;
}

/** Kafka's AlterPartitionReassignments: per partition the target replicas, or null to cancel. @experimental */
export interface AlterPartitionReassignmentsRequest {
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly replicas: readonly number[] | null }>;
  }>;
}

/** @experimental */
export interface AlterPartitionReassignmentsResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly results: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly errorCode: number; readonly errorMessage: string | null }>;
  }>;
}

/** Kafka's ListPartitionReassignments. @experimental */
export interface ListPartitionReassignmentsRequest {
  /** null: every partition being reassigned. */
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: readonly number[] }> | null;
}

/** @experimental */
export interface ListPartitionReassignmentsResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** Only partitions with a reassignment in progress. */
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{
      readonly partition: number;
      readonly replicas: readonly number[];
      readonly addingReplicas: readonly number[];
      readonly removingReplicas: readonly number[];
    }>;
  }>;
}

/**
 * Every cluster RPC: its request and response. The Kafka API each maps onto is named in
 * the comment; a transport must carry all of them.
 * @experimental
 */
export interface ClusterRpcs {
  /** Vote (52). */
  'raft.vote': { request: VoteRequest; response: VoteResponse };
  /** BeginQuorumEpoch (53). */
  'raft.begin-quorum-epoch': { request: BeginQuorumEpochRequest; response: BeginQuorumEpochResponse };
  /** EndQuorumEpoch (54). */
  'raft.end-quorum-epoch': { request: EndQuorumEpochRequest; response: EndQuorumEpochResponse };
  /** Fetch (1) of `__cluster_metadata-0`. */
  'raft.fetch': { request: RaftFetchRequest; response: RaftFetchResponse };
  /** FetchSnapshot (59) of `__cluster_metadata-0`. */
  'raft.fetch-snapshot': { request: RaftFetchSnapshotRequest; response: RaftFetchSnapshotResponse };
  /** DescribeQuorum (55). */
  'raft.describe-quorum': { request: Record<string, never>; response: DescribeQuorumResponse };
  /** AddRaftVoter (80). */
  'raft.add-voter': { request: AddVoterRequest; response: VoterChangeResponse };
  /** RemoveRaftVoter (81). */
  'raft.remove-voter': { request: RemoveVoterRequest; response: VoterChangeResponse };
  /** BrokerRegistration (62). */
  'controller.register-broker': { request: BrokerRegistrationRequest; response: BrokerRegistrationResponse };
  /** BrokerHeartbeat (63). */
  'controller.heartbeat': { request: BrokerHeartbeatRequest; response: BrokerHeartbeatResponse };
  /** AlterPartition (56). */
  'controller.alter-partition': { request: AlterPartitionRequest; response: AlterPartitionResponse };
  /** AllocateProducerIds (67). */
  'controller.allocate-producer-ids': { request: AllocateProducerIdsRequest; response: AllocateProducerIdsResponse };
  /** CreateTopics (19), sent to the active controller. */
  'controller.create-topics': { request: CreateTopicsForward; response: TopicResults };
  /** DeleteTopics (20). */
  'controller.delete-topics': { request: DeleteTopicsForward; response: TopicResults };
  /** CreatePartitions (37). */
  'controller.create-partitions': { request: CreatePartitionsForward; response: TopicResults };
  /** IncrementalAlterConfigs (44) on topics. */
  'controller.alter-configs': { request: AlterConfigsForward; response: TopicResults };
  /** ElectLeaders (43). */
  'controller.elect-leaders': { request: ElectLeadersRequest; response: ElectLeadersResponse };
  /** AlterPartitionReassignments (45). */
  'controller.alter-partition-reassignments': { request: AlterPartitionReassignmentsRequest; response: AlterPartitionReassignmentsResponse };
  /** ListPartitionReassignments (46). */
  'controller.list-partition-reassignments': { request: ListPartitionReassignmentsRequest; response: ListPartitionReassignmentsResponse };
  /** Fetch (1) with a replica id: partition replication. */
  'replica.fetch': { request: ReplicaFetchRequest; response: ReplicaFetchResponse };
}

/** @experimental */
export type ClusterRpcName = keyof ClusterRpcs;
/** @experimental */
export type ClusterRpcRequest<K extends ClusterRpcName> = ClusterRpcs[K]['request'];
/** @experimental */
export type ClusterRpcResponse<K extends ClusterRpcName> = ClusterRpcs[K]['response'];

/**
 * Outbound: how the kernel reaches another node. Provided by exactly one plugin as the
 * `cluster.transport` provider. `call` rejects when the peer cannot be reached or does not
 * answer within `timeoutMs`; the kernel retries what matters.
 * @experimental
 */
export interface ClusterTransport {
  call<K extends ClusterRpcName>(peer: PeerAddress, rpc: K, request: ClusterRpcRequest<K>, timeoutMs: number): Promise<ClusterRpcResponse<K>>;
}

/**
 * Inbound: the transport hands every cluster RPC it receives to `Kernel.cluster.handle`.
 * `signal` aborts a long-polling replica fetch when the connection closes.
 * @experimental
 */
export interface ClusterEndpoint {
  handle<K extends ClusterRpcName>(rpc: K, request: ClusterRpcRequest<K>, signal?: AbortSignal): Promise<ClusterRpcResponse<K>>;
}

/** A broker as the metadata image knows it. @experimental */
export interface BrokerDescription {
  readonly nodeId: number;
  readonly rack: string | null;
  /** Fenced brokers lead nothing and are left out of Metadata responses. */
  readonly fenced: boolean;
  /** The broker's advertised listeners. */
  readonly listeners: readonly ListenerAddress[];
}
