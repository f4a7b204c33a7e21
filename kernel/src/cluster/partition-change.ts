/**
 * Leader election and ISR changes for one partition, as Kafka's PartitionChangeBuilder:
 * from the partition's state and a target ISR, the PartitionChangeRecord that gets there,
 * or nothing when nothing changes. Pure, so every controller path (fencing, controlled
 * shutdown, AlterPartition, elections) elects leaders by the same rules.
 */
import type { PartitionState } from '../metadata/metadata-image.js';
import { NO_LEADER, type MetadataRecord } from '../metadata/records.js';

export type PartitionChangeRecord = Extract<MetadataRecord, { type: 'partition-change' }>;

/**
 * - `isr`: keep the current leader while it stays in the ISR and eligible, else the first
 *   eligible ISR member in replica order;
 * - `preferred`: the first replica when it is in the ISR and eligible, else as `isr`;
 * - `unclean`: as `isr`, and when no ISR member is eligible, the first eligible replica,
 *   which becomes the whole ISR (data it lacks is lost: only when asked or configured).
 */
export type Election = 'isr' | 'preferred' | 'unclean';

export interface PartitionChangeInput {
  readonly topicId: Uint8Array;
  readonly partitionId: number;
  readonly current: PartitionState;
  /** The new ISR; the current one when absent. */
  readonly targetIsr?: readonly number[];
  readonly election: Election;
  /** Unfenced and not in controlled shutdown. */
  readonly eligible: (brokerId: number) => boolean;
}

export function buildPartitionChange(input: PartitionChangeInput): PartitionChangeRecord | undefined {
  const { current, eligible } = input;
  let isr = input.targetIsr ?? current.isr;
  const inIsr = (id: number): boolean => isr.includes(id) && eligible(id);
  let leader: number;
  const preferred = current.replicas[0];
  if (input.election === 'preferred' && preferred !== undefined && inIsr(preferred)) {
    leader = preferred;
  } else if (current.leader !== NO_LEADER && inIsr(current.leader)) {
    leader = current.leader;
  } else {
    leader = current.replicas.find(inIsr) ?? NO_LEADER;
    if (leader === NO_LEADER && input.election === 'unclean') {
      leader = current.replicas.find(eligible) ?? NO_LEADER;
      if (leader !== NO_LEADER) isr = [leader];
    }
  }
  const isrChanged = !sameMembers(isr, current.isr);
  const leaderChanged = leader !== current.leader;
  if (!isrChanged && !leaderChanged) return undefined;
  return {
    type: 'partition-change', topicId: input.topicId, partitionId: input.partitionId,
    ...(isrChanged ? { isr: [...isr] } : {}), ...(leaderChanged ? { leader } : {}),
  };
}

/**
 * The ISR once `brokerId` leaves it (fenced or shutting down). The last member stays, as in
 * Kafka: the partition goes offline, and the replica that has every acknowledged write
 * leads again when it comes back.
 */
export function isrWithout(isr: readonly number[], brokerId: number): readonly number[] {
  const rest = isr.filter((id) => id !== brokerId);
  return rest.length === 0 ? isr : rest;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
