/**
 * A 3-node cluster of real processes (each broker and controller, as the 3-node example
 * runs them): it forms, `sluice cluster status` shows it, and a topic with replication
 * factor 3 gets all its replicas in sync.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../src/cli/cluster.js';
import { clusterPerFile } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TEST_TIMEOUT_MS = 180_000;

const cluster = clusterPerFile({ nodes: 3 }, TEST_TIMEOUT_MS);

describe('a 3-node cluster', () => {
  it('sluice cluster status lists the three brokers, the active controller and the three voters', async () => {
    const run = await runSluice(cluster.bootstrap(1), ['cluster', 'status', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as ClusterStatus;
    expect(status.clusterId).toBe(cluster.clusterId);
    expect(status.brokers.map((b) => [b.id, `${b.host}:${b.port}`])).toEqual(cluster.nodes.map((n) => [n.nodeId, n.bootstrap]));
    expect([1, 2, 3]).toContain(status.activeControllerId);
    expect(status.quorumError).toBeNull();
    expect(status.quorum!.leaderId).toBe(status.activeControllerId);
    expect(status.quorum!.voters.map((v) => v.nodeId).sort()).toEqual([1, 2, 3]);

    // The quorum from a controller listener, as kafka-metadata-quorum.sh --bootstrap-controller asks it.
    const viaController = await runSluice(cluster.bootstrap(3), ['cluster', 'status', '--json', '--bootstrap-controller', `127.0.0.1:${cluster.node(3).controllerPort}`]);
    expect(viaController.code, viaController.stderr).toBe(0);
    expect((JSON.parse(viaController.stdout) as ClusterStatus).quorum!.leaderId).toBe(status.activeControllerId);

    const text = await runSluice(cluster.bootstrap(2), ['cluster', 'status']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Brokers:            3\n');
    expect(text.stdout).toMatch(/Active controller:\s+[123]\n/);
  }, TEST_TIMEOUT_MS);

  it('sluice metadata quorum describe agrees on the leader from every node', async () => {
    const leaders = new Set<string>();
    for (const node of cluster.nodes) {
      const run = await runSluice(node.bootstrap, ['metadata', 'quorum', 'describe', '--status']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`ClusterId:              ${cluster.clusterId}\n`);
      expect(run.stdout).toContain('CurrentVoters:          [');
      leaders.add(/LeaderId:\s+(\d+)/.exec(run.stdout)![1]!);
    }
    expect(leaders.size).toBe(1);
    const replication = await runSluice(cluster.bootstrap(3), ['metadata', 'quorum', 'describe', '--replication']);
    expect(replication.code, replication.stderr).toBe(0);
    expect(replication.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/).at(-1)).sort()).toEqual(['Follower', 'Follower', 'Leader']);
  }, TEST_TIMEOUT_MS);

  it('a topic with replication factor 3 has three replicas in sync on every partition', async () => {
    const create = await runSluice(cluster.bootstrap(1), ['topics', 'create', 'rf3', '--partitions', '6', '--replication-factor', '3']);
    expect(create.code, create.stderr).toBe(0);
    const topic = await cluster.waitFor('rf3 fully in sync', async () => {
      const t = (await cluster.metadata(undefined, ['rf3'])).topics[0]!;
      const synced = t.errorCode === 0 && t.partitions.length === 6 &&
        t.partitions.every((p) => p.leaderId > 0 && p.replicaNodes.length === 3 && p.isrNodes.length === 3);
      return synced && t;
    });
    for (const p of topic.partitions) {
      expect([...p.replicaNodes].sort()).toEqual([1, 2, 3]);
      expect([...p.isrNodes].sort()).toEqual([1, 2, 3]);
      expect(p.replicaNodes).toContain(p.leaderId);
    }
    // Placement spreads leaderships: three brokers, six partitions, each leads some.
    expect(new Set(topic.partitions.map((p) => p.leaderId)).size).toBe(3);
    // Every node serves the same view.
    const leaders = (t: typeof topic): number[] => [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.leaderId);
    for (const node of cluster.nodes) {
      const t = (await cluster.metadata(node.nodeId, ['rf3'])).topics[0]!;
      expect(leaders(t)).toEqual(leaders(topic));
    }
    const status = await cluster.status();
    expect(status.partitions.underReplicated.filter((p) => p.topic === 'rf3')).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('a preferred leader election has nothing to do while every preferred replica leads', async () => {
    const run = await runSluice(cluster.bootstrap(1), ['partitions', 'elect-leaders', '--election-type', 'preferred', '--topic', 'rf3', '--partition', '0']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Valid replica already elected for partitions rf3-0');
  }, TEST_TIMEOUT_MS);
});
