/**
 * The `__consumer_offsets` records of consumer (KIP-848) groups, in Kafka's formats (key
 * versions 3-8, values v0), so that Kafka's tools read them and a group is rebuilt from
 * them alone. A group is spread over several records, each with its own key, so that a
 * heartbeat rewrites only what changed:
 *
 *   3 ConsumerGroupMetadata            group epoch
 *   4 ConsumerGroupPartitionMetadata   topics the members subscribe to, with ids and partition counts
 *   5 ConsumerGroupMemberMetadata      one member's subscription, client, rebalance timeout, assignor
 *   6 ConsumerGroupTargetAssignmentMetadata  the epoch of the target assignment
 *   7 ConsumerGroupTargetAssignmentMember    one member's target partitions
 *   8 ConsumerGroupCurrentMemberAssignment   one member's epoch, state, owned and revoking partitions
 *
 * A null value is a tombstone.
 */
import {
  Reader,
  Writer,
  decodeConsumerGroupCurrentMemberAssignmentKey,
  decodeConsumerGroupCurrentMemberAssignmentValue,
  decodeConsumerGroupMemberMetadataKey,
  decodeConsumerGroupMemberMetadataValue,
  decodeConsumerGroupMetadataKey,
  decodeConsumerGroupMetadataValue,
  decodeConsumerGroupPartitionMetadataKey,
  decodeConsumerGroupPartitionMetadataValue,
  decodeConsumerGroupTargetAssignmentMemberKey,
  decodeConsumerGroupTargetAssignmentMemberValue,
  decodeConsumerGroupTargetAssignmentMetadataKey,
  decodeConsumerGroupTargetAssignmentMetadataValue,
  sizeOfConsumerGroupCurrentMemberAssignmentKey,
  sizeOfConsumerGroupCurrentMemberAssignmentValue,
  sizeOfConsumerGroupMemberMetadataKey,
  sizeOfConsumerGroupMemberMetadataValue,
  sizeOfConsumerGroupMetadataKey,
  sizeOfConsumerGroupMetadataValue,
  sizeOfConsumerGroupPartitionMetadataKey,
  sizeOfConsumerGroupPartitionMetadataValue,
  sizeOfConsumerGroupTargetAssignmentMemberKey,
  sizeOfConsumerGroupTargetAssignmentMemberValue,
  sizeOfConsumerGroupTargetAssignmentMetadataKey,
  sizeOfConsumerGroupTargetAssignmentMetadataValue,
  writeConsumerGroupCurrentMemberAssignmentKey,
  writeConsumerGroupCurrentMemberAssignmentValue,
  writeConsumerGroupMemberMetadataKey,
  writeConsumerGroupMemberMetadataValue,
  writeConsumerGroupMetadataKey,
  writeConsumerGroupMetadataValue,
  writeConsumerGroupPartitionMetadataKey,
  writeConsumerGroupPartitionMetadataValue,
  writeConsumerGroupTargetAssignmentMemberKey,
  writeConsumerGroupTargetAssignmentMemberValue,
  writeConsumerGroupTargetAssignmentMetadataKey,
  writeConsumerGroupTargetAssignmentMetadataValue,
  type ConsumerGroupCurrentMemberAssignmentValue,
  type ConsumerGroupMemberMetadataValue,
  type ConsumerGroupPartitionMetadataValue,
} from '../protocol/index.js';
import type { StorageRecord } from './storage-records.js';

export const CONSUMER_GROUP_KEY_VERSIONS = { metadata: 3, partitionMetadata: 4, member: 5, targetMetadata: 6, targetMember: 7, currentAssignment: 8 } as const;
const VALUE_VERSION = 0;

/** Topic id (16 bytes) → partitions, as every assignment record holds it. */
export interface TopicPartitionsRecord {
  readonly topicId: Uint8Array;
  readonly partitions: number[];
}

export type ConsumerGroupRecord =
  | { readonly kind: 'cg-metadata'; readonly group: string; readonly value: { readonly epoch: number } | null }
  | { readonly kind: 'cg-partition-metadata'; readonly group: string; readonly value: ConsumerGroupPartitionMetadataValue | null }
  | { readonly kind: 'cg-member'; readonly group: string; readonly memberId: string; readonly value: ConsumerGroupMemberMetadataValue | null }
  | { readonly kind: 'cg-target-metadata'; readonly group: string; readonly value: { readonly assignmentEpoch: number } | null }
  | { readonly kind: 'cg-target-member'; readonly group: string; readonly memberId: string; readonly value: { readonly topicPartitions: TopicPartitionsRecord[] } | null }
  | { readonly kind: 'cg-current-assignment'; readonly group: string; readonly memberId: string; readonly value: ConsumerGroupCurrentMemberAssignmentValue | null };

export function isConsumerGroupRecord(r: { readonly kind: string }): r is ConsumerGroupRecord {
  return r.kind.startsWith('cg-');
}

function versioned<T>(version: number, m: T, sizeOf: (m: T, v: number) => number, write: (w: Writer, m: T, v: number) => void): Buffer {
  const w = new Writer(Buffer.allocUnsafe(2 + sizeOf(m, version)));
  w.int16(version);
  write(w, m, version);
  return w.finish();
}

