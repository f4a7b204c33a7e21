/**
 * The replication simulation tier: seeded runs of three real replicas under faults (see
 * replication-sim.ts). Replay one failure with
 * `SLUICE_SIM_SEED=<n> npx vitest run kernel/src/cluster/replication-sim.test.ts`; run a
 * longer sweep with `SLUICE_SIM_SEEDS=<count> SLUICE_SIM_SEED_BASE=<first>`.
 *
 * Rules broken on purpose against this sweep: a leader high watermark ignoring the
 * followers loses an acknowledged write at seed 1; a follower truncating to the larger of
 * the two epoch end offsets never converges at seed 1; a controller re-electing a last ISR
 * member that lost data loses a write at seeds 20 and 40 (kept as a test below); adding a
 * replica to the ISR on fetch state from its previous incarnation lost a write at seed 103536
 * (found by `npm run test:sim-long`, kept as a test below). Not caught
 * in 150 seeds: ISR expansion before the follower reaches the high watermark (the window
 * in which the leader must die is one fetch long).
 */
import { describe, expect, it } from 'vitest';
import { ReplicationSimulation, type SimResult } from './replication-sim.js';

const replaySeed = process.env['SLUICE_SIM_SEED'];
const seedCount = Number(process.env['SLUICE_SIM_SEEDS'] ?? 300);
const seedBase = Number(process.env['SLUICE_SIM_SEED_BASE'] ?? 1);
/** Long sweeps outgrow the default test timeout. */
const sweepTimeoutMs = Math.max(120_000, seedCount * 1000);

if (replaySeed !== undefined) {
  describe('replication simulation replay', () => {
    it(`SEED=${replaySeed}`, async () => {
      console.log(JSON.stringify(await new ReplicationSimulation(Number(replaySeed)).run()));
    });
  });
} else {
  describe('replication simulation', () => {
    it('catches a lost acknowledged write when the controller lets a replica that lost data lead again', async () => {
      // Seed 20 loses a write this way (found by sweeping with the rule broken); the sweep
      // below runs the same seed with the rule kept.
      await expect(new ReplicationSimulation(20, { withoutUncleanRecovery: true }).run()).rejects.toThrow(/acknowledged write \d+ at offset \d+ lost/);
    });

    it('keeps the write that seed 103536 lost before AlterPartition carried the new members\' broker epochs (KIP-903)', async () => {
      // Found by the long sweep: a fetch the follower sent before a machine crash reached the
      // leader after its restart, the leader added it to the ISR on that stale fetch offset,
      // and it then led with an empty log. The controller now refuses such a member.
      const result = await new ReplicationSimulation(103536).run();
      expect(result.acked).toBeGreaterThan(0);
    });

    it('replays a seed exactly', async () => {
      expect(await new ReplicationSimulation(11).run()).toEqual(await new ReplicationSimulation(11).run());
    });

    it('keeps acknowledged writes, one leader per epoch and a rising high watermark under faults, and converges after healing', async () => {
      const results: SimResult[] = [];
      for (let seed = seedBase; seed < seedBase + seedCount; seed++) results.push(await new ReplicationSimulation(seed).run());
      const sum = (f: (r: SimResult) => number): number => results.reduce((a, r) => a + f(r), 0);
      console.log(`${results.length} seeds from ${seedBase}: ${sum((r) => r.events)} events, ${sum((r) => r.produced)} writes, ` +
        `${sum((r) => r.acked)} acknowledged acks=all, ${sum((r) => r.crashes)} crashes, ${sum((r) => r.isolations)} isolations, ` +
        `${sum((r) => r.leaderChanges)} leader elections`);
      expect(sum((r) => r.acked)).toBeGreaterThan(0);
      expect(sum((r) => r.crashes)).toBeGreaterThan(0);
    }, sweepTimeoutMs);
  });
}
