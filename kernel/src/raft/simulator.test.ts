/**
 * The simulation tier: many short seeded runs per CI job. Replay one failure with
 * `SIM_SEED=<n> SIM_NODES=<k> npx vitest run kernel/src/raft/simulator.test.ts`; run a longer
 * sweep with `SIM_SEEDS=<count> SIM_SEED_BASE=<first>`.
 */
import { describe, expect, it } from 'vitest';
import { Simulation, type SimulationResult } from './simulator.js';

const replaySeed = process.env['SIM_SEED'];
const seedCount = Number(process.env['SIM_SEEDS'] ?? 1000);
const seedBase = Number(process.env['SIM_SEED_BASE'] ?? 1);
/** Long sweeps outgrow the default test timeout; a seed takes a few milliseconds. */
const sweepTimeoutMs = Math.max(60_000, seedCount * 20);

function sweep(nodes: number): SimulationResult[] {
  const results: SimulationResult[] = [];
  for (let seed = seedBase; seed < seedBase + seedCount; seed++) results.push(new Simulation(seed, nodes).run());
  return results;
}

function summary(results: readonly SimulationResult[]): string {
  const sum = (f: (r: SimulationResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return `${results.length} seeds from ${seedBase}: ${sum((r) => r.events)} events, ` +
    `${sum((r) => r.elections)} leaders elected, ${sum((r) => r.committed)} entries committed, ` +
    `slowest liveness ${Math.max(...results.map((r) => r.livenessMs))} ms, ${sum((r) => r.snapshotsInstalled)} snapshots installed`;
}

if (replaySeed !== undefined) {
  describe('raft simulation replay', () => {
    it(`SEED=${replaySeed}`, () => {
      const result = new Simulation(Number(replaySeed), Number(process.env['SIM_NODES'] ?? 3)).run();
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
      }, sweepTimeoutMs);
    }
  });
}
