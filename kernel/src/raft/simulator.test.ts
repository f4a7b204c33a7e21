/**
 * The simulation tier: many short seeded runs per CI job. Replay one failure with
 * `SIM_SEED=<n> SIM_NODES=<k> npx vitest run kernel/src/raft/simulator.test.ts`; run a longer
 * sweep with `SIM_SEEDS=<count> SIM_SEED_BASE=<first>`. A membership failure replays with
 * `SIM_MEMBERSHIP=1 SIM_NODES=5` added.
 */
import { describe, expect, it } from 'vitest';
import { Simulation, type SimulationResult } from './simulator.js';

const replaySeed = process.env['SIM_SEED'];
const seedCount = Number(process.env['SIM_SEEDS'] ?? 1000);
const seedBase = Number(process.env['SIM_SEED_BASE'] ?? 1);
/** Long sweeps outgrow the default test timeout; a seed takes a few milliseconds. */
const sweepTimeoutMs = Math.max(60_000, seedCount * 20);

const membershipReplay = process.env['SIM_MEMBERSHIP'] === '1';
/** The membership sweep's seeds by default: it runs five nodes, so fewer keep CI's cost. */
const MEMBERSHIP_SEEDS_DEFAULT = 500;

function sweep(nodes: number, count = seedCount, membership = false): SimulationResult[] {
  const results: SimulationResult[] = [];
  for (let seed = seedBase; seed < seedBase + count; seed++) results.push(new Simulation(seed, nodes, { membership }).run());
  return results;
}

function summary(results: readonly SimulationResult[]): string {
  const sum = (f: (r: SimulationResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return `${results.length} seeds from ${seedBase}: ${sum((r) => r.events)} events, ` +
    `${sum((r) => r.elections)} leaders elected, ${sum((r) => r.committed)} entries committed, ` +
    `slowest liveness ${Math.max(...results.map((r) => r.livenessMs))} ms, ${sum((r) => r.snapshotsInstalled)} snapshots installed, ` +
    `${sum((r) => r.gracefulStops)} leaders stopped gracefully`;
}

if (replaySeed !== undefined) {
  describe('raft simulation replay', () => {
    it(`SEED=${replaySeed}`, () => {
      const result = new Simulation(Number(replaySeed), Number(process.env['SIM_NODES'] ?? 3), { membership: membershipReplay }).run();
      console.log(JSON.stringify(result));
    });
  });
} else {
  describe('raft simulation', () => {
    it('replays a seed exactly', () => {
      expect(new Simulation(7, 5).run()).toEqual(new Simulation(7, 5).run());
    });

    for (const nodes of [3, 5]) {
      it(`${nodes} voters keep Raft's safety properties under faults and converge after healing`, () => {
        const results = sweep(nodes);
        console.log(`${nodes} voters: ${summary(results)}`);
        expect(results.every((r) => r.elections > 0 && r.committed > 0)).toBe(true);
        // Followers that fell behind a leader's deleted prefix caught up by snapshot in some seeds.
        if (seedCount >= 100) expect(results.some((r) => r.snapshotsInstalled > 0)).toBe(true);
        // Leaders stepped down gracefully (EndQuorumEpoch) under the faults in some seeds.
        if (seedCount >= 100) expect(results.some((r) => r.gracefulStops > 0)).toBe(true);
      }, sweepTimeoutMs);
    }

    it('5 nodes, 3 bootstrap voters: voters added and removed under faults keep the properties and converge', () => {
      const count = process.env['SIM_SEEDS'] !== undefined ? seedCount : MEMBERSHIP_SEEDS_DEFAULT;
      const results = sweep(5, count, true);
      const changes = results.reduce((a, r) => a + r.voterChangesAccepted, 0);
      const sizes = new Map<number, number>();
      for (const r of results) sizes.set(r.finalVoters.length, (sizes.get(r.finalVoters.length) ?? 0) + 1);
      console.log(`membership: ${summary(results)}, ${changes} voter changes accepted, final voter set sizes ${JSON.stringify([...sizes].sort())}`);
      expect(changes).toBeGreaterThan(count);
      // Sets of every size were reached, so growing and shrinking both ran under faults.
      if (count >= 100) expect(sizes.size).toBeGreaterThanOrEqual(4);
    }, sweepTimeoutMs);
  });
}
