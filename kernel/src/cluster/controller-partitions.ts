/**
 * Partition requests the controller turns into PartitionChangeRecords: ISR changes from
 * partition leaders (AlterPartition), leader elections asked by admins (ElectLeaders) and
 * the periodic preferred-leader rebalance. Planners only: the controller commits.
 */
import type { AlterPartitionRequest, AlterPartitionResponse, ElectLeadersRequest, ElectLeadersResponse } from '@sluice/sdk';
import { topicIdKey, type MetadataImage, type PartitionState } from '../metadata/metadata-image.js';
import { NO_LEADER, type MetadataRecord } from '../metadata/records.js';
import { isEligible } from './controller-brokers.js';
import { ControllerErrorCode } from './controller-errors.js';
import { buildPartitionChange } from './partition-change.js';

type AlterPartitionResult = AlterPartitionResponse['topics'][number]['partitions'][number];

export const ELECTION_PREFERRED = 0;
export const ELECTION_UNCLEAN = 1;

/** The ISR changes a partition leader asks for, checked as Kafka's controller checks them (broker epoch checked by the caller). */
export function planAlterPartition(image: MetadataImage, req: AlterPartitionRequest): { records: MetadataRecord[]; response: AlterPartitionResponse } {
  const records: MetadataRecord[] = [];
  const topics = req.topics.map((t) => {
    const topic = image.topicsById.get(topicIdKey(t.topicId));
    return {
      topicId: t.topicId,
      partitions: t.partitions.map((p): AlterPartitionResult => {
        const failed = (errorCode: number): AlterPartitionResult =>
          ({ partitionIndex: p.partitionIndex, errorCode, leaderId: NO_LEADER, leaderEpoch: -1, isr: [], partitionEpoch: -1 });
        if (topic === undefined) return failed(ControllerErrorCode.UNKNOWN_TOPIC_ID);
        const current = topic.partitions.get(p.partitionIndex);
        if (current === undefined) return failed(ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (p.leaderEpoch !== current.leaderEpoch) return failed(ControllerErrorCode.FENCED_LEADER_EPOCH);
        if (req.brokerId !== current.leader) return failed(ControllerErrorCode.INVALID_REQUEST);
        if (p.partitionEpoch !== current.partitionEpoch) return failed(ControllerErrorCode.INVALID_UPDATE_VERSION);
        const validIsr = new Set(p.newIsr).size === p.newIsr.length && p.newIsr.every((id) => current.replicas.includes(id));
        // The ISR always holds its leader: an ISR without it could elect a replica that missed acknowledged writes.
        if (!validIsr || !p.newIsr.includes(current.leader)) return failed(ControllerErrorCode.INVALID_REQUEST);
        if (p.newIsr.some((id) => !current.isr.includes(id) && !isEligible(image, id))) {
          return failed(ControllerErrorCode.INELIGIBLE_REPLICA);
        }
        // A replica joins on fetches of its current incarnation only (KIP-903): fetch state
        // from before a restart may count data the restart lost.
        const stale = p.newIsr.some((id, i) => {
          const seen = p.newIsrBrokerEpochs?.[i] ?? -1;
          return !current.isr.includes(id) && seen !== -1 && seen !== image.brokers.get(id)?.epoch;
        });
        if (stale) return failed(ControllerErrorCode.INELIGIBLE_REPLICA);
        const change = buildPartitionChange({
          topicId: t.topicId, partitionId: p.partitionIndex, current, targetIsr: p.newIsr, election: 'isr',
          eligible: (id) => isEligible(image, id),
        });
        if (change === undefined) return accepted(p.partitionIndex, current, current.isr, current.partitionEpoch);
        records.push(change);
        return accepted(p.partitionIndex, current, change.isr ?? current.isr, current.partitionEpoch + 1);
      }),
    };
  });
  return { records, response: { errorCode: 0, topics } };
}

function accepted(partitionIndex: number, current: PartitionState, isr: readonly number[], partitionEpoch: number): AlterPartitionResult {
  return { partitionIndex, errorCode: 0, leaderId: current.leader, leaderEpoch: current.leaderEpoch, isr: [...isr], partitionEpoch };
}

/**
 * Preferred: the first replica leads when it is in the ISR and eligible. Unclean: a
 * partition without a leader gets one from its ISR, else any eligible replica. With every
 * partition asked (`topicPartitions` null), partitions needing no election are left out.
 */
export function planElectLeaders(image: MetadataImage, req: ElectLeadersRequest): { records: MetadataRecord[]; response: ElectLeadersResponse } {
  if (req.electionType !== ELECTION_PREFERRED && req.electionType !== ELECTION_UNCLEAN) {
    return { records: [], response: { errorCode: ControllerErrorCode.INVALID_REQUEST, results: [] } };
  }
  const all = req.topicPartitions === null;
  const wanted = req.topicPartitions ?? [...image.topicsByName.values()].map((t) => ({
    topic: t.name, partitions: [...t.partitions.keys()].sort((a, b) => a - b),
  }));
  const records: MetadataRecord[] = [];
  const results: Array<ElectLeadersResponse['results'][number]> = [];
  for (const { topic: name, partitions } of wanted) {
    const topic = image.topicsByName.get(name);
    const out: Array<ElectLeadersResponse['results'][number]['partitions'][number]> = [];
    for (const partition of new Set(partitions)) {
      const current = topic?.partitions.get(partition);
      const result = (errorCode: number, errorMessage: string | null): void => {
        if (!(all && errorCode === ControllerErrorCode.ELECTION_NOT_NEEDED)) out.push({ partition, errorCode, errorMessage });
      };
      if (topic === undefined || current === undefined) {
        result(ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${name}-${partition} does not exist`);
        continue;
      }
      const eligible = (id: number): boolean => isEligible(image, id);
      if (req.electionType === ELECTION_PREFERRED) {
        if (current.leader === current.replicas[0]) {
          result(ControllerErrorCode.ELECTION_NOT_NEEDED, 'the preferred replica leads already');
          continue;
        }
        const change = buildPartitionChange({ topicId: topic.topicId, partitionId: partition, current, election: 'preferred', eligible });
        if (change?.leader !== current.replicas[0]) {
          result(ControllerErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `preferred replica ${current.replicas[0]} is not in the ISR or not eligible`);
          continue;
        }
        records.push(change!);
      } else {
        if (current.leader !== NO_LEADER && eligible(current.leader)) {
          result(ControllerErrorCode.ELECTION_NOT_NEEDED, 'the partition has a leader');
          continue;
        }
        const change = buildPartitionChange({ topicId: topic.topicId, partitionId: partition, current, election: 'unclean', eligible });
        if (change?.leader === undefined || change.leader === NO_LEADER) {
          result(ControllerErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, 'no replica is on an eligible broker');
          continue;
        }
        records.push(change);
      }
      result(0, null);
    }
    if (out.length > 0 || !all) results.push({ topic: name, partitions: out });
  }
  return { records, response: { errorCode: 0, results } };
}

/**
 * auto.leader.rebalance.enable: for each broker whose share of partitions it should lead
 * (it is their first replica) but does not lead exceeds `imbalancePercentage`, those
 * partitions go back to it where it is in the ISR and eligible.
 */
export function planRebalance(image: MetadataImage, imbalancePercentage: number): MetadataRecord[] {
  const byPreferred = new Map<number, { total: number; notLed: number; moves: MetadataRecord[] }>();
  for (const topic of image.topicsById.values()) {
    for (const [partitionId, current] of topic.partitions) {
      const preferred = current.replicas[0];
      if (preferred === undefined) continue;
      const entry = byPreferred.get(preferred) ?? { total: 0, notLed: 0, moves: [] };
      byPreferred.set(preferred, entry);
      entry.total++;
      if (current.leader === preferred) continue;
      entry.notLed++;
      const change = buildPartitionChange({
        topicId: topic.topicId, partitionId, current, election: 'preferred', eligible: (id) => isEligible(image, id),
      });
      if (change?.leader === preferred) entry.moves.push(change);
    }
  }
  const out: MetadataRecord[] = [];
  for (const { total, notLed, moves } of byPreferred.values()) {
    if ((notLed * 100) / total > imbalancePercentage) out.push(...moves);
  }
  return out;
}
