/**
 * The requests behind `sluice cluster` and `sluice metadata`: the brokers (DescribeCluster)
 * and the metadata quorum (DescribeQuorum of `__cluster_metadata-0`), each answer's error
 * codes turned into KafkaResponseErrors.
 */
import { ErrorCode } from '../error-codes.js';
import { ApiKey } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError } from './client.js';
import { quorumStatus, type QuorumStatus } from './cluster-health.js';

export const METADATA_TOPIC = '__cluster_metadata';
const METADATA_PARTITION = 0;
/** DescribeCluster's endpoint types (KIP-919). */
const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;

export interface BrokerInfo {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface ClusterDescription {
  readonly clusterId: string;
  /** The controller the answering node names; -1 when it knows none. */
  readonly controllerId: number;
  /** Brokers, or controllers when the node answered for its controller endpoint; sorted by id. */
  readonly nodes: readonly BrokerInfo[];
}

/**
 * DescribeCluster of the node `client` bootstraps from. A controller listener describes
 * controllers and a broker listener brokers (KIP-919): the type the node refuses with
 * MISMATCHED_ENDPOINT_TYPE is retried as the other, so either kind of address works.
 */
export async function describeCluster(client: KafkaClient, prefer: 'brokers' | 'controllers' = 'brokers'): Promise<ClusterDescription> {
  const first = prefer === 'brokers' ? ENDPOINT_BROKERS : ENDPOINT_CONTROLLERS;
  let answer = await client.request(ApiKey.DescribeCluster, { includeClusterAuthorizedOperations: false, endpointType: first });
  if (answer.errorCode === ErrorCode.MISMATCHED_ENDPOINT_TYPE || answer.errorCode === ErrorCode.UNSUPPORTED_ENDPOINT_TYPE) {
    const other = first === ENDPOINT_BROKERS ? ENDPOINT_CONTROLLERS : ENDPOINT_BROKERS;
    answer = await client.request(ApiKey.DescribeCluster, { includeClusterAuthorizedOperations: false, endpointType: other });
  }
  if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, 'DescribeCluster', answer.errorMessage);
  return {
    clusterId: answer.clusterId,
    controllerId: answer.controllerId,
    nodes: answer.brokers.map((b) => ({ id: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.id - b.id),
  };
}

/**
 * The metadata quorum, from its leader. Only the Raft leader knows every replica's
 * progress: another node answers NOT_LEADER_OR_FOLLOWER naming the leader, and the request
 * goes again to that node, at the address Metadata gives for it (a node is a broker and a
 * controller under one id).
 */
export async function describeQuorum(client: KafkaClient): Promise<QuorumStatus> {
  const first = await askQuorum(client, undefined);
  if (first.redirectTo === undefined) return first.status;
  await client.metadata([]);
  const second = await askQuorum(client, first.redirectTo);
  if (second.redirectTo !== undefined) {
    throw new KafkaResponseError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `DescribeQuorum: node ${first.redirectTo} named node ${second.redirectTo} the quorum leader`);
  }
  return second.status;
}

type QuorumAnswer = { status: QuorumStatus; redirectTo?: undefined } | { redirectTo: number };

async function askQuorum(client: KafkaClient, nodeId: number | undefined): Promise<QuorumAnswer> {
  const answer = await client.request(ApiKey.DescribeQuorum, {
    topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: METADATA_PARTITION }] }],
  }, { nodeId });
  if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, 'DescribeQuorum', answer.errorMessage);
  const partition = answer.topics.find((t) => t.topicName === METADATA_TOPIC)?.partitions.find((p) => p.partitionIndex === METADATA_PARTITION);
  if (partition === undefined) throw new Error(`the node did not describe ${METADATA_TOPIC}-${METADATA_PARTITION}`);
  if (partition.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER && partition.leaderId >= 0 && partition.leaderId !== nodeId) {
    return { redirectTo: partition.leaderId };
  }
  if (partition.errorCode !== 0) throw new KafkaResponseError(partition.errorCode, `DescribeQuorum of ${METADATA_TOPIC}-${METADATA_PARTITION}`, partition.errorMessage);
  return { status: quorumStatus(partition, answer.nodes) };
}
