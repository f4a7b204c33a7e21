/**
 * Adding a broker to a running cluster: a node with `process.roles=broker` (not in
 * `controller.quorum.voters`) follows the metadata log as a Raft observer, registers, and
 * takes replicas of topics created after it joined; the voter set stays as it was.
 */
import { expect, it } from 'vitest';
import { clusterPerFile } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TEST_TIMEOUT_MS = 300_000;

const cluster = clusterPerFile({ nodes: 3 }, TEST_TIMEOUT_MS);

it('a broker-only node joins as an observer and takes replicas of new topics', async () => {
  try {
    const added = await cluster.addBroker();
    expect(added.nodeId).toBe(4);
    const status = await cluster.waitFor('node 4 registered and observing the quorum', async () => {
      const s = await cluster.status();
      return s.brokers.some((b) => b.id === 4) && s.quorum !== null && s.quorum.observers.some((o) => o.nodeId === 4) && s;
    });
    expect(status.brokers.map((b) => b.id)).toEqual([1, 2, 3, 4]);
    expect(status.quorum!.voters.map((v) => v.nodeId).sort()).toEqual([1, 2, 3]);

    const replication = await runSluice(added.bootstrap, ['metadata', 'quorum', 'describe', '--replication']);
    expect(replication.code, replication.stderr).toBe(0);
    expect(replication.stdout).toMatch(/\n4\s+\d+\s+\d+\s+.*Observer\n/);

    const create = await runSluice(added.bootstrap, ['topics', 'create', 'spread', '--partitions', '8', '--replication-factor', '3']);
    expect(create.code, create.stderr).toBe(0);
    const topic = await cluster.waitFor('spread in sync on 3 replicas everywhere', async () => {
      const t = (await cluster.metadata(4, ['spread'])).topics[0]!;
      return t.errorCode === 0 && t.partitions.length === 8 && t.partitions.every((p) => p.leaderId > 0 && p.isrNodes.length === 3) && t;
    });
    expect(topic.partitions.filter((p) => p.replicaNodes.includes(4)).length).toBeGreaterThan(0);

    const lines = Array.from({ length: 200 }, (_, i) => `k${i} v${i}`).join('\n') + '\n';
    const produce = await runSluice(added.bootstrap, ['produce', 'spread', '--key-separator', ' ', '--acks', 'all'], lines);
    expect(produce.code, produce.stderr).toBe(0);
    const consume = await runSluice(cluster.bootstrap(1), ['consume', 'spread', '--from-beginning', '--max-messages', '200', '--timeout-ms', '20000']);
    expect(consume.code, consume.stderr).toBe(0);
    expect(consume.stdout.trimEnd().split('\n').sort()).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`).sort());
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);
