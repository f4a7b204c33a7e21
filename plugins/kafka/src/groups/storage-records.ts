/**
 * The records of `__consumer_offsets` in Kafka's own formats, so that tools which read the
 * topic directly (lag checkers, exporters) understand it. A key or value is an int16
 * version followed by the struct at that version. Written as Kafka 3.x writes them:
 * OffsetCommitKey v1 with OffsetCommitValue v3 (v1 when the commit carries an explicit
 * expiry), GroupMetadataKey v2 with GroupMetadataValue v3; a null value is a tombstone.
 * Keys of versions 3-8 are consumer (KIP-848) groups' (consumer-records.ts); later ones
 * belong to share groups, which are not read.
 */
import {
  Reader,
  Writer,
  decodeGroupMetadataKey,
  decodeGroupMetadataValue,
  decodeOffsetCommitKey,
  decodeOffsetCommitValue,
  sizeOfGroupMetadataKey,
  sizeOfGroupMetadataValue,
  sizeOfOffsetCommitKey,
  sizeOfOffsetCommitValue,
  writeGroupMetadataKey,
  writeGroupMetadataValue,
  writeOffsetCommitKey,
  writeOffsetCommitValue,
  type GroupMetadataValue,
  type OffsetCommitValue,
} from '../protocol/index.js';
import { decodeConsumerGroupRecord, type ConsumerGroupRecord } from './consumer-records.js';

export interface StorageRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** Only for commits that asked for their own retention (OffsetCommit v2-4); else null. */
  readonly expireTimestampMs: number | null;
}

export type DecodedRecord =
  | { readonly kind: 'offset'; readonly group: string; readonly topic: string; readonly partition: number; readonly value: CommittedOffset | null }
  | { readonly kind: 'group'; readonly group: string; readonly value: GroupMetadataValue | null }
  | ConsumerGroupRecord
  | { readonly kind: 'unknown'; readonly keyVersion: number };

const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;
const OFFSET_COMMIT_VALUE_VERSION = 3;
const OFFSET_COMMIT_VALUE_WITH_EXPIRY_VERSION = 1;
const GROUP_METADATA_VALUE_VERSION = 3;

function versioned<T>(version: number, m: T, sizeOf: (m: T, v: number) => number, write: (w: Writer, m: T, v: number) => void): Buffer {
  const w = new Writer(Buffer.allocUnsafe(2 + sizeOf(m, version)));
  w.int16(version);
  write(w, m, version);
  return w.finish();
}

export function offsetCommitRecord(group: string, topic: string, partition: number, value: CommittedOffset | null): StorageRecord {
  const key = versioned(OFFSET_COMMIT_KEY_VERSION, { group, topic, partition }, sizeOfOffsetCommitKey, writeOffsetCommitKey);
  if (value === null) return { key, value: null };
  const v: OffsetCommitValue = {
    offset: value.offset,
    leaderEpoch: value.leaderEpoch,
    metadata: value.metadata,
    commitTimestamp: value.commitTimestampMs,
    expireTimestamp: value.expireTimestampMs ?? -1,
  };
  const version = value.expireTimestampMs === null ? OFFSET_COMMIT_VALUE_VERSION : OFFSET_COMMIT_VALUE_WITH_EXPIRY_VERSION;
  return { key, value: versioned(version, v, sizeOfOffsetCommitValue, writeOffsetCommitValue) };
}

export function groupMetadataRecord(group: string, value: GroupMetadataValue | null): StorageRecord {
  const key = versioned(GROUP_METADATA_KEY_VERSION, { group }, sizeOfGroupMetadataKey, writeGroupMetadataKey);
  return { key, value: value === null ? null : versioned(GROUP_METADATA_VALUE_VERSION, value, sizeOfGroupMetadataValue, writeGroupMetadataValue) };
}

/** Throws a ProtocolError on a record this version of Kafka's formats cannot hold. */
export function decodeRecord(key: Uint8Array, value: Uint8Array | null): DecodedRecord {
  const kr = new Reader(Buffer.from(key.buffer, key.byteOffset, key.byteLength));
  const keyVersion = kr.int16();
  const vr = value === null ? null : new Reader(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  if (keyVersion === 0 || keyVersion === 1) {
    const k = decodeOffsetCommitKey(kr, keyVersion);
    if (vr === null) return { kind: 'offset', group: k.group, topic: k.topic, partition: k.partition, value: null };
    const v = decodeOffsetCommitValue(vr, vr.int16());
    return {
      kind: 'offset', group: k.group, topic: k.topic, partition: k.partition,
      value: {
        offset: v.offset,
        leaderEpoch: v.leaderEpoch ?? -1,
        metadata: v.metadata,
        commitTimestampMs: v.commitTimestamp,
        expireTimestampMs: v.expireTimestamp === undefined || v.expireTimestamp < 0 ? null : v.expireTimestamp,
      },
    };
  }
  if (keyVersion === 2) {
    const k = decodeGroupMetadataKey(kr, keyVersion);
    return { kind: 'group', group: k.group, value: vr === null ? null : decodeGroupMetadataValue(vr, vr.int16()) };
  }
  return decodeConsumerGroupRecord(keyVersion, kr, vr) ?? { kind: 'unknown', keyVersion };
}
