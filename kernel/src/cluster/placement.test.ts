import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeReplicas } from './placement.js';

describe('placeReplicas', () => {
  it('leaders go round-robin from the start index; followers follow them', () => {
    const brokers = [1, 2, 3].map((id) => ({ id, rack: null }));
    expect(placeReplicas(brokers, 3, 2, 0)).toEqual([[1, 2], [2, 3], [3, 1]]);
    expect(placeReplicas(brokers, 3, 2, 1).map((r) => r[0])).toEqual([2, 3, 1]);
  });

  it('refuses a replication factor above the brokers available', () => {
    expect(() => placeReplicas([{ id: 1, rack: null }], 1, 2, 0)).toThrow(expect.objectContaining({ code: 38 }));
    expect(() => placeReplicas([{ id: 1, rack: null }], 1, 0, 0)).toThrow(expect.objectContaining({ code: 38 }));
  });

  it('distinct replicas, on as many racks as possible, leaders balanced', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 }), fc.nat(100), fc.nat(5),
      (brokerCount, rackCount, partitions, start, rfSeed) => {
        const brokers = Array.from({ length: brokerCount }, (_, i) => ({ id: i + 10, rack: `r${i % rackCount}` }));
        const rf = 1 + (rfSeed % brokerCount);
        const lists = placeReplicas(brokers, partitions, rf, start);
        const racksAvailable = new Set(brokers.map((b) => b.rack)).size;
        const leaders = new Map<number, number>();
        for (const replicas of lists) {
          expect(replicas).toHaveLength(rf);
          expect(new Set(replicas).size).toBe(rf);
          const racks = new Set(replicas.map((id) => brokers.find((b) => b.id === id)!.rack));
          expect(racks.size).toBe(Math.min(rf, racksAvailable));
          leaders.set(replicas[0]!, (leaders.get(replicas[0]!) ?? 0) + 1);
        }
        const counts = [...leaders.values()];
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      },
    ));
  });
});
