/**
 * A rolling restart as docs/operations.md describes it, under a running acks=all producer:
 * one node at a time stopped with SIGTERM (controlled shutdown: its leaderships move
 * before it exits), started again, and waited for until `sluice cluster status` shows no
 * under-replicated partition. No delivery may fail and every acknowledged record must be
 * in the log afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { python } from './clients.js';
import { Cluster, startProducer, type BackgroundProducer } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TOPIC = 'rolling';
const PARTITIONS = 3;
const TEST_TIMEOUT_MS = 600_000;
const RESTART_TIMEOUT_MS = 120_000;
/** Acknowledgements to see after each restart, as proof the producer goes on. */
const ACKS_PER_STEP = 200;

let cluster: Cluster;
let producer: BackgroundProducer | undefined;

beforeAll(async () => {
  cluster = await Cluster.startFormed({ nodes: 3 });
  const create = await runSluice(cluster.bootstrap(), ['topics', 'create', TOPIC, '--partitions', String(PARTITIONS), '--replication-factor', '3']);
  expect(create.code, create.stderr).toBe(0);
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await producer?.stop().catch(() => undefined);
  await cluster?.stop();
}, TEST_TIMEOUT_MS);

/** What an operator waits for between two nodes: the node back among the brokers and nothing under-replicated. */
function waitHealthy(what: string): Promise<unknown> {
  return cluster.waitFor(what, async () => {
    const s = await cluster.status();
    return s.brokers.length === 3 && s.partitions.underReplicated.length === 0 && s.partitions.offline.length === 0;
  }, RESTART_TIMEOUT_MS);
}

it('restarting the nodes one at a time with SIGTERM loses and fails no acks=all write', async () => {
  try {
    await waitHealthy('the new cluster healthy');
    producer = startProducer(cluster.bootstrapServers(), { topic: TOPIC, partitions: PARTITIONS, ratePerS: 150 });
    await cluster.waitFor('the first acknowledgements', () => producer!.acks.length >= ACKS_PER_STEP);

    for (const nodeId of [1, 2, 3]) {
      const code = await cluster.kill(nodeId, 'SIGTERM');
      expect(code, `node ${nodeId} exit code after SIGTERM`).toBe(0);
      expect(cluster.node(nodeId).output()).not.toContain('controlled shutdown did not complete');
      await cluster.restart(nodeId);
      await waitHealthy(`the cluster healthy after restarting node ${nodeId}`);
      const acks = producer.acks.length;
      await cluster.waitFor(`${ACKS_PER_STEP} more acknowledgements after restarting node ${nodeId}`,
        () => producer!.acks.length >= acks + ACKS_PER_STEP, RESTART_TIMEOUT_MS);
    }

    const counts = await producer.stop();
    expect(producer.failures).toEqual([]);
    expect(counts.unflushed).toBe(0);
    const read = await python<{ records: Record<string, Array<[number, string, number]>> }>('confluent.py', 'consume', cluster.bootstrapServers(), {
      topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => p), timeout_s: 120,
    }, 180_000);
    const missing = producer.acks.filter((a) => read.records[String(a.partition)]!.find(([offset]) => offset === a.offset)?.[1] !== a.value);
    expect(missing.slice(0, 20), `${missing.length} of ${producer.acks.length} acknowledged records are not in the log as acknowledged`).toEqual([]);
  } catch (e) {
    throw cluster.explain(`${(e as Error).message}\nproducer stderr:\n${producer?.stderr().slice(-4000)}`);
  }
}, TEST_TIMEOUT_MS);
