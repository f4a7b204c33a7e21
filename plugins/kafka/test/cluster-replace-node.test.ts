/**
 * Replacing a dead node as docs/operations.md describes it: a node killed and its disk
 * lost comes back with the same node.id on an empty data dir formatted with the cluster's
 * id. It must catch up the metadata log and every partition it holds a replica of, rejoin
 * the ISR, and, once leader again, serve everything acknowledged before it died.
 */
import { expect, it } from 'vitest';
import { python } from './clients.js';
import { clusterPerFile } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TOPIC = 'replaced';
const TEST_TIMEOUT_MS = 600_000;
const CATCH_UP_TIMEOUT_MS = 120_000;
const RECORDS = 2000;

interface Report { error: number | null; error_name: string | null; partition: number; offset: number }

const cluster = clusterPerFile({ nodes: 3 }, TEST_TIMEOUT_MS);

async function partitions(): Promise<Array<{ partition: number; leader: number; replicas: number[]; isr: number[] }>> {
  const t = (await cluster.metadata(undefined, [TOPIC])).topics[0]!;
  if (t.errorCode !== 0) throw new Error(`topic ${TOPIC}: error ${t.errorCode}`);
  return t.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes }));
}

it('a node back on an empty disk catches up, rejoins every ISR and serves what was acknowledged', async () => {
  try {
    const create = await runSluice(cluster.bootstrap(), ['topics', 'create', TOPIC, '--partitions', '3', '--replication-factor', '3']);
    expect(create.code, create.stderr).toBe(0);
    await cluster.waitFor(`${TOPIC} in sync`, async () => (await partitions()).every((p) => p.leader > 0 && p.isr.length === 3), CATCH_UP_TIMEOUT_MS);
    const values = Array.from({ length: RECORDS }, (_, i) => `r${i}`);
    const produced = await python<{ reports: Report[]; unflushed: number }>('confluent.py', 'produce', cluster.bootstrapServers(), {
      topic: TOPIC, messages: values.map((value, i) => ({ value, partition: i % 3 })), timeout_s: 60,
    }, 120_000);
    expect(produced.reports.filter((r) => r.error !== null)).toEqual([]);

    // Node 3 dies and its disk is lost; the other two carry on without it.
    await cluster.kill(3, 'SIGKILL');
    await cluster.replaceDisk(3);
    await cluster.restart(3);
    await cluster.waitFor('node 3 back in every ISR', async () => {
      const s = await cluster.status();
      return s.brokers.length === 3 && s.partitions.underReplicated.length === 0 && (await partitions()).every((p) => p.isr.includes(3));
    }, CATCH_UP_TIMEOUT_MS);
    const quorum = (await cluster.status()).quorum!;
    expect(quorum.voters.find((v) => v.nodeId === 3)!.lag).toBe(0);

    // Node 3 leads the partitions it prefers again, from the log it fetched.
    const elect = await runSluice(cluster.bootstrap(1), ['partitions', 'elect-leaders', '--election-type', 'preferred', '--all-topic-partitions']);
    expect(elect.code, elect.stderr).toBe(0);
    await cluster.waitFor('every preferred replica leading', async () => (await partitions()).every((p) => p.leader === p.replicas[0]), CATCH_UP_TIMEOUT_MS);
    const led = (await partitions()).filter((p) => p.leader === 3).map((p) => p.partition);
    expect(led.length).toBeGreaterThan(0);
    const read = await python<{ records: Record<string, Array<[number, string, number]>> }>('confluent.py', 'consume', cluster.bootstrap(3), {
      topic: TOPIC, partitions: led, timeout_s: 60,
    }, 120_000);
    for (const p of led) {
      const expected = produced.reports.flatMap((r, i) => (r.partition === p ? [[r.offset, values[i]!]] : []));
      const actual = new Map(read.records[String(p)]!.map(([offset, value]) => [offset, value]));
      expect(expected.filter(([offset, value]) => actual.get(offset as number) !== value), `partition ${p} served by node 3`).toEqual([]);
    }
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);
