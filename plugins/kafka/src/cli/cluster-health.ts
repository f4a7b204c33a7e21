/**
 * What the cluster commands derive from the brokers' answers: the quorum's replication
 * progress (lag of each voter and observer behind the leader) and the partitions that are
 * under-replicated or offline. Pure functions of decoded responses, so the numbers an
 * operator acts on are tested without a cluster.
 */
import type { Decoded, DescribeQuorumResponse, MetadataResponse } from '../protocol/index.js';

type QuorumPartition = Decoded<DescribeQuorumResponse>['topics'][number]['partitions'][number];
type QuorumNode = NonNullable<Decoded<DescribeQuorumResponse>['nodes']>[number];
type ReplicaState = QuorumPartition['currentVoters'][number];

export type QuorumRole = 'Leader' | 'Follower' | 'Observer';

export interface QuorumReplica {
  readonly nodeId: number;
  readonly role: QuorumRole;
  /** -1 when the leader does not know it. */
  readonly logEndOffset: number;
  /** Entries behind the leader's log end; -1 when the replica's log end is unknown. */
  readonly lag: number;
  /** Leader wall clock, -1 when unknown. */
  readonly lastFetchTimestampMs: number;
  readonly lastCaughtUpTimestampMs: number;
  /** A voter's listeners as `NAME://host:port`, from the voter set (DescribeQuorum v2); absent when not known. */
  readonly endpoints?: readonly string[];
}

export interface QuorumStatus {
  /** -1 while no leader is known. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  /** The largest lag of a voter, in entries (kafka-metadata-quorum's MaxFollowerLag). */
  readonly maxFollowerLag: number;
  /** How long the furthest-behind voter has not been caught up; -1 when unknown. */
  readonly maxFollowerLagTimeMs: number;
  readonly voters: readonly QuorumReplica[];
  readonly observers: readonly QuorumReplica[];
}

/** A listener as `NAME://host:port`, an IPv6 host in brackets. */
export function endpointText(l: { readonly name: string; readonly host: string; readonly port: number }): string {
  return `${l.name}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}

/** The quorum of one DescribeQuorum partition (`__cluster_metadata-0`), with the voters' endpoints from `nodes`. */
export function quorumStatus(p: QuorumPartition, nodes: readonly QuorumNode[] = []): QuorumStatus {
  const leader = p.currentVoters.find((v) => v.replicaId === p.leaderId);
  const leaderEnd = leader?.logEndOffset ?? -1;
  const replica = (s: ReplicaState, role: QuorumRole): QuorumReplica => ({
    nodeId: s.replicaId,
    role,
    logEndOffset: s.logEndOffset,
    lag: leaderEnd < 0 || s.logEndOffset < 0 ? -1 : Math.max(0, leaderEnd - s.logEndOffset),
    lastFetchTimestampMs: s.lastFetchTimestamp,
    lastCaughtUpTimestampMs: s.lastCaughtUpTimestamp,
  });
  const endpointsOf = (nodeId: number): { endpoints?: string[] } => {
    const listeners = nodes.find((n) => n.nodeId === nodeId)?.listeners;
    if (listeners === undefined || listeners.length === 0) return {};
    return { endpoints: listeners.map(endpointText) };
  };
  const voters = p.currentVoters.map((v) => ({ ...replica(v, v.replicaId === p.leaderId ? 'Leader' : 'Follower'), ...endpointsOf(v.replicaId) }));
  const observers = p.observers.map((o) => replica(o, 'Observer'));
  // As kafka-metadata-quorum.sh: the voter with the smallest log end is the furthest behind.
  const furthest = p.currentVoters.reduce<ReplicaState | undefined>(
    (min, v) => (min === undefined || v.logEndOffset < min.logEndOffset ? v : min), undefined);
  let maxFollowerLagTimeMs = -1;
  if (leader !== undefined && furthest !== undefined) {
    if (furthest.replicaId === leader.replicaId || furthest.logEndOffset === leader.logEndOffset) maxFollowerLagTimeMs = 0;
    else if (leader.lastCaughtUpTimestamp >= 0 && furthest.lastCaughtUpTimestamp >= 0) {
      maxFollowerLagTimeMs = Math.max(0, leader.lastCaughtUpTimestamp - furthest.lastCaughtUpTimestamp);
    }
  }
  return {
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    highWatermark: p.highWatermark,
    maxFollowerLag: voters.reduce((max, v) => Math.max(max, v.lag), 0),
    maxFollowerLagTimeMs,
    voters,
    observers,
  };
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** -1: offline. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface PartitionHealth {
  readonly partitionCount: number;
  /** In-sync replicas fewer than replicas (Kafka's UnderReplicatedPartitions). */
  readonly underReplicated: readonly PartitionState[];
  /** No leader (Kafka's OfflinePartitionsCount). */
  readonly offline: readonly PartitionState[];
}

/** Under-replicated and offline partitions of every topic in a Metadata answer, sorted by topic and partition. */
export function partitionHealth(metadata: Decoded<MetadataResponse>): PartitionHealth {
  const all: PartitionState[] = [];
  for (const t of metadata.topics) {
    if (t.errorCode !== 0 || t.name === null) continue;
    for (const p of t.partitions) {
      all.push({ topic: t.name, partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes });
    }
  }
  all.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    partitionCount: all.length,
    underReplicated: all.filter((p) => p.isr.length < p.replicas.length),
    offline: all.filter((p) => p.leader < 0),
  };
}
