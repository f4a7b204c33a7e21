/**
 * Replica placement for new partitions, after Kafka's rack-aware assignment (AdminUtils,
 * StripedReplicaPlacer): brokers are listed alternating between racks, partition leaders
 * go round-robin over that list from a random start (so leaders spread over brokers and
 * racks), and each partition's followers are taken after its leader with a shift that grows
 * every time the leaders wrap around, preferring racks the partition has no replica on yet.
 */
import { controllerError } from './controller-errors.js';

export interface PlacementBroker {
  readonly id: number;
  /** null: no rack; brokers without a rack count as one rack. */
  readonly rack: string | null;
}

/**
 * Replica lists for partitions `firstPartition .. firstPartition + count - 1`, leader
 * first. `startIndex` is the random start Kafka draws per topic; the same inputs give the
 * same placement.
 */
export function placeReplicas(
  brokers: readonly PlacementBroker[], count: number, replicationFactor: number, startIndex: number, firstPartition = 0,
): number[][] {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw controllerError('INVALID_REPLICATION_FACTOR', `replication factor must be at least 1, got ${replicationFactor}`);
  }
  if (replicationFactor > brokers.length) {
    throw controllerError('INVALID_REPLICATION_FACTOR',
      `replication factor ${replicationFactor} is larger than the ${brokers.length} available brokers`);
  }
  const ordered = rackAlternatedList(brokers);
  const n = ordered.length;
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? '']));
  const rackCount = new Set(rackOf.values()).size;
  const out: number[][] = [];
  for (let p = 0; p < count; p++) {
    const g = firstPartition + p;
    const first = (startIndex + g) % n;
    const shift = n > 1 ? Math.floor(g / n) % (n - 1) : 0;
    const replicas = [ordered[first]!];
    const racks = new Set([rackOf.get(ordered[first]!)!]);
    for (const rackAware of [true, false]) {
      for (let j = 0; j < n - 1 && replicas.length < replicationFactor; j++) {
        const candidate = ordered[(first + 1 + ((shift + j) % (n - 1))) % n]!;
        if (replicas.includes(candidate)) continue;
        const rack = rackOf.get(candidate)!;
        if (rackAware && racks.has(rack) && racks.size < rackCount) continue;
        replicas.push(candidate);
        racks.add(rack);
      }
    }
    out.push(replicas);
  }
  return out;
}

/** Brokers ordered rack by rack in turn: racks a, b with 1, 2 | 3, 4 give 1, 3, 2, 4. */
function rackAlternatedList(brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const rack = b.rack ?? '';
    byRack.set(rack, [...(byRack.get(rack) ?? []), b.id]);
  }
  const racks = [...byRack.keys()].sort();
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const rack of racks) {
      const id = byRack.get(rack)![i];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}
