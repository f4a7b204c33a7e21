/** The broker properties the group coordinator reads (Kafka's names and defaults). */
import type { BrokerInfo } from '@sluice/sdk';
import { parseAssignorList } from './assignors.js';

export interface GroupConfig {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly offsetMetadataMaxBytes: number;
  readonly initialRebalanceDelayMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly maxSize: number;
  /** Consumer (KIP-848) groups: a member that does not heartbeat for this long is removed. */
  readonly consumerSessionTimeoutMs: number;
  /** What consumer group members are told to heartbeat at. */
  readonly consumerHeartbeatIntervalMs: number;
  /** Server assignors a consumer group may name; the first is the default. */
  readonly consumerAssignors: readonly string[];
  readonly consumerMaxSize: number;
}

export const DEFAULT_GROUP_CONFIG: GroupConfig = {
  offsetsTopicPartitions: 50,
  offsetsTopicSegmentBytes: 104_857_600,
  offsetsRetentionMs: 10_080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  maxSize: 2_147_483_647,
  consumerSessionTimeoutMs: 45_000,
  consumerHeartbeatIntervalMs: 5000,
  consumerAssignors: ['uniform', 'range'],
  consumerMaxSize: 2_147_483_647,
};

export function groupConfig(broker: BrokerInfo): GroupConfig {
  const p = broker.props;
  const num = (key: string, fallback: number): number => {
    const raw = p[key];
    const value = raw === undefined ? fallback : Number(raw);
    return Number.isFinite(value) ? value : fallback;
  };
  const d = DEFAULT_GROUP_CONFIG;
  return {
    offsetsTopicPartitions: num('offsets.topic.num.partitions', d.offsetsTopicPartitions),
    offsetsTopicSegmentBytes: num('offsets.topic.segment.bytes', d.offsetsTopicSegmentBytes),
    offsetsRetentionMs: num('offsets.retention.minutes', d.offsetsRetentionMs / 60_000) * 60_000,
    offsetsRetentionCheckIntervalMs: num('offsets.retention.check.interval.ms', d.offsetsRetentionCheckIntervalMs),
    offsetMetadataMaxBytes: num('offset.metadata.max.bytes', d.offsetMetadataMaxBytes),
    initialRebalanceDelayMs: num('group.initial.rebalance.delay.ms', d.initialRebalanceDelayMs),
    minSessionTimeoutMs: num('group.min.session.timeout.ms', d.minSessionTimeoutMs),
    maxSessionTimeoutMs: num('group.max.session.timeout.ms', d.maxSessionTimeoutMs),
    maxSize: num('group.max.size', d.maxSize),
    consumerSessionTimeoutMs: num('group.consumer.session.timeout.ms', d.consumerSessionTimeoutMs),
    consumerHeartbeatIntervalMs: num('group.consumer.heartbeat.interval.ms', d.consumerHeartbeatIntervalMs),
    consumerAssignors: p['group.consumer.assignors'] === undefined ? d.consumerAssignors : parseAssignorList(p['group.consumer.assignors']),
    consumerMaxSize: num('group.consumer.max.size', d.consumerMaxSize),
  };
}
