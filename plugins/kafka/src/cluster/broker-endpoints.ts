/**
 * Where clients reach the brokers of the cluster, as Metadata, DescribeCluster and the
 * leader hints of Produce and Fetch (KIP-951) name them: each broker at its advertised
 * listener with the same name as the listener the client came in on, else its first
 * advertised listener. This node is answered as Metadata always did (advertisedAddress:
 * an empty advertised host becomes the address the client connected to).
 *
 * A kernel that knows no brokers yet (a node still joining, or a single node whose image
 * has none) is answered with this node alone, unfenced, so that clients always have a
 * broker to talk to.
 */
import type { BrokerDescription, PartitionDescription } from '@sluice/sdk';
import type { RequestContext } from '../apis/api.js';
import { ErrorCode } from '../error-codes.js';

const { NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION } = ErrorCode;

export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** This node's address for the client's listener; an empty advertised host is the address the client connected to. */
export function advertisedAddress(ctx: RequestContext): { host: string; port: number } {
  const listener = ctx.broker.advertisedListeners.find((l) => l.name === ctx.connection.listener)
    ?? ctx.broker.listeners.find((l) => l.name === ctx.connection.listener);
  const host = listener?.host === undefined || listener.host === '' ? ctx.connection.localAddress.replace(/^::ffff:/, '') : listener.host;
  return { host, port: listener?.port ?? 9092 };
}

/** The brokers the kernel knows, fenced ones included. */
export function knownBrokers(ctx: RequestContext): readonly BrokerDescription[] {
  const brokers = ctx.kernel.brokers();
  if (brokers.length > 0) return brokers;
  return [{ nodeId: ctx.broker.nodeId, rack: null, fenced: false, listeners: ctx.broker.advertisedListeners }];
}

/** Unfenced brokers: the ones clients are told about. */
export function liveBrokers(ctx: RequestContext): readonly BrokerDescription[] {
  return knownBrokers(ctx).filter((b) => !b.fenced);
}

export function brokerEndpoint(ctx: RequestContext, broker: BrokerDescription): BrokerEndpoint {
  if (broker.nodeId === ctx.broker.nodeId) return { nodeId: broker.nodeId, ...advertisedAddress(ctx), rack: broker.rack };
  const listener = broker.listeners.find((l) => l.name === ctx.connection.listener) ?? broker.listeners[0];
  return { nodeId: broker.nodeId, host: listener?.host ?? '', port: listener?.port ?? -1, rack: broker.rack };
}

/** Replicas on no live broker (Metadata's offline_replicas). */
export function offlineReplicas(partition: PartitionDescription, live: ReadonlySet<number>): number[] {
  return partition.replicas.filter((r) => !live.has(r));
}

/**
 * For a partition this node does not host: its leader and epoch as the cluster knows them,
 * or undefined when the cluster has no such partition.
 */
export function clusterLeader(ctx: RequestContext, topic: string, partition: number): { leaderId: number; leaderEpoch: number } | undefined {
  const p = ctx.kernel.topicPartitions(topic).find((d) => d.partition === partition);
  return p === undefined ? undefined : { leaderId: p.leader, leaderEpoch: p.leaderEpoch };
}

/** The endpoints of leaders named in hints (Produce v10+, Fetch v16+ `node_endpoints`). */
export class LeaderEndpoints {
  private readonly ids = new Set<number>();

  add(leaderId: number): void {
    if (leaderId >= 0) this.ids.add(leaderId);
  }

  list(ctx: RequestContext): BrokerEndpoint[] {
    if (this.ids.size === 0) return [];
    return knownBrokers(ctx).filter((b) => this.ids.has(b.nodeId)).map((b) => brokerEndpoint(ctx, b));
  }
}

/** The error for a partition this node has no handle for: NOT_LEADER_OR_FOLLOWER when it is the cluster's, else it does not exist. */
export function missingPartitionError(ctx: RequestContext, topic: string, partition: number): number {
  return clusterLeader(ctx, topic, partition) === undefined ? UNKNOWN_TOPIC_OR_PARTITION : NOT_LEADER_OR_FOLLOWER;
}