function value<T>(m: T | null, sizeOf: (m: T, v: number) => number, write: (w: Writer, m: T, v: number) => void): Buffer | null {
  return m === null ? null : versioned(VALUE_VERSION, m, sizeOf, write);
}

const K = CONSUMER_GROUP_KEY_VERSIONS;

export function cgMetadataRecord(groupId: string, epoch: number | null): StorageRecord {
  return {
    key: versioned(K.metadata, { groupId }, sizeOfConsumerGroupMetadataKey, writeConsumerGroupMetadataKey),
    value: value(epoch === null ? null : { epoch }, sizeOfConsumerGroupMetadataValue, writeConsumerGroupMetadataValue),
  };
}

export function cgPartitionMetadataRecord(groupId: string, v: ConsumerGroupPartitionMetadataValue | null): StorageRecord {
  return {
    key: versioned(K.partitionMetadata, { groupId }, sizeOfConsumerGroupPartitionMetadataKey, writeConsumerGroupPartitionMetadataKey),
    value: value(v, sizeOfConsumerGroupPartitionMetadataValue, writeConsumerGroupPartitionMetadataValue),
  };
}

export function cgMemberRecord(groupId: string, memberId: string, v: ConsumerGroupMemberMetadataValue | null): StorageRecord {
  return {
    key: versioned(K.member, { groupId, memberId }, sizeOfConsumerGroupMemberMetadataKey, writeConsumerGroupMemberMetadataKey),
    value: value(v, sizeOfConsumerGroupMemberMetadataValue, writeConsumerGroupMemberMetadataValue),
  };
}

export function cgTargetMetadataRecord(groupId: string, assignmentEpoch: number | null): StorageRecord {
  return {
    key: versioned(K.targetMetadata, { groupId }, sizeOfConsumerGroupTargetAssignmentMetadataKey, writeConsumerGroupTargetAssignmentMetadataKey),
    value: value(assignmentEpoch === null ? null : { assignmentEpoch }, sizeOfConsumerGroupTargetAssignmentMetadataValue, writeConsumerGroupTargetAssignmentMetadataValue),
  };
}

export function cgTargetMemberRecord(groupId: string, memberId: string, topicPartitions: TopicPartitionsRecord[] | null): StorageRecord {
  return {
    key: versioned(K.targetMember, { groupId, memberId }, sizeOfConsumerGroupTargetAssignmentMemberKey, writeConsumerGroupTargetAssignmentMemberKey),
    value: value(topicPartitions === null ? null : { topicPartitions }, sizeOfConsumerGroupTargetAssignmentMemberValue, writeConsumerGroupTargetAssignmentMemberValue),
  };
}

export function cgCurrentAssignmentRecord(groupId: string, memberId: string, v: ConsumerGroupCurrentMemberAssignmentValue | null): StorageRecord {
  return {
    key: versioned(K.currentAssignment, { groupId, memberId }, sizeOfConsumerGroupCurrentMemberAssignmentKey, writeConsumerGroupCurrentMemberAssignmentKey),
    value: value(v, sizeOfConsumerGroupCurrentMemberAssignmentValue, writeConsumerGroupCurrentMemberAssignmentValue),
  };
}

/** A consumer group record from its key (already past the version) and value; undefined for other key versions. */
export function decodeConsumerGroupRecord(keyVersion: number, kr: Reader, vr: Reader | null): ConsumerGroupRecord | undefined {
  const val = <T>(decode: (r: Reader, v: number) => T): T | null => (vr === null ? null : decode(vr, vr.int16()));
  switch (keyVersion) {
    case K.metadata:
      return { kind: 'cg-metadata', group: decodeConsumerGroupMetadataKey(kr, keyVersion).groupId, value: val(decodeConsumerGroupMetadataValue) };
    case K.partitionMetadata:
      return { kind: 'cg-partition-metadata', group: decodeConsumerGroupPartitionMetadataKey(kr, keyVersion).groupId, value: val(decodeConsumerGroupPartitionMetadataValue) };
    case K.member: {
      const k = decodeConsumerGroupMemberMetadataKey(kr, keyVersion);
      return { kind: 'cg-member', group: k.groupId, memberId: k.memberId, value: val(decodeConsumerGroupMemberMetadataValue) };
    }
    case K.targetMetadata:
      return { kind: 'cg-target-metadata', group: decodeConsumerGroupTargetAssignmentMetadataKey(kr, keyVersion).groupId, value: val(decodeConsumerGroupTargetAssignmentMetadataValue) };
    case K.targetMember: {
      const k = decodeConsumerGroupTargetAssignmentMemberKey(kr, keyVersion);
      return { kind: 'cg-target-member', group: k.groupId, memberId: k.memberId, value: val(decodeConsumerGroupTargetAssignmentMemberValue) };
    }
    case K.currentAssignment: {
      const k = decodeConsumerGroupCurrentMemberAssignmentKey(kr, keyVersion);
      return { kind: 'cg-current-assignment', group: k.groupId, memberId: k.memberId, value: val(decodeConsumerGroupCurrentMemberAssignmentValue) };
    }
    default:
      return undefined;
  }
}
