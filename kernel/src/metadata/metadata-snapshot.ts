/**
 * The metadata image as a snapshot, as KRaft writes one: the image turned back into the
 * metadata records that rebuild it (brokers, topics with their partitions and configs, the
 * producer-id block), each KRaft-encoded, in the Raft snapshot layout
 * (raft/snapshot-format.ts). Loading a snapshot into an empty image yields an image equal
 * to the one it was taken from; the Raft log after the snapshot's end offset then applies
 * on top.
 */
import type { OffsetAndEpoch } from '../raft/types.js';
import type { VoterSet } from '../raft/voter-set.js';
import { decodeSnapshot, encodeSnapshot } from '../raft/snapshot-format.js';
import { MetadataImage } from './metadata-image.js';
import {
  decodeMetadataRecord, encodeMetadataRecord, RESOURCE_TOPIC, securityProtocolId, type MetadataRecord,
} from './records.js';

/** ProducerIdsRecord's broker fields in a snapshot: the block's owner is not part of the image. */
const NO_BROKER = -1;

/** Records that, applied in order to an empty image, rebuild `image`. */
export function imageRecords(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const b of image.brokers.values()) {
    records.push({
      type: 'register-broker', brokerId: b.id, incarnationId: b.incarnationId, brokerEpoch: b.epoch,
      endPoints: b.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port, securityProtocol: securityProtocolId(l.securityProtocol) })),
      rack: b.rack, fenced: b.fenced, inControlledShutdown: b.inControlledShutdown,
    });
  }
  for (const t of image.topicsById.values()) {
    records.push({ type: 'topic', name: t.name, topicId: t.topicId });
    // A PartitionRecord carries every field of the partition state under the same name.
    for (const [partitionId, p] of t.partitions) records.push({ type: 'partition', topicId: t.topicId, partitionId, ...p });
    for (const [name, value] of t.configs) {
      records.push({ type: 'config', resourceType: RESOURCE_TOPIC, resourceName: t.name, name, value });
    }
  }
  if (image.nextProducerId > 0) {
    records.push({ type: 'producer-ids', brokerId: NO_BROKER, brokerEpoch: NO_BROKER, nextProducerId: image.nextProducerId });
  }
  return records;
}

/** `voters`: the dynamic voter set at `id.offset` (RaftNode.snapshotVoterSet), null for a static one. */
export function encodeMetadataSnapshot(image: MetadataImage, id: OffsetAndEpoch, nowMs: number, voters: VoterSet | null = null): Buffer {
  return encodeSnapshot(id, imageRecords(image).map(encodeMetadataRecord), nowMs, voters);
}

/** The records of a whole snapshot; throws SnapshotCorruptError for a torn one. */
export function decodeMetadataSnapshot(bytes: Uint8Array): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const value of decodeSnapshot(bytes)) {
    const record = decodeMetadataRecord(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    if (record !== undefined) records.push(record);
  }
  return records;
}

export function imageOfSnapshot(bytes: Uint8Array): MetadataImage {
  const image = new MetadataImage();
  for (const r of decodeMetadataSnapshot(bytes)) image.apply(r);
  return image;
}
