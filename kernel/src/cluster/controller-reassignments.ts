/**
 * Partition reassignment as KRaft's controller runs it (ReplicationControlManager with
 * PartitionReassignmentReplicas and PartitionReassignmentRevert). Planners only: the
 * controller commits.
 *
 * - Start: the target replicas are validated (not empty, distinct, registered brokers);
 *   the partition's replicas become the target followed by the current replicas leaving
 *   it, with `addingReplicas` (target minus current) and `removingReplicas` (current minus
 *   target) recorded. A reassignment that adds nothing completes at once.
 * - Completion: once every adding replica is in the ISR, replicas = the target, the ISR
 *   keeps only target members, the reassignment fields clear, and a leader outside the
 *   target gives way to the first in-sync target replica. The leader epoch rises whenever
 *   replicas leave, so a removed replica's fetches and appends are fenced.
 * - A new target for a partition already being reassigned starts from the replicas it had
 *   before (the old reassignment is reverted first, as Kafka does); cancelling (a null
 *   target) reverts: the adding replicas leave, the ISR keeps the original replicas.
 */
import type {
  AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from '@sluice/sdk';
import { topicIdKey, type MetadataImage, type PartitionState } from '../metadata/metadata-image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { isEligible } from './controller-brokers.js';
import { ControllerErrorCode } from './controller-errors.js';
import { buildPartitionChange, type PartitionChangeRecord } from './partition-change.js';

type PartitionResult = AlterPartitionReassignmentsResponse['results'][number]['partitions'][number];

/** The replica set, ISR and reassignment a change moves a partition to. */
interface TargetState {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly adding: readonly number[];
  readonly removing: readonly number[];
}

class ReassignmentRefused extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function isReassigning(state: PartitionState): boolean {
  return (state.addingReplicas?.length ?? 0) > 0 || (state.removingReplicas?.length ?? 0) > 0;
}

export function planAlterReassignments(
  image: MetadataImage, req: AlterPartitionReassignmentsRequest,
): { records: MetadataRecord[]; response: AlterPartitionReassignmentsResponse } {
  const records: MetadataRecord[] = [];
  const results = req.topics.map((t) => {
    const topic = image.topicsByName.get(t.name);
    return {
      name: t.name,
      partitions: t.partitions.map(({ partition, replicas }): PartitionResult => {
        const current = topic?.partitions.get(partition);
        if (topic === undefined || current === undefined) {
          return { partition, errorCode: ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `${t.name}-${partition} does not exist` };
        }
        try {
          const target = replicas === null ? revert(current) : reassign(image, current, replicas);
          const change = changeTo(image, topic.topicId, partition, current, target);
          if (change !== undefined) records.push(change);
          return { partition, errorCode: 0, errorMessage: null };
        } catch (err) {
          if (!(err instanceof ReassignmentRefused)) throw err;
          return { partition, errorCode: err.code, errorMessage: err.message };
        }
      }),
    };
  });
  return { records, response: { errorCode: 0, errorMessage: null, results } };
}

export function planListReassignments(image: MetadataImage, req: ListPartitionReassignmentsRequest): ListPartitionReassignmentsResponse {
  const wanted = req.topics ?? [...image.topicsByName.values()].map((t) => ({ name: t.name, partitions: [...t.partitions.keys()] }));
  const topics: Array<ListPartitionReassignmentsResponse['topics'][number]> = [];
  for (const { name, partitions } of wanted) {
    const topic = image.topicsByName.get(name);
    if (topic === undefined) {
      return { errorCode: ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${name} does not exist`, topics: [] };
    }
    const ongoing = [...new Set(partitions)].sort((a, b) => a - b).flatMap((partition) => {
      const state = topic.partitions.get(partition);
      if (state === undefined || !isReassigning(state)) return [];
      return [{
        partition, replicas: [...state.replicas], addingReplicas: [...(state.addingReplicas ?? [])],
        removingReplicas: [...(state.removingReplicas ?? [])],
      }];
    });
    if (ongoing.length > 0) topics.push({ name, partitions: ongoing });
  }
  return { errorCode: 0, errorMessage: null, topics };
}

/**
 * The records completing the reassignments of `partitions` whose adding replicas are all
 * in the ISR now (call after an ISR change commits).
 */
export function planCompleteReassignments(
  image: MetadataImage, partitions: Iterable<{ readonly topicId: Uint8Array; readonly partitionId: number }>,
): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const { topicId, partitionId } of partitions) {
    const current = image.topicsById.get(topicIdKey(topicId))?.partitions.get(partitionId);
    if (current === undefined || !isReassigning(current)) continue;
    const adding = current.addingReplicas ?? [];
    if (!adding.every((id) => current.isr.includes(id))) continue;
    const removing = current.removingReplicas ?? [];
    const replicas = current.replicas.filter((id) => !removing.includes(id));
    const isr = current.isr.filter((id) => replicas.includes(id));
    if (isr.length === 0) continue;
    const change = changeTo(image, topicId, partitionId, current, { replicas, isr, adding: [], removing: [] });
    if (change !== undefined) records.push(change);
  }
  return records;
}

/** Cancelling: back to the replicas before the reassignment. */
function revert(current: PartitionState): TargetState {
  if (!isReassigning(current)) {
    throw new ReassignmentRefused(ControllerErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'no reassignment in progress');
  }
  const adding = current.addingReplicas ?? [];
  const replicas = current.replicas.filter((id) => !adding.includes(id));
  const isr = current.isr.filter((id) => replicas.includes(id));
  if (isr.length === 0) {
    throw new ReassignmentRefused(ControllerErrorCode.INVALID_REPLICA_ASSIGNMENT, 'none of the original replicas is in sync: cancelling would leave the partition without one');
  }
  return { replicas, isr, adding: [], removing: [] };
}

function reassign(image: MetadataImage, current: PartitionState, target: readonly number[]): TargetState {
  const invalid = (message: string): ReassignmentRefused => new ReassignmentRefused(ControllerErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
  if (target.length === 0) throw invalid('the target replica set is empty');
  if (new Set(target).size !== target.length) throw invalid(`the target replica set ${target.join(',')} names a broker twice`);
  const unknown = target.filter((id) => !image.brokers.has(id));
  if (unknown.length > 0) throw invalid(`broker(s) ${unknown.join(',')} are not registered`);
  const base = isReassigning(current) ? revert(current) : { replicas: current.replicas, isr: current.isr };
  const adding = target.filter((id) => !base.replicas.includes(id));
  const removing = base.replicas.filter((id) => !target.includes(id));
  if (adding.length > 0) return { replicas: [...target, ...removing], isr: base.isr, adding, removing };
  const isr = base.isr.filter((id) => target.includes(id));
  if (isr.length === 0) throw invalid(`none of ${target.join(',')} is in sync`);
  return { replicas: [...target], isr, adding: [], removing: [] };
}

/**
 * The PartitionChangeRecord from `current` to `target`, leader elected among the target's
 * in-sync replicas (kept when it stays in sync); undefined when nothing changes.
 */
function changeTo(
  image: MetadataImage, topicId: Uint8Array, partitionId: number, current: PartitionState, target: TargetState,
): PartitionChangeRecord | undefined {
  const election = buildPartitionChange({
    topicId, partitionId, current: { ...current, replicas: target.replicas }, targetIsr: target.isr, election: 'isr',
    eligible: (id) => isEligible(image, id),
  });
  const replicasRemoved = current.replicas.some((id) => !target.replicas.includes(id));
  const leader = election?.leader ?? (replicasRemoved ? current.leader : undefined);
  const replicasChanged = !sameList(current.replicas, target.replicas);
  const addingChanged = !sameList(current.addingReplicas ?? [], target.adding);
  const removingChanged = !sameList(current.removingReplicas ?? [], target.removing);
  if (election?.isr === undefined && leader === undefined && !replicasChanged && !addingChanged && !removingChanged) return undefined;
  return {
    type: 'partition-change', topicId, partitionId,
    ...(election?.isr !== undefined ? { isr: election.isr } : {}),
    ...(leader !== undefined ? { leader } : {}),
    ...(replicasChanged ? { replicas: [...target.replicas] } : {}),
    ...(removingChanged ? { removingReplicas: [...target.removing] } : {}),
    ...(addingChanged ? { addingReplicas: [...target.adding] } : {}),
  };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
