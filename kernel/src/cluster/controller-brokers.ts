/**
 * The records that change a broker's standing and the partitions that depend on it:
 * fencing (it leaves every ISR and its leaderships move), unfencing (offline partitions
 * it can lead get it back as leader) and controlled shutdown (leaderships move first).
 */
import type { MetadataImage } from '../metadata/metadata-image.js';
import { NO_LEADER, type MetadataRecord } from '../metadata/records.js';
import { buildPartitionChange, isrWithout, type PartitionChangeRecord } from './partition-change.js';

/** A broker that may lead and sit in an ISR: registered, unfenced, not shutting down. */
export function isEligible(image: MetadataImage, brokerId: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

/** Every unfenced broker not in controlled shutdown, for placement. */
export function eligibleBrokers(image: MetadataImage): Array<{ id: number; rack: string | null }> {
  return [...image.brokers.values()].filter((b) => !b.fenced && !b.inControlledShutdown).map((b) => ({ id: b.id, rack: b.rack }));
}

/** `brokerId` leaves every ISR and loses its leaderships (leader epoch + 1). */
export function leaveRecords(image: MetadataImage, brokerId: number, unclean: boolean): PartitionChangeRecord[] {
  const eligible = (id: number): boolean => id !== brokerId && isEligible(image, id);
  const out: PartitionChangeRecord[] = [];
  for (const topic of image.topicsById.values()) {
    for (const [partitionId, current] of topic.partitions) {
      if (!current.isr.includes(brokerId) && current.leader !== brokerId) continue;
      const change = buildPartitionChange({
        topicId: topic.topicId, partitionId, current, targetIsr: isrWithout(current.isr, brokerId),
        election: unclean ? 'unclean' : 'isr', eligible,
      });
      if (change !== undefined) out.push(change);
    }
  }
  return out;
}

export function fenceRecords(image: MetadataImage, brokerId: number, brokerEpoch: number, unclean: boolean): MetadataRecord[] {
  return [{ type: 'fence-broker', brokerId, brokerEpoch }, ...leaveRecords(image, brokerId, unclean)];
}

/** Unfences `brokerId` and elects leaders for offline partitions it replicates (from their ISR, or unclean when enabled). */
export function unfenceRecords(image: MetadataImage, brokerId: number, brokerEpoch: number, unclean: boolean): MetadataRecord[] {
  const eligible = (id: number): boolean => id === brokerId || isEligible(image, id);
  const out: MetadataRecord[] = [{ type: 'unfence-broker', brokerId, brokerEpoch }];
  for (const topic of image.topicsById.values()) {
    for (const [partitionId, current] of topic.partitions) {
      if (current.leader !== NO_LEADER || !current.replicas.includes(brokerId)) continue;
      const change = buildPartitionChange({
        topicId: topic.topicId, partitionId, current, election: unclean ? 'unclean' : 'isr', eligible,
      });
      if (change !== undefined) out.push(change);
    }
  }
  return out;
}

export function controlledShutdownRecords(image: MetadataImage, brokerId: number, brokerEpoch: number, unclean: boolean): MetadataRecord[] {
  return [
    { type: 'broker-registration-change', brokerId, brokerEpoch, fenced: 0, inControlledShutdown: 1 },
    ...leaveRecords(image, brokerId, unclean),
  ];
}

export function leadsAnyPartition(image: MetadataImage, brokerId: number): boolean {
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions.values()) if (p.leader === brokerId) return true;
  }
  return false;
}
