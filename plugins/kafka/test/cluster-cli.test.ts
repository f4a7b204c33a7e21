/**
 * `sluice cluster`, `metadata` and `partitions` as an operator runs them against a single
 * node (the built CLI as a child process, build first: `tsc -b`): a one-node cluster is
 * healthy, and usage mistakes are refused before anything is sent. The 3-node behaviour
 * is in cluster-basics.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../src/cli/cluster.js';
import { startBroker, type BrokerProcess } from './broker-process.js';
import { runSluice } from './sluice-cli.js';

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
  const create = await runSluice(broker.bootstrap, ['topics', 'create', 'health', '--partitions', '2']);
  expect(create.code, create.stderr).toBe(0);
});

afterAll(async () => {
  await broker?.stop();
  broker?.removeDataDir();
});

describe('sluice cluster status on one node', () => {
  it('shows the node as the only broker and no unhealthy partition', async () => {
    const run = await runSluice(broker.bootstrap, ['cluster', 'status', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as ClusterStatus;
    expect(status.brokers).toEqual([{ id: 1, host: '127.0.0.1', port: broker.port, rack: null }]);
    expect(status.activeControllerId).toBe(1);
    expect(status.partitions.partitionCount).toBeGreaterThanOrEqual(2);
    expect(status.partitions.underReplicated).toEqual([]);
    expect(status.partitions.offline).toEqual([]);
    // A single node is its own only voter, and so the quorum leader.
    expect(status.quorumError).toBeNull();
    expect(status.quorum!.leaderId).toBe(1);
    expect(status.quorum!.voters.map((v) => [v.nodeId, v.role, v.lag])).toEqual([[1, 'Leader', 0]]);

    const text = await runSluice(broker.bootstrap, ['cluster', 'status']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Cluster id:\s+[A-Za-z0-9_-]{22}\n/);
    expect(text.stdout).toContain('Brokers:            1\n');
    expect(text.stdout).toMatch(/Partitions:\s+\d+, under-replicated 0, offline 0\n/);
  });

  it('refuses usage mistakes with exit code 2', async () => {
    const cases: string[][] = [
      ['cluster', 'status', '--bootstrap-controller', 'nohost'],
      ['metadata', 'quorum', 'describe', '--status', '--replication'],
      ['partitions', 'elect-leaders', '--all-topic-partitions'],
      ['partitions', 'elect-leaders', '--election-type', 'preferred', '--topic', 'health'],
      ['partitions', 'move'],
    ];
    for (const args of cases) {
      const run = await runSluice(broker.bootstrap, args);
      expect(run.code, `sluice ${args.join(' ')}: ${run.stderr}`).toBe(2);
    }
  });
});
