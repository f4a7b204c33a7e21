/**
 * The broker properties the Kafka frontend reads (Kafka's names), typed once at start.
 * The kernel validates these keys at start; here they are only read.
 */
import type { BrokerInfo } from '@sluice/sdk';

export interface FrontendConfig {
  readonly autoCreateTopicsEnable: boolean;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly deleteTopicEnable: boolean;
  readonly requestSizeBytesMax: number;
  readonly connectionIdleMsMax: number;
  readonly fetchSessionCacheSlots: number;
  readonly minInsyncReplicas: number;
}

function num(props: Readonly<Record<string, string>>, key: string, fallback: number): number {
  const raw = props[key];
  const value = raw === undefined ? fallback : Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

export function frontendConfig(broker: BrokerInfo): FrontendConfig {
  const p = broker.props;
  return {
    autoCreateTopicsEnable: (p['auto.create.topics.enable'] ?? 'true').trim().toLowerCase() === 'true',
    numPartitions: num(p, 'num.partitions', 1),
    defaultReplicationFactor: num(p, 'default.replication.factor', 1),
    deleteTopicEnable: (p['delete.topic.enable'] ?? 'true').trim().toLowerCase() === 'true',
    requestSizeBytesMax: num(p, 'socket.request.max.bytes', 104_857_600),
    connectionIdleMsMax: num(p, 'connections.max.idle.ms', 600_000),
    fetchSessionCacheSlots: num(p, 'max.incremental.fetch.session.cache.slots', 1000),
    minInsyncReplicas: num(p, 'min.insync.replicas', 1),
  };
}
